"""Shared fixtures: a fresh database per test on SQLite and (when reachable) PostgreSQL.

Every test that takes ``db_session`` runs twice, once per backend. PostgreSQL and Redis must be
running in CI (CI=true): there a missing server fails the run instead of skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

import cxloop.models  # noqa: F401  (registers every table)
from cxloop import clock
from cxloop.config import get_settings
from cxloop.db import Base, dispose_engines, get_engine
from cxloop.migrate import stamp

PG_HOST = os.environ.get("CXLOOP_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CXLOOP_TEST_PG_PORT", "5432"))
PG_URL = os.environ.get("CXLOOP_TEST_PG_URL", f"postgresql+psycopg://root@{PG_HOST}:{PG_PORT}/test")
REDIS_URL = os.environ.get("CXLOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (on a laptop) or fail (in CI) when a server the test needs is not listening."""
    if _port_open(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it (start the service, see docs/development.md)")
    pytest.skip(f"{message}; start it to run these tests (they run, and must pass, in CI)")


def require_postgres() -> None:
    """Skip or fail unless the test PostgreSQL server is up."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)


def require_redis() -> None:
    """Skip or fail unless the test Redis server is up."""
    host_port = REDIS_URL.split("://", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    require_service("Redis", host or "127.0.0.1", int(port or 6379))


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own data folder and no broker unless it asks for one."""
    monkeypatch.setenv("CXLOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CXLOOP_DATABASE_URL", raising=False)
    monkeypatch.delenv("CXLOOP_BROKER_URL", raising=False)
    # `cxloop demo` run in-process sets CXLOOP_MAIL_SINK=file for itself; it must not leak into other tests.
    monkeypatch.delenv("CXLOOP_MAIL_SINK", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def frozen_clock() -> Iterator[Callable[[datetime], None]]:
    """Freeze ``cxloop.clock.now`` at the moment passed to the returned setter (thawed at the end)."""
    stack = ExitStack()

    def freeze(at: datetime) -> None:
        stack.enter_context(clock.frozen(at))

    with stack:
        yield freeze


_pg_schema_engine: dict[str, tuple[str, Engine]] = {}


def _postgres_url_for_worker(worker: str) -> str:
    """A schema of its own per xdist worker, created once, so parallel runs never meet."""
    if worker not in _pg_schema_engine:
        schema = f"cxtest_{worker}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        stamp(url)  # like a migrated database, so commands that upgrade on start find nothing to do
        _pg_schema_engine[worker] = (url, engine)
    return _pg_schema_engine[worker][0]


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker_id: str
) -> Iterator[str]:
    """The URL of an empty, fully created database; the test runs once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        Base.metadata.create_all(get_engine(url))
        stamp(url)
    else:
        require_postgres()
        url = _postgres_url_for_worker(worker_id)
        _truncate_all(get_engine(url))
    monkeypatch.setenv("CXLOOP_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    dispose_engines()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite database only (for tests whose subject is not the database backend)."""
    url = f"sqlite:///{tmp_path / 'test.db'}"
    Base.metadata.create_all(get_engine(url))
    stamp(url)
    monkeypatch.setenv("CXLOOP_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    dispose_engines()


@pytest.fixture
def db_session(db_url: str) -> Iterator[Session]:
    """A session on the fresh database of ``db_url``."""
    session = Session(get_engine(db_url), expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def worker_id() -> str:
    """xdist's worker id when pytest-xdist is not installed or not used."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the PostgreSQL schemas this run created."""
    for url, engine in _pg_schema_engine.values():
        engine.dispose()
        schema = url.rsplit("%3D", 1)[1]
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# ---------------------------------------------------------------------------------------------
# The demo store, built once per test run and shared by every xdist worker.

DEMO_SEED = 7
DEMO_SCALE = 0.2


@dataclass(frozen=True)
class DemoStore:
    """A private copy of the demo store for one test: its folder, database URL and planted truth."""

    data_dir: Path
    url: str
    truth: dict[str, Any]


def _build_demo_once(root: Path) -> Path:
    """Build the demo into ``root`` unless another worker already did (a lock file serialises it)."""
    ready = root / ".ready"
    if ready.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    lock_path = root.parent / (root.name + ".lock")
    deadline = time.monotonic() + 900
    while True:
        try:
            fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if ready.exists():
                return root
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"waited too long for another worker to build the demo in {root}"
                ) from None
            time.sleep(0.5)
    try:
        if not ready.exists():
            from cxloop.demo.flows import build_demo

            saved = {k: os.environ.get(k) for k in ("CXLOOP_DATA_DIR", "CXLOOP_DATABASE_URL")}
            os.environ["CXLOOP_DATA_DIR"] = str(root)
            os.environ["CXLOOP_DATABASE_URL"] = f"sqlite:///{root / 'cxloop.db'}"
            get_settings.cache_clear()
            try:
                build_demo(data_dir=root, seed=DEMO_SEED, scale=DEMO_SCALE)
            finally:
                dispose_engines()
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                get_settings.cache_clear()
            ready.touch()
    finally:
        os.close(fd)
        lock_path.unlink(missing_ok=True)
    return root


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the demo store built for this test run (seed 7, scale 0.2); do not write to it."""
    # getbasetemp().parent is shared by all xdist workers of one run, so the demo is built once.
    shared = tmp_path_factory.getbasetemp().parent / f"demo-seed{DEMO_SEED}-scale{DEMO_SCALE}"
    return _build_demo_once(shared)


@pytest.fixture
def demo_store(demo_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoStore]:
    """A fresh copy of the demo store's SQLite database for one test, set as the current database."""
    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    shutil.copy2(demo_build / "cxloop.db", data_dir / "cxloop.db")
    if (demo_build / "models").is_dir():  # the demo's trained late-order warning
        shutil.copytree(demo_build / "models", data_dir / "models")
    truth = json.loads((demo_build / "demo-truth.json").read_text(encoding="utf-8"))
    url = f"sqlite:///{data_dir / 'cxloop.db'}"
    monkeypatch.setenv("CXLOOP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CXLOOP_DATABASE_URL", url)
    get_settings.cache_clear()
    yield DemoStore(data_dir=data_dir, url=url, truth=truth)
    dispose_engines()
