"""Shared fixtures: the shipped model is loaded once per test session."""

from __future__ import annotations

import pytest

from cxloop.text import Analyzer


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    """The default analyzer (default taxonomy, shipped model)."""
    return Analyzer()
