"""Applying and checking the Alembic migrations that ship inside the package."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from cxloop.db import get_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

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
    """Bring the database at ``url`` (default: settings) up to ``revision``.

    Every command and the web app call this on start; a database already at head is the usual
    case, so it is recognised from the revision table alone, without loading Alembic's migration
    environment and every domain's tables (start-up under 1 s).
    """
    if revision == "head" and _at_shipped_head(get_engine(url)):
        return
    from alembic import command

    _run(command.upgrade, url, revision)


def stamp(url: str | None = None, revision: str = "head") -> None:
    """Record ``revision`` as applied without running it (for a schema made by create_all in tests)."""
    from alembic import command

    _run(command.stamp, url, revision)


def current_revision(engine: Engine | None = None) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    engine = engine or get_engine()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of cxloop."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_up_to_date(engine: Engine | None = None) -> bool:
    """Whether the database is at the newest shipped revision."""
    return current_revision(engine) == head_revision()


_REVISION_LINE = re.compile(r"^(revision|down_revision)(?:: [^=]+)? = (?:'([^']*)'|\"([^\"]*)\"|None)$", re.M)


def shipped_head_fast() -> str | None:
    """The head revision read from the version files' ``revision = '...'`` lines, without Alembic.

    None when the files are not a plain chain of single revisions (a merge, a branch): callers then
    ask Alembic (``head_revision``).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {
            m.group(1): m.group(2) or m.group(3) for m in _REVISION_LINE.finditer(path.read_text("utf-8"))
        }
        if "revision" not in found or not found["revision"]:
            return None
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_shipped_head(engine: Engine) -> bool:
    """Whether the database is at the shipped head, read with one query (False when unsure)."""
    head = shipped_head_fast()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:  # no revision table yet: a new database, which upgrade creates
        return False
    return rows == [head]
