"""The shape of the code, checked in CI: import layers and no cycles, domain files, no SQL or commit in handlers.

The allow-lists below name today's exceptions, each with the reason and who is removing it; a new
exception needs an entry here, which a reviewer sees.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "cxloop"

#: Packages under cxloop that are not domains: the text engine, shared infrastructure, data files.
NOT_DOMAINS = frozenset({"text", "web", "i18n", "migrations", "demo"})
#: Modules that handle a request, a command or a job: they parse, call a service and render.
HANDLER_MODULES = frozenset({"views", "pages", "cli", "jobs", "flows"})

#: Domains that own tables but no logic yet (reference data read by other domains' services).
DATA_ONLY_DOMAINS = frozenset({"catalog", "logistics", "org", "surveys", "system"})

#: Today's domains that break the shape, with the reason. Keep this short; remove entries as fixed.
SHAPE_EXCEPTIONS: dict[str, str] = {
    "reports/service.py": "reports is the CLI face of metrics (Pareto, scorecards); moving into metrics",
}

#: Handler modules that still issue SQL themselves, with the reason. Remove entries as fixed.
SQL_EXCEPTIONS: dict[str, str] = {}

SQL_FUNCTIONS = frozenset({"select", "insert", "update", "delete", "text"})
# commit: services own the transaction of the action they complete (docs/development.md).
SQL_METHODS = frozenset({"execute", "query", "scalars", "scalar", "scalar_one", "exec_driver_sql", "commit"})


def _domains() -> list[Path]:
    return sorted(
        p
        for p in PACKAGE.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_DOMAINS
    )


def _missing_files(domain: Path) -> list[str]:
    """Standard files the domain should have, given what it already has."""
    names = {p.name for p in domain.iterdir()}
    missing = []
    if "models.py" not in names and domain.name not in {"reports"}:
        missing.append("models.py")
    if domain.name in DATA_ONLY_DOMAINS:
        return missing
    if "service.py" not in names:
        missing.append("service.py")  # handlers only call services, so a domain with handlers has one
    if "views.py" in names and "schemas.py" not in names:
        missing.append("schemas.py")  # the API's typed request and response models
    if "pages.py" in names and not (domain / "templates" / domain.name).is_dir():
        missing.append("templates")  # a domain's pages render its own templates/<domain>/
    return [f"{domain.name}/{name}" for name in missing]


def test_every_domain_has_its_standard_files() -> None:
    missing = [m for d in _domains() for m in _missing_files(d) if m not in SHAPE_EXCEPTIONS]
    assert not missing, f"domains lack standard files (see docs/development.md): {missing}"
    stale = [m for m in SHAPE_EXCEPTIONS if m not in {x for d in _domains() for x in _missing_files(d)}]
    assert not stale, f"fixed: remove from SHAPE_EXCEPTIONS: {stale}"


def _sql_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    sql_names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
        if alias.name in SQL_FUNCTIONS
    }
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (isinstance(func, ast.Name) and func.id in sql_names) or (
            isinstance(func, ast.Attribute) and func.attr in SQL_METHODS
        ):
            calls.append(f"line {node.lineno}")
    return calls


def test_handlers_issue_no_sql() -> None:
    found = {}
    for path in sorted(PACKAGE.glob("*/*.py")):
        rel = f"{path.parent.name}/{path.name}"
        if path.stem in HANDLER_MODULES and path.parent.name != "text":
            calls = _sql_calls(path)
            if calls:
                found[rel] = calls
    new = {k: v for k, v in found.items() if k not in SQL_EXCEPTIONS}
    assert not new, f"handler modules must call a service instead of issuing SQL: {new}"
    stale = [k for k in SQL_EXCEPTIONS if k not in found]
    assert not stale, f"fixed: remove from SQL_EXCEPTIONS: {stale}"


def test_the_sql_check_sees_sql(tmp_path: Path) -> None:
    # The check itself: a handler written with a query is caught.
    path = tmp_path / "views.py"
    path.write_text("from sqlalchemy import select\ndef f(s):\n    return s.scalars(select(1))\n")
    assert _sql_calls(path) == ["line 3", "line 3"]


def test_import_contracts() -> None:
    """import-linter: layers text -> core -> domains -> web/CLI entry points."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("import-linter is not installed (it is a dev dependency: make install)")
    result = subprocess.run(
        [exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )
    # Each contract has its own test, so a failure names the one that broke.
    assert "Layers: text -> core -> domains -> web/CLI KEPT" in result.stdout, (
        result.stdout[-4000:] + result.stderr[-2000:]
    )


def test_no_import_cycles() -> None:
    """import-linter: no import cycles between the packages of cxloop."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None
    result = subprocess.run(
        [exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )
    assert "No import cycles between packages KEPT" in result.stdout, result.stdout[-4000:]
