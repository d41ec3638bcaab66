"""The hand-written tiny training corpus, laid out as the training loader expects.

The texts live in one file (`fixtures/tiny_corpus.json`) under a name of its own; the folder
and file names that `cxloop.text.data` looks for are only created in a temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "fixtures" / "tiny_corpus.json"


def write_tiny_corpus(root: Path) -> Path:
    """Write every text file of the corpus below `root` (byte for byte) and return `root`."""
    files: dict[str, str] = json.loads(CORPUS.read_text(encoding="utf-8"))["files"]
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return root
