"""The shipped migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from cxloop import migrate
from cxloop.db import Base, dispose_engines
from cxloop.migrate import current_revision, head_revision, shipped_head_fast, upgrade
from tests.conftest import PG_URL, require_postgres


def _assert_matches_models(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; regenerate with `make migration`: {diff}"


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    _assert_matches_models(url)
    assert current_revision(create_engine(url)) == head_revision()
    upgrade(url)  # applying twice is a no-op
    dispose_engines()


def test_the_fast_head_is_alembics_head() -> None:
    """Start-up reads the head from the version files; it must be the one Alembic computes."""
    assert shipped_head_fast() == head_revision()


def test_only_a_database_at_head_skips_the_migrations(tmp_path: Path) -> None:
    """The start-up shortcut: skip Alembic only when the revision table names the shipped head."""
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    assert not migrate._at_shipped_head(engine)  # empty: no revision table
    upgrade(str(engine.url))
    assert migrate._at_shipped_head(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    assert not migrate._at_shipped_head(engine)
    engine.dispose()
    dispose_engines()


def test_postgres_migrations_match_models() -> None:
    require_postgres()
    schema = "cxtest_migrations"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        _assert_matches_models(url)
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.parametrize("value", ["Asia/Shanghai", "UTC"])
def test_settings_accept_known_timezones(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from cxloop.config import Settings

    monkeypatch.setenv("CXLOOP_TIMEZONE", value)
    assert Settings().timezone == value


def test_settings_refuse_unsafe_production(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from cxloop.config import Settings

    monkeypatch.setenv("CXLOOP_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings()
