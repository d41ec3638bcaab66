"""Finding the optional parts of cxloop (domain routers, commands, jobs) by module name."""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_import(module_name: str) -> ModuleType | None:
    """Import ``module_name``, or return None when it (or a package above it) does not exist.

    An ImportError raised *inside* an existing module is re-raised: a broken module must never
    look like an absent one.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == module_name or module_name.startswith(missing + "."):
            return None
        raise
