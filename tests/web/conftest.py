"""Fixtures for the web tests: the app on a fresh SQLite database with the demo users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.app import create_app
from cxloop.auth.service import create_demo_users
from cxloop.db import get_engine


@pytest.fixture
def app_client(sqlite_url: str) -> Iterator[TestClient]:
    """A client of a fresh app (no migrations: the schema is created by the fixture) with demo users."""
    with Session(get_engine(sqlite_url)) as session:
        create_demo_users(db_session=session)
    with TestClient(create_app(migrate_on_start=False)) as client:
        yield client
