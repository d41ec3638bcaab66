"""The composer's texts and the mentions it reports for them: the demo truth counts exactly these."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

from cxloop.demo import phrases
from cxloop.demo.text import GENERIC_SLOTS, Composer, fill_generic
from cxloop.demo.truth import add_negative_mentions

SLOTS = {**GENERIC_SLOTS, "order": "DD2608000001"}


def _chats(scenario: str, n: int = 400) -> list[tuple[str, list[tuple[str, str]]]]:
    composer = Composer(random.Random(3), english=0.0, traditional=0.0)
    return [(t.text, t.mentions) for t in (composer.chat(scenario, SLOTS, waited=False) for _ in range(n))]


def test_a_chat_that_only_asks_complains_about_nothing() -> None:
    """ "请问订单…今天能发货吗？" alone is an enquiry: no dispatch complaint is counted for it."""
    enquiry = next(iter(phrases.ENQUIRIES)).format(**SLOTS)
    seen: Counter[bool] = Counter()
    for text, mentions in _chats("dispatch"):
        complaint_lines = [
            line for line in text.split("\n") if line != enquiry and line not in phrases.CHAT_THANKS
        ]
        asked_only = not complaint_lines
        seen[asked_only] += 1
        assert (("dispatch_speed", "negative") in mentions) is not asked_only, text
    assert seen[True] and seen[False]


def test_a_snippet_counts_every_complaint_its_words_carry() -> None:
    """ "能不能换货？尺码不对" complains about the size as well as asking for an exchange."""
    found = False
    for text, mentions in _chats("refund"):
        if "尺码不对" in text:
            found = True
            assert ("description_match", "negative") in mentions, text
        assert len(mentions) == len(set(mentions)), text
    assert found


def test_review_mentions_are_distinct_and_include_what_the_snippets_carry() -> None:
    """A review naming "质量一般，跟价格不太匹配" counts quality and price, each once."""
    composer = Composer(random.Random(5), english=0.0, traditional=0.0)
    hits = 0
    for _ in range(300):
        text = composer.review([("product_quality", "negative"), ("price_value", "negative")], dict(SLOTS))
        assert len(text.mentions) == len(set(text.mentions)), text
        if "跟价格不太匹配" in text.text:
            hits += 1
            assert ("price_value", "negative") in text.mentions
    assert hits


def test_generic_fill_leaves_no_slot_in_the_text() -> None:
    """Every snippet filled without an order at hand is plain text (no "{d}" shown to anyone)."""
    for table in (phrases.NEG, phrases.POS):
        for templates in table.values():
            for template in templates:
                assert not re.search(r"[{}]", fill_generic(template)), template


def test_later_steps_add_their_complaints_to_the_truth(tmp_path: Path) -> None:
    """The survey step's complaints join the generator's counts; months outside the period stay out."""
    truth = {"negative_mentions": {"2026-05": {"packaging": 2, "taste": 3}}}
    (tmp_path / "demo-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    add_negative_mentions(tmp_path, {"2026-05": Counter(packaging=2, cs_attitude=1), "2027-01": Counter(x=1)})
    merged = json.loads((tmp_path / "demo-truth.json").read_text(encoding="utf-8"))["negative_mentions"]
    assert merged == {"2026-05": {"packaging": 4, "taste": 3, "cs_attitude": 1}}
    assert list(merged["2026-05"]) == ["packaging", "taste", "cs_attitude"]
