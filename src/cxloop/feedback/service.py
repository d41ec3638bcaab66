"""Analysing feedback items with cxloop.text and storing the results beside them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from cxloop import clock
from cxloop.auth.redaction import redact_text, redact_text_and_names
from cxloop.config import get_settings
from cxloop.feedback.models import FeedbackAspect, FeedbackItem
from cxloop.feedback.schemas import FeedbackAspectRead, FeedbackRead

if TYPE_CHECKING:
    from cxloop.text import Analyzer


@dataclass(frozen=True)
class AnalysisRun:
    """What one pass of ``analyse_pending`` did."""

    analysed: int
    aspects: int
    analysis_key: str
    elapsed_s: float
    #: The earliest occurred_at among the analysed items: indicators must be refreshed from there.
    earliest: datetime | None = None


@lru_cache(maxsize=4)
def _analyzer_for(taxonomy_path: str | None) -> Analyzer:
    # Loading the model and compiling the taxonomy takes most of a second: do it once per process.
    from cxloop.taxonomy import active_taxonomy
    from cxloop.text import Analyzer

    return Analyzer(taxonomy=active_taxonomy())


def get_analyzer() -> Analyzer:
    """The process-wide analyser for the configured taxonomy."""
    path = get_settings().taxonomy
    # Keyed by the path so a settings change builds the analyser of the newly active taxonomy.
    return _analyzer_for(str(path) if path else None)


def analysis_key(analyzer: Analyzer | None = None) -> str:
    """'<model version>|<taxonomy version>': items carrying another key are analysed again."""
    analyzer = analyzer or get_analyzer()
    return f"{analyzer.model_version}|{analyzer.taxonomy.version}"


def count_pending(*, db_session: Session) -> int:
    """How many feedback items have no analysis by the current model and taxonomy."""
    key = analysis_key()
    stmt = select(func.count()).select_from(FeedbackItem).where(_stale(key))
    return int(db_session.execute(stmt).scalar_one())


def _stale(key: str) -> Any:
    return or_(FeedbackItem.analysis_key.is_(None), FeedbackItem.analysis_key != key)


def analyse_pending(
    *,
    db_session: Session,
    batch_size: int | None = None,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> AnalysisRun:
    """Analyse every item whose stored analysis is missing or made by another model/taxonomy.

    Works in batches, each committed, so an interrupted run resumes where it stopped and a
    second run right after finds nothing to do.
    """
    import time

    started = time.perf_counter()
    analyzer = get_analyzer()
    key = analysis_key(analyzer)
    batch_size = batch_size or get_settings().analysis_batch_size
    done = aspects_written = 0
    last_id = 0
    earliest: datetime | None = None
    while limit is None or done < limit:
        take = batch_size if limit is None else min(batch_size, limit - done)
        rows = db_session.execute(
            select(
                FeedbackItem.id,
                FeedbackItem.text,
                FeedbackItem.occurred_at,
                FeedbackItem.brand_id,
                FeedbackItem.channel,
                FeedbackItem.language,
            )
            .where(_stale(key), FeedbackItem.id > last_id)
            .order_by(FeedbackItem.id)
            .limit(take)
        ).all()
        if not rows:
            break
        aspects_written += _store(db_session, analyzer, key, rows)
        db_session.commit()
        low = min(row.occurred_at for row in rows)
        earliest = low if earliest is None or low < earliest else earliest
        done += len(rows)
        last_id = rows[-1].id
        if progress is not None:
            progress(len(rows))
    return AnalysisRun(done, aspects_written, key, time.perf_counter() - started, earliest)


def _store(db_session: Session, analyzer: Analyzer, key: str, rows: Sequence[Any]) -> int:
    results = analyzer.analyze([row.text for row in rows])
    now = clock.now()
    item_updates = []
    aspect_rows = []
    for row, result in zip(rows, results, strict=True):
        item_updates.append(
            {
                "b_id": row.id,
                "sentiment": result.sentiment,
                "sentiment_score": float(result.score),
                # A language given by the source system wins over our detection.
                "language": row.language or result.language,
                "analysis_key": key,
                "analysed_at": now,
            }
        )
        for mention in result.aspects:
            aspect_rows.append(
                {
                    "feedback_id": row.id,
                    "aspect": mention.aspect,
                    "sentiment": mention.sentiment,
                    "score": float(mention.score),
                    "start": int(mention.start),
                    "end": int(mention.end),
                    "occurred_at": row.occurred_at,
                    "brand_id": row.brand_id,
                    "channel": row.channel,
                }
            )
    ids = [row.id for row in rows]
    db_session.execute(delete(FeedbackAspect).where(FeedbackAspect.feedback_id.in_(ids)))
    stmt = (
        update(FeedbackItem)
        .where(FeedbackItem.id == bindparam("b_id"))
        .values(
            sentiment=bindparam("sentiment"),
            sentiment_score=bindparam("sentiment_score"),
            language=bindparam("language"),
            analysis_key=bindparam("analysis_key"),
            analysed_at=bindparam("analysed_at"),
        )
    )
    db_session.connection().execute(stmt, item_updates)
    if aspect_rows:
        db_session.execute(insert(FeedbackAspect), aspect_rows)
    return len(aspect_rows)


def get_item(*, db_session: Session, feedback_id: int) -> FeedbackItem | None:
    """One feedback item by its internal id."""
    return db_session.get(FeedbackItem, feedback_id)


def aspects_of(*, db_session: Session, feedback_id: int) -> list[FeedbackAspect]:
    """The stored aspect mentions of one item, in text order."""
    stmt = (
        select(FeedbackAspect).where(FeedbackAspect.feedback_id == feedback_id).order_by(FeedbackAspect.start)
    )
    return list(db_session.scalars(stmt))


class PersonalDataQuery(ValueError):
    """A search for personal data by a role that may not see it."""

    def __init__(self, query: str) -> None:
        super().__init__(
            f"q={redact_text(query)!r} looks like personal data (a name, phone number, email, WeChat id, address or "
            "a run of 5+ digits); your role sees it masked and cannot search for it"
        )


#: Five digits or more: enough of a phone number to confirm one.
_DIGIT_RUN = re.compile(r"\d(?:[\s-]?\d){4,}")


def looks_personal(query: str) -> bool:
    """Whether a search text would find personal data: the redactor changes it, or it has 5+ digits."""
    return redact_text(query) != query or _DIGIT_RUN.search(query) is not None


def search(
    *,
    db_session: Session,
    channel: str | None = None,
    sentiment: str | None = None,
    aspect: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
    personal_data: bool = True,
) -> tuple[int, list[FeedbackItem]]:
    """Feedback items matching the filters, newest first, with the total count.

    Without ``personal_data`` (a role that sees texts masked) a query that looks like personal data is
    refused with ``PersonalDataQuery``: searching for a phone number would otherwise confirm that a
    customer wrote it, although the text shown masks it.
    """
    if query and not personal_data and looks_personal(query):
        raise PersonalDataQuery(query)
    stmt = select(FeedbackItem)
    if channel:
        stmt = stmt.where(FeedbackItem.channel == channel)
    if sentiment:
        stmt = stmt.where(FeedbackItem.sentiment == sentiment)
    if since:
        stmt = stmt.where(FeedbackItem.occurred_at >= since)
    if until:
        stmt = stmt.where(FeedbackItem.occurred_at < until)
    if query:
        stmt = stmt.where(FeedbackItem.text.contains(query, autoescape=True))
    if aspect:
        stmt = stmt.where(
            FeedbackItem.id.in_(select(FeedbackAspect.feedback_id).where(FeedbackAspect.aspect == aspect))
        )
    total = int(db_session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    page = stmt.order_by(FeedbackItem.occurred_at.desc(), FeedbackItem.id.desc()).limit(limit).offset(offset)
    return total, list(db_session.scalars(page))


def aspects_by_item(*, db_session: Session, feedback_ids: Sequence[int]) -> dict[int, list[FeedbackAspect]]:
    """The aspect mentions of several items at once, keyed by item id."""
    found: dict[int, list[FeedbackAspect]] = {i: [] for i in feedback_ids}
    if feedback_ids:
        stmt = (
            select(FeedbackAspect)
            .where(FeedbackAspect.feedback_id.in_(list(feedback_ids)))
            .order_by(FeedbackAspect.feedback_id, FeedbackAspect.start)
        )
        for mention in db_session.scalars(stmt):
            found[mention.feedback_id].append(mention)
    return found


# --- personal data in what customers wrote -------------------------------------------------------------


def mask_spans(
    text: str, spans: Sequence[tuple[int, int]], names: Sequence[str | None] = ()
) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with names, phones, emails, WeChat ids and street addresses masked by the policy's
    ``redact_text`` (``names``: known names, such as the review's author), and ``spans`` (evidence
    offsets into ``text``) moved onto the same words.

    The names are found once in the whole text (jieba reads words in context); each stretch between
    span edges is then masked on its own for those names and for contact details, so the offsets can
    follow. Something that straddles an edge would then stay half visible, so that text is masked
    whole instead and each span is looked up in it (or emptied when its words changed).
    """
    whole, found = redact_text_and_names(text, names)

    def masked_piece(piece: str) -> str:
        return redact_text(piece, found, detect_names=False) or ""

    edges = sorted({0, len(text), *(max(0, min(len(text), e)) for span in spans for e in span)})
    moved = {0: 0}
    pieces: list[str] = []
    for start, end in pairwise(edges):
        pieces.append(masked_piece(text[start:end]))
        moved[end] = moved[start] + len(pieces[-1])
    masked = "".join(pieces)
    if masked == whole:
        return masked, [(moved[_clamp(a, text)], moved[_clamp(b, text)]) for a, b in spans]
    located = []
    for a, b in spans:
        words = masked_piece(text[a:b])
        at = whole.find(words) if words else -1
        located.append((at, at + len(words)) if at >= 0 else (0, 0))
    return whole, located


def _clamp(offset: int, text: str) -> int:
    return max(0, min(len(text), offset))


def item_read(item: FeedbackItem, mentions: Sequence[FeedbackAspect], *, personal_data: bool) -> FeedbackRead:
    """An item and its mentions as the API shows them: without ``personal_data`` (the policy's
    ``can_see_contact``), names, phones, emails, WeChat ids and addresses in its text and title are
    masked, the item's author's name wherever it appears."""
    read = FeedbackRead.model_validate(item)
    aspects = [FeedbackAspectRead.model_validate(a) for a in mentions]
    if personal_data:
        return read.model_copy(update={"aspects": aspects})
    # The author is on the row already; the linked customer's name would cost a query per item.
    known = (item.author,)
    text, spans = mask_spans(read.text, [(a.start, a.end) for a in aspects], known)
    return read.model_copy(
        update={
            "text": text,
            "title": redact_text(read.title, known),
            "aspects": [
                a.model_copy(update={"start": b, "end": e}) for a, (b, e) in zip(aspects, spans, strict=True)
            ],
        }
    )
