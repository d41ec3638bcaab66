"""Helpers for tests of a single router: act as a role without logging in."""

from __future__ import annotations

from fastapi import FastAPI

from cxloop.auth.deps import authenticated_caller
from cxloop.auth.models import User


def act_as(app: FastAPI, role: str = "admin") -> User:
    """Make every policy-guarded route of ``app`` see a caller with ``role`` (no department)."""
    user = User(id=0, username=f"test-{role}", role=role, active=True)
    app.dependency_overrides[authenticated_caller] = lambda: user
    return user
