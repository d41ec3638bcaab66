"""Optional accuracy smoke test on a slice of the shared test data (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxloop.text import Analyzer
from cxloop.text.data import read_reviews

DATA = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "reviews"
    / "online_shopping"
    / "test.csv"
)


@pytest.mark.skipif(not DATA.exists(), reason="shared data not available")
def test_accuracy_smoke(analyzer: Analyzer) -> None:
    texts, labels = read_reviews(DATA)
    texts, labels = texts[:1000], labels[:1000]
    acc = float(((analyzer.score(texts) > 0.5).astype(int) == np.asarray(labels)).mean())
    assert acc >= 0.92
