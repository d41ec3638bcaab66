"""Applying and checking the Alembic migrations that ship inside the package."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from cxloop.db import get_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        # Alembic's config is a ConfigParser: a literal % (URL-encoded options) must be doubled.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _run(alembic_command: Callable[[Config, str], None], url: str | None, revision: str) -> None:
    """Run an Alembic command on one connection of the database at ``url`` (default: settings)."""
    cfg = alembic_config(url)
    with get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        alembic_command(cfg, revision)


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (default: settings) up to ``revision``."""
    _run(command.upgrade, url, revision)


def stamp(url: str | None = None, revision: str = "head") -> None:
    """Record ``revision`` as applied without running it (for a schema made by create_all in tests)."""
    _run(command.stamp, url, revision)


def current_revision(engine: Engine | None = None) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = engine or get_engine()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of cxloop."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_up_to_date(engine: Engine | None = None) -> bool:
    """Whether the database is at the newest shipped revision."""
    return current_revision(engine) == head_revision()
