"""The roles that read customers' feedback, and the API acting as each (shared by the PII tests)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.auth.deps import authenticated_caller
from cxloop.auth.models import User
from cxloop.feedback.views import router as feedback_router
from cxloop.metrics.views import router as metrics_router
from cxloop.org.models import Department

#: (role, department of the member, whether the policy lets the role see customers' personal data).
ROLES = [
    ("admin", None, True),
    ("cx_manager", None, True),
    ("department_member", "customer_service", True),
    ("department_member", "warehouse", False),
    ("analyst", None, False),
]


def api_client(db_session: Session, role: str, department: str | None) -> tuple[TestClient, User]:
    """The feedback and metrics API acting as a stored user of ``role`` in ``department``."""
    dept_id = None
    if department:
        dept_id = db_session.query(Department.id).filter(Department.code == department).scalar()
    user = User(
        username=f"{role}-{department}", password_hash="x", role=role, department_id=dept_id, active=True
    )
    db_session.add(user)
    db_session.commit()
    app = FastAPI()
    app.include_router(feedback_router, prefix="/api/v1")
    app.include_router(metrics_router, prefix="/api/v1")
    app.dependency_overrides[authenticated_caller] = lambda: user
    return TestClient(app), user
