"""Benchmark of ``redact_text`` with names masked, against the implementation before it, in one run.

Usage: ``PYTHONPATH=src .venv/bin/python bench/redaction.py [--n 10000] [--baseline 6f9a540]``.

Texts: ``--n`` review texts, a fixed mix (seed 0) of real Chinese reviews from
``../shared/data/reviews`` (generated complaints when that folder is missing), generated Chinese
sentences that name someone (a label, a form of address, a bare name, Traditional script), and
English sentences with and without a name; about a third name someone. The baseline is
``src/cxloop/auth/redaction.py`` of ``--baseline`` (default: the commit before names were masked),
read with ``git show`` into a module of its own. Each text is timed alone (``perf_counter_ns``),
baseline and current alternating, after a warm-up that loads jieba (its load is reported apart).
Figures: texts/s, median and p95 per text, by kind of text; then a feedback page (50 items through
``mask_spans``, as ``GET /api/v1/feedback`` shows them to a role without contact rights) with
jieba's per-run cache cold and warm. Prints only.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: ../shared/data next to the checkout (a worktree under wt/ finds it one level further up).
DATA = (
    next(
        (d for d in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data") if d.exists()),
        ROOT.parent / "shared" / "data",
    )
    / "reviews"
)
PAGE = 50

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀兰", "霞", "平", "刚", "建国", "小明", "海燕", "志强", "婷婷", "子豪", "欣怡", "浩然", "雨轩"]  # fmt: skip
HONORIFICS = ["先生", "女士", "小姐", "师傅", "老师", "经理"]
COMPLAINTS = [
    "物流太慢了，等了一个星期", "包装破了，里面的东西也坏了", "客服态度很差，问了半天没人回",
    "质量不错，和描述一致", "尺码偏小，建议拍大一码", "送餐太慢，饭都凉了", "味道不错，分量足",
    "收到的耳机左耳没声音，太失望了", "快递员直接放门口，也不打电话", "退款一直没到账",
    "华为手机很好用，京东发货快", "小米的充电器用了两天就坏了", "顺丰比中通快多了", "三个小时才送到",
]  # fmt: skip
ZH_NAMED = [
    "我是{n}，{c}", "我叫{n}，{c}", "收件人{n}电话打不通，{c}", "收货人：{n}，{c}", "联系人{n}，{c}",
    "{c}，快递员{n}态度很差", "请联系{s}{h}，{c}", "{s}{h}说{c}", "客服小{s}态度很好，{c}", "{n}说{c}",
    "本人{n}，{c}", "姓名：{n}，{c}",
]  # fmt: skip
ZH_HANT = ["我是{n}，訂單一直沒到", "收貨人：{n}，電話打不通", "請聯繫{s}先生，包裹破了"]
EN_PLAIN = [
    "The parcel arrived late and the box was crushed.", "Great quality, fits as described.",
    "Customer service never answered my emails.", "Battery died after two days, very disappointed.",
    "Delivery was fast but the colour is different from the picture.",
]  # fmt: skip
EN_NAMED = [
    "My name is {f} {l} and my order never arrived.", "Please ask Mr. {l} to call me back.",
    "Ms. {l} at the front desk was very helpful.", "Name: {f} {l}, order still missing.",
]  # fmt: skip
FIRST = ["John", "Mary", "James", "Linda", "David", "Susan", "Wei", "Anna"]
LAST = ["Smith", "Brown", "Johnson", "Lee", "Garcia", "Miller", "Chen", "Wilson"]
TRAD = str.maketrans("张刘陈杨黄赵吴孙马许郑谢韩冯邓萧蒋苏吕卢", "張劉陳楊黃趙吳孫馬許鄭謝韓馮鄧蕭蔣蘇呂盧")


def real_reviews() -> list[str]:
    """The Chinese review test sets, when ../shared/data is there (reporting files, no training)."""
    texts: list[str] = []
    for name in ("online_shopping", "waimai"):
        path = DATA / name / "test.csv"
        if path.exists():
            with path.open(encoding="utf-8-sig", newline="") as fh:
                texts += [row["review"] for row in csv.DictReader(fh) if row.get("review")]
    return texts


def corpus(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (kind, text) pairs: zh without names, zh with names, zh-Hant with names, en with/without."""
    rng = random.Random(seed)
    reviews = real_reviews()
    out: list[tuple[str, str]] = []
    for i in range(n):
        s, g = rng.choice(SURNAMES), rng.choice(GIVEN)
        c = rng.choice(COMPLAINTS)
        slot = i % 20
        if slot < 11:
            out.append(("zh plain", rng.choice(reviews) if reviews else c))
        elif slot < 16:
            text = rng.choice(ZH_NAMED).format(n=s + g, s=s, h=rng.choice(HONORIFICS), c=c)
            out.append(("zh named", text))
        elif slot < 17:
            out.append(
                ("zh-Hant named", rng.choice(ZH_HANT).format(n=(s + g).translate(TRAD), s=s.translate(TRAD)))
            )
        elif slot < 19:
            out.append(("en plain", rng.choice(EN_PLAIN)))
        else:
            out.append(("en named", rng.choice(EN_NAMED).format(f=rng.choice(FIRST), l=rng.choice(LAST))))
    return out


def baseline_module(commit: str) -> types.ModuleType:
    """``cxloop/auth/redaction.py`` as it was at ``commit``, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{commit}:src/cxloop/auth/redaction.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("redaction_baseline")
    exec(compile(source, f"{commit}:redaction.py", "exec"), module.__dict__)
    return module


def mask_spans_with(
    redact: Callable[[str | None], str | None], text: str, spans: Sequence[tuple[int, int]]
) -> tuple[str, list[tuple[int, int]]]:
    """``cxloop.feedback.service.mask_spans`` as it was before names (the baseline's feedback page)."""
    edges = sorted({0, len(text), *(max(0, min(len(text), e)) for span in spans for e in span)})
    moved = {0: 0}
    pieces: list[str] = []
    for start, end in pairwise(edges):
        pieces.append(redact(text[start:end]) or "")
        moved[end] = moved[start] + len(pieces[-1])
    masked = "".join(pieces)
    whole = redact(text) or ""
    if masked == whole:
        return masked, [(moved[a], moved[b]) for a, b in spans]
    return whole, [(0, 0) for _ in spans]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[str], object], texts: Sequence[str]) -> list[float]:
    """Milliseconds each call of ``fn`` took, one text at a time."""
    out = []
    for text in texts:
        t0 = time.perf_counter_ns()
        fn(text)
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def row(label: str, ms: Sequence[float]) -> str:
    """One line of figures: texts/s, median and p95 per text."""
    total = sum(ms) / 1000
    return (
        f"  {label:<22} {len(ms) / total:>10,.0f} texts/s   median {statistics.median(ms):6.3f} ms"
        f"   p95 {percentile(ms, 0.95):6.3f} ms   max {max(ms):7.2f} ms"
    )


def main() -> None:
    """Time the current and the baseline ``redact_text`` over the same texts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of texts (default 10,000)")
    parser.add_argument("--baseline", default="6f9a540", help="commit of the implementation before names")
    args = parser.parse_args()

    from cxloop.auth import redaction
    from cxloop.feedback.service import mask_spans

    old = baseline_module(args.baseline)
    items = corpus(args.n)
    texts = [t for _, t in items]
    print(f"{len(texts):,} texts ({'real reviews + generated' if real_reviews() else 'generated'}), "
          f"Python {sys.version.split()[0]}, baseline {args.baseline}")  # fmt: skip

    t0 = time.perf_counter()
    redaction.redact_text("我是张伟")
    print(f"first Chinese text (imports jieba, loads its dictionary and the taxonomy): "
          f"{time.perf_counter() - t0:.2f} s, once per process")  # fmt: skip
    redaction._tag_run.cache_clear()  # timed cold: every run of characters tagged afresh

    # Alternate the two in blocks, so machine noise falls on both alike.
    new_ms: list[float] = []
    old_ms: list[float] = []
    for at in range(0, len(texts), 500):
        block = texts[at : at + 500]
        old_ms += timed(old.redact_text, block)
        new_ms += timed(redaction.redact_text, block)

    print("\nredact_text, one text at a time (jieba cache cold):")
    print(row("baseline, all", old_ms))
    print(row("names, all", new_ms))
    for kind in dict.fromkeys(k for k, _ in items):
        picked = [i for i, (k, _) in enumerate(items) if k == kind]
        print(row(f"baseline, {kind}", [old_ms[i] for i in picked]))
        print(row(f"names, {kind}", [new_ms[i] for i in picked]))

    named = [t for k, t in items if k.endswith("named")]
    plain = [t for k, t in items if not k.endswith("named")]
    caught = sum(redaction.redact_text(t) != old.redact_text(t) for t in named)
    touched = sum(redaction.redact_text(t) != old.redact_text(t) for t in plain)
    stable = sum(redaction.redact_text(redaction.redact_text(t)) == redaction.redact_text(t) for t in texts)
    print(f"\nnames masked in {caught:,}/{len(named):,} texts written with one; something masked as a name in "
          f"{touched:,}/{len(plain):,} texts without a planted one (real reviews name authors, staff, "
          f"celebrities); idempotent on {stable:,}/{len(texts):,}")  # fmt: skip

    # A feedback page: 50 items, each text with one evidence span, as a role without contact rights.
    pages = [texts[i : i + PAGE] for i in range(0, min(len(texts), 40 * PAGE), PAGE)]

    def page_new(page: list[str]) -> None:
        for text in page:
            mask_spans(text, [(0, min(4, len(text)))])

    def page_old(page: list[str]) -> None:
        for text in page:
            mask_spans_with(old.redact_text, text, [(0, min(4, len(text)))])

    def page_ms(fn: Callable[[list[str]], None]) -> list[float]:
        out = []
        for page in pages:
            t0 = time.perf_counter_ns()
            fn(page)
            out.append((time.perf_counter_ns() - t0) / 1e6)
        return out

    redaction._tag_run.cache_clear()
    cold = page_ms(page_new)
    warm = page_ms(page_new)
    base = page_ms(page_old)
    print(f"\nfeedback page of {PAGE} items through mask_spans ({len(pages)} pages):")
    for label, ms in (("baseline", base), ("names, cache cold", cold), ("names, cache warm", warm)):
        print(f"  {label:<22} median {statistics.median(ms):6.1f} ms   p95 {percentile(ms, 0.95):6.1f} ms")


if __name__ == "__main__":
    main()
