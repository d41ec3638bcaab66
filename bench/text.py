"""Benchmark cxloop.text: accuracy, aspect accuracy, English CV, throughput, baselines.

Run: .venv/bin/python bench/text.py [--data-dir ../shared/data] [--quick]
Prints the figures and writes them to bench/results/text.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from cxloop.text.analyzer import Analyzer, collector_paused
from cxloop.text.bundle import MODEL_FILE
from cxloop.text.data import ABSA_DOMAINS, absa_sentences, read_absa, read_english, read_reviews
from cxloop.text.normalize import normalize
from cxloop.text.train import _cv_accuracy, default_data_dir

ROOT = Path(__file__).resolve().parent
SEED = 0
SPEED_FILES = ("online_shopping", "waimai")


def _acc(scores: np.ndarray, labels: list[int]) -> float:
    """Binary accuracy of P(positive) at 0.5."""
    return float(((np.asarray(scores) > 0.5).astype(int) == np.asarray(labels)).mean())


def _throughput(analyzer: Analyzer, texts: list[str], paused: bool) -> float:
    """Reviews per second of full analysis (sentiment + aspects) in this one process.

    `paused`: with the garbage collector paused around the batches, as batch processes run it
    (`collector_paused`); the figure before that was opt-in was measured this way.
    """
    analyzer.analyze(texts[:200])  # warm caches (jieba is not used here, OpenCC is)
    with collector_paused() if paused else contextlib.nullcontext():
        t0 = time.perf_counter()
        for i in range(0, len(texts), 1000):
            analyzer.analyze(texts[i : i + 1000])
        return len(texts) / (time.perf_counter() - t0)


def _baseline(data: Path, tests: dict[str, tuple[list[str], list[int]]]) -> dict[str, Any]:
    """TF-IDF char 1-3-grams + logistic regression trained on both train files."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts: list[str] = []
    labels: list[int] = []
    for name in ("online_shopping", "waimai"):
        t, y = read_reviews(data / "reviews" / name / "train.csv")
        texts += t
        labels += y
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    clf = LogisticRegression(C=10.0, max_iter=2000, random_state=SEED).fit(vec.fit_transform(texts), labels)
    out: dict[str, Any] = {}
    for name, (t, y) in tests.items():
        out[name] = float((clf.predict(vec.transform(t)) == np.asarray(y)).mean())
    sample = tests["online_shopping"][0][:5000]
    t0 = time.perf_counter()
    clf.predict_proba(vec.transform(sample))
    out["reviews_per_s"] = len(sample) / (time.perf_counter() - t0)
    return out


def _snownlp(tests: dict[str, tuple[list[str], list[int]]], n: int, speed_texts: list[str]) -> dict[str, Any]:
    """SnowNLP sentiments > 0.5 on a fixed random sample of each test file, and its speed.

    The speed is timed on `speed_texts`, the first reviews of the very mix whose full analysis
    is timed for cxloop, so that both run on the same texts: SnowNLP's time grows with a
    review's length, and the per-file samples hold as many short food-delivery reviews as long
    shopping ones, where the mix holds them in their files' proportions.
    """
    try:
        from snownlp import SnowNLP
    except ImportError:
        return {"skipped": "snownlp not installed (dev extra)"}
    out: dict[str, Any] = {}
    for name, (t, y) in tests.items():
        rng = random.Random(SEED)
        idx = rng.sample(range(len(t)), min(n, len(t)))
        pred = [1 if SnowNLP(t[i]).sentiments > 0.5 else 0 for i in idx if t[i].strip()]
        truth = [y[i] for i in idx if t[i].strip()]
        out[name] = float(np.mean(np.asarray(pred) == np.asarray(truth)))
    timed = [t for t in speed_texts[:n] if t.strip()]
    t0 = time.perf_counter()
    for t in timed:
        _ = SnowNLP(t).sentiments  # the property runs the model
    out["reviews_per_s"] = len(timed) / (time.perf_counter() - t0)
    out["sample_per_file"] = n
    return out


def main() -> None:
    """Run the benchmark and print/write the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help="smaller samples, no baseline training")
    args = ap.parse_args()
    data = args.data_dir or default_data_dir()
    res: dict[str, Any] = {}

    t0 = time.perf_counter()
    analyzer = Analyzer()
    res["model"] = {
        "version": analyzer.model_version,
        "file_mb": round(MODEL_FILE.stat().st_size / 1e6, 2),
        "load_s": round(time.perf_counter() - t0, 3),
    }
    print(f"model {analyzer.model_version}: {res['model']['file_mb']} MB, load {res['model']['load_s']} s")

    tests: dict[str, tuple[list[str], list[int]]] = {}
    res["sentiment_accuracy"] = {}
    for name in ("online_shopping", "waimai"):
        t, y = read_reviews(data / "reviews" / name / "test.csv")
        tests[name] = (t, y)
        acc = _acc(analyzer.score(t), y)
        res["sentiment_accuracy"][name] = round(acc, 4)
        print(f"review sentiment accuracy  {name:16s} {acc:.2%}  (n={len(t)})")

    res["absa_accuracy"] = {}
    absa_all: list[bool] = []
    b = analyzer.bundle
    ood: list[str] = []
    ood_labels: list[int] = []
    for dom in ABSA_DOMAINS:
        items = read_absa(data / "aspects" / f"{dom}.test.txt")
        t, y = absa_sentences(items)
        ood += t
        ood_labels += y
        scores = b.absa.score([it.as_tuple() for it in items])
        ok = [(s > 0.5) == (it.label == "Positive") for s, it in zip(scores, items, strict=True)]
        absa_all += ok
        res["absa_accuracy"][dom] = round(float(np.mean(ok)), 4)
        print(f"aspect sentiment accuracy  {dom:16s} {np.mean(ok):.2%}  (n={len(items)})")
    res["absa_accuracy"]["all"] = round(float(np.mean(absa_all)), 4)
    print(f"aspect sentiment accuracy  {'all':16s} {np.mean(absa_all):.2%}")
    # Review sentiment in domains the review model never saw (see absa_sentences).
    tests["other_domains"] = (ood, ood_labels)
    acc = _acc(analyzer.score(ood), ood_labels)
    res["sentiment_accuracy"]["other_domains"] = round(acc, 4)
    print(
        f"review sentiment accuracy  {'other domains':16s} {acc:.2%}  (n={len(ood)}, phone/camera/laptop sentences)"
    )

    en_texts, en_labels = read_english(data)
    en_cv = _cv_accuracy("en", [normalize(t).text for t in en_texts], en_labels)
    res["english_cv_accuracy"] = round(en_cv, 4)
    print(f"English sentiment accuracy (5-fold CV, amazon+imdb) {en_cv:.2%}")

    mix = [t for name in SPEED_FILES for t in tests[name][0]]
    random.Random(SEED).shuffle(mix)
    mix = mix[: 3000 if args.quick else 12000]
    tput = _throughput(analyzer, mix, paused=True)
    res["throughput_reviews_per_s"] = round(tput, 1)
    print(
        f"full analysis throughput   {tput:,.0f} reviews/s (one process, batches of 1000, collector paused)"
    )
    plain = _throughput(analyzer, mix, paused=False)
    res["throughput_collector_on_reviews_per_s"] = round(plain, 1)
    print(f"full analysis throughput   {plain:,.0f} reviews/s (collector on, as in a server thread)")

    if not args.quick:
        base = _baseline(data, tests)
        res["baseline_tfidf_char13_lr"] = {k: round(v, 4) for k, v in base.items()}
        for name in tests:
            print(
                f"baseline TF-IDF char1-3+LR {name:16s} {base[name]:.2%}  "
                f"(ours {res['sentiment_accuracy'][name] - base[name]:+.2%} points)"
            )
        print(f"baseline throughput (sentiment only) {base['reviews_per_s']:,.0f} reviews/s")
    snow = _snownlp(tests, 300 if args.quick else 1500, mix)
    res["snownlp"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in snow.items()}
    if "reviews_per_s" in snow:
        for name in tests:
            print(
                f"SnowNLP                    {name:16s} {snow[name]:.2%}  ({snow['sample_per_file']}-review sample)"
            )
        ratio = tput / snow["reviews_per_s"]
        res["speed_ratio_vs_snownlp"] = round(ratio, 1)
        print(
            f"SnowNLP throughput {snow['reviews_per_s']:,.0f} reviews/s on the first "
            f"{snow['sample_per_file']} reviews of the same mix; ours is {ratio:,.0f}x faster"
        )
    out = ROOT / "results" / "text.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
