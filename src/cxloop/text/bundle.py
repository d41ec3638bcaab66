"""The shipped model bundle: loading, saving and its version string."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib

from cxloop.text.aspects import AspectSentimentModel
from cxloop.text.sentiment import SentimentModel

MODEL_DIR = Path(__file__).resolve().parent / "models"
MODEL_FILE = MODEL_DIR / "text_model.joblib"
BUNDLE_FORMAT = 1


@dataclass
class ModelBundle:
    """The fitted models shipped with the package and metadata about their training."""

    zh: SentimentModel
    en: SentimentModel
    absa: AspectSentimentModel
    meta: dict[str, Any] = field(default_factory=dict)
    version: str = "untrained"

    def save(self, path: str | Path) -> str:
        """Write the bundle as plain arrays with joblib; return the new version string."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(
            {
                "format": BUNDLE_FORMAT,
                "zh": self.zh.to_state(),
                "en": self.en.to_state(),
                "absa": self.absa.to_state(),
                "meta": self.meta,
            },
            path,
            compress=3,
        )
        self.version = file_version(path)
        return self.version


def file_version(path: str | Path) -> str:
    """Return a short content hash of a model file, used as the model version."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return "text-" + h.hexdigest()[:12]


def load_bundle_file(path: str | Path) -> ModelBundle:
    """Load a bundle written by `ModelBundle.save`."""
    state = joblib.load(path)
    if state.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"unsupported model bundle format {state.get('format')!r} in {path}")
    zh = SentimentModel.from_state(state["zh"])
    return ModelBundle(
        zh=zh,
        en=SentimentModel.from_state(state["en"]),
        absa=AspectSentimentModel.from_state(state["absa"], review=zh),
        meta=dict(state.get("meta") or {}),
        version=file_version(path),
    )


_lock = threading.Lock()
_cache: dict[str, ModelBundle] = {}


def load_bundle(path: str | Path | None = None) -> ModelBundle:
    """Load (once per process) the shipped bundle or the one at `path`."""
    key = str(Path(path or MODEL_FILE).resolve())
    with _lock:
        if key not in _cache:
            if not Path(key).exists():
                raise FileNotFoundError(
                    f"no text model at {key}; run `make model` (python -m cxloop.text.train)"
                )
            _cache[key] = load_bundle_file(key)
        return _cache[key]
