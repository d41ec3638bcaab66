"""Stored analysis: written for every item, skipped when current, redone when model or taxonomy change."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.feedback import service
from cxloop.feedback.models import FeedbackAspect, FeedbackItem

TEXTS = [
    "味道不错，但是送餐太慢了",
    "质量太差了，用了两天就坏了，客服也不理人",
    "包裝很好，物流很快，下次還會再來",
    "Great price, but the delivery was really slow.",
    "",
    "😀😀😀",
]

RESTAURANT = """
name: restaurant
stages: [browse, purchase, wait, arrival, use, after_sales]
aspects:
  - id: taste
    name: {zh: 口味, en: Taste}
    stage: use
    department: product
    keywords: {zh: [味道, 口味, 好吃, 难吃], en: [taste, tasty, delicious]}
    examples: {zh: ["味道很好"], en: ["tasty food"]}
  - id: waiting_time
    name: {zh: 等待时间, en: Waiting time}
    stage: wait
    department: customer_service
    keywords: {zh: [等了, 上菜慢, 送餐, 太慢], en: [wait, slow]}
    examples: {zh: ["上菜太慢了"], en: ["we waited an hour"]}
"""


def _add_items(session: Session) -> None:
    session.execute(
        insert(FeedbackItem),
        [
            {
                "external_id": f"F{i}",
                "channel": "review",
                "text": text,
                "occurred_at": datetime(2026, 8, 1 + i, 12, 0),
            }
            for i, text in enumerate(TEXTS)
        ],
    )
    session.commit()


def test_analyse_pending_stores_sentiment_and_aspects(db_session: Session) -> None:
    _add_items(db_session)
    assert service.count_pending(db_session=db_session) == len(TEXTS)

    run = service.analyse_pending(db_session=db_session, batch_size=4)

    assert run.analysed == len(TEXTS)
    items = {i.external_id: i for i in db_session.scalars(select(FeedbackItem))}
    assert items["F0"].sentiment in {"positive", "neutral", "negative"}
    assert items["F1"].sentiment == "negative"
    assert items["F3"].language == "en"
    assert all(i.analysis_key == run.analysis_key for i in items.values())
    mentions = service.aspects_of(db_session=db_session, feedback_id=items["F0"].id)
    by_aspect = {m.aspect: m for m in mentions}
    assert by_aspect["taste"].sentiment == "positive"
    assert by_aspect["delivery_speed"].sentiment == "negative"
    # Evidence spans point into the original text.
    span = TEXTS[0][by_aspect["delivery_speed"].start : by_aspect["delivery_speed"].end]
    assert span and span in TEXTS[0]
    assert by_aspect["taste"].occurred_at == items["F0"].occurred_at
    # Nothing left to do: a second run analyses nothing.
    assert service.analyse_pending(db_session=db_session).analysed == 0


def test_changed_taxonomy_reanalyses_everything(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_items(db_session)
    first = service.analyse_pending(db_session=db_session)
    path = tmp_path / "restaurant.yaml"
    path.write_text(RESTAURANT, encoding="utf-8")
    monkeypatch.setenv("CXLOOP_TAXONOMY", str(path))
    get_settings.cache_clear()

    assert service.count_pending(db_session=db_session) == len(TEXTS)
    second = service.analyse_pending(db_session=db_session)

    assert second.analysis_key != first.analysis_key
    aspects = set(db_session.scalars(select(FeedbackAspect.aspect).distinct()))
    assert aspects <= {"taste", "waiting_time"}
    assert "waiting_time" in aspects
    total = db_session.scalar(select(func.count()).select_from(FeedbackAspect))
    assert total and total < 20  # old mentions were replaced, not added to
