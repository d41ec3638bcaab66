"""Training is reproducible and its output is pinned by golden predictions.

The model is trained on a tiny hand-written corpus (`fixtures/tiny_corpus.json`, written out in
the shared data's layout into a temporary folder by `tiny_corpus.py`) and its predictions on fixed probes are compared with
`fixtures/golden_predictions.json`. A change to the training code that changes the model makes
this fail: then retrain the shipped model (`make model`), check it (`make model-check`), and
regenerate the golden file with

    CXLOOP_UPDATE_GOLDEN=1 .venv/bin/pytest tests/text/test_golden_model.py

and commit all three together (docs/text.md, "Retraining").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cxloop.text.analyzer import Analyzer
from cxloop.text.bundle import load_bundle_file
from cxloop.text.train import file_sha256, train_models

from .tiny_corpus import write_tiny_corpus

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = FIXTURES / "golden_predictions.json"
N_FEATURES = 2**14
# Scores may differ in the last bits across platforms (BLAS, libm); a training change moves them more.
TOLERANCE = 1e-6
PROBES = [
    "质量很好，物流也很快",
    "太差了，再也不买了",
    "味道不错，但是送餐太慢了",
    "屏幕很清晰，但是电池不耐用",
    "少发了一件，客服也没人理",
    "Great phone, works perfectly.",
    "Terrible, broke after a day.",
    "这个phone不错 but 电池 so-so",
    "",
]


def _predictions(model: Path) -> dict[str, Any]:
    """What the trained fixture model says about the probes, plus its training metadata."""
    analyzer = Analyzer(model_path=model)
    meta = load_bundle_file(model).meta
    return {
        "meta": {k: v for k, v in meta.items() if k not in ("code_sha256", "code_files")},
        "scores": analyzer.score(PROBES).tolist(),
        "analyses": [
            {
                "sentiment": a.sentiment,
                "clauses": [list(c) for c in a.clauses],
                "aspects": [[m.aspect, m.sentiment, m.score, m.start, m.end, m.method] for m in a.aspects],
            }
            for a in analyzer.analyze(PROBES)
        ],
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny corpus written out in the data set's layout."""
    return write_tiny_corpus(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    """The fixture model, trained once for this module."""
    out = tmp_path_factory.mktemp("golden")
    return Path(train_models(data, out, log=lambda *_: None, n_features=N_FEATURES)["path"])


def test_golden_predictions(trained: Path) -> None:
    got = _predictions(trained)
    if os.environ.get("CXLOOP_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        pytest.skip(f"rewrote {GOLDEN.name}: review the diff and commit it with the retrained model")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert got["meta"] == want["meta"]
    assert got["scores"] == pytest.approx(want["scores"], abs=TOLERANCE)
    for g, w in zip(got["analyses"], want["analyses"], strict=True):
        assert (g["sentiment"], g["clauses"]) == (w["sentiment"], w["clauses"])
        assert [a[:2] + a[3:] for a in g["aspects"]] == [a[:2] + a[3:] for a in w["aspects"]]
        assert [a[2] for a in g["aspects"]] == pytest.approx([a[2] for a in w["aspects"]], abs=1e-4)


def test_training_is_byte_for_byte_reproducible(trained: Path, data: Path, tmp_path: Path) -> None:
    # A second process with another string-hash seed: nothing may depend on set or dict order.
    out = tmp_path / "again.joblib"
    code = (
        "import sys; from cxloop.text.train import train_models; "
        f"train_models(sys.argv[1], sys.argv[2], log=lambda *_: None, n_features={N_FEATURES})"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(data), str(out)], check=True, env=env)
    assert file_sha256(out) == file_sha256(trained)


def test_metadata_records_data_and_code(trained: Path, data: Path) -> None:
    meta = load_bundle_file(trained).meta
    assert meta["data_sha256"]["reviews/waimai/train.csv"] == file_sha256(data / "reviews/waimai/train.csv")
    assert len(meta["data_sha256"]) == 7
    assert len(meta["code_sha256"]) == 64
    # The training code: train.py and what it imports, not the analyzer or the CLI.
    assert {"train.py", "kernels.py", "sentiment.py", "taxonomies/ecommerce.yaml"} <= set(meta["code_files"])
    assert not {"analyzer.py", "cli.py", "__init__.py"} & set(meta["code_files"])


def test_shipped_model_records_its_training() -> None:
    from cxloop.text.bundle import MODEL_FILE

    meta = load_bundle_file(MODEL_FILE).meta
    assert set(meta["data_sha256"]) == {
        "reviews/online_shopping/train.csv",
        "reviews/waimai/train.csv",
        "reviews/english/amazon_cells_labelled.txt",
        "reviews/english/imdb_labelled.txt",
        "aspects/phone.train.txt",
        "aspects/camera.train.txt",
        "aspects/notebook.train.txt",
    }
    assert len(meta["code_sha256"]) == 64
