"""The loop's own settings: packaged defaults merged with an optional YAML file in the data folder."""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from cxloop.config import business_now, get_settings

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def override_file() -> Path:
    """The YAML file whose keys override the defaults (CXLOOP_LOOP_CONFIG or <data_dir>/loop.yaml)."""
    named = os.environ.get("CXLOOP_LOOP_CONFIG")
    return Path(named) if named else get_settings().data_dir / "loop.yaml"


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> dict[str, Any]:
    base = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8")) or {}
    if path and mtime:
        extra = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(extra, dict):
            raise ValueError(f"{path}: the loop settings must be a mapping")
        base = _merge(base, extra)
    return dict(base)


def loop_settings() -> dict[str, Any]:
    """The merged settings (re-read when the override file changes)."""
    path = override_file()
    mtime = path.stat().st_mtime if path.is_file() else 0.0
    return _load(str(path) if mtime else "", mtime)


def now() -> datetime:
    """The current time, naive, in the business time zone (how every timestamp is stored)."""
    return business_now()
