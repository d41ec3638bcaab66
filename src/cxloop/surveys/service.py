"""Surveys: definitions (YAML and editor), signed links, invitations with fatigue rules, answers into the loop.

Every decision lives here; the API, pages, CLI, jobs and the demo only parse, call and render.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from typing import cast as as_type

import yaml
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import ValidationError
from sqlalchemy import ColumnElement, Table, Text, bindparam, case, cast, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxloop.auth.redaction import redact_text
from cxloop.clock import now as clock_now
from cxloop.config import get_settings
from cxloop.customers.models import Customer
from cxloop.db import get_engine, session_scope
from cxloop.feedback.models import FeedbackAspect, FeedbackItem, SurveyResponse
from cxloop.loop.models import OPEN_CASE_STATUSES, Case
from cxloop.messaging.service import send_to_customer
from cxloop.orders.models import Order
from cxloop.surveys.models import Survey, SurveyInvitation
from cxloop.surveys.schemas import MAX_OPEN_LENGTH, InviteRequest, Question, SurveyDefinition

DEFAULTS_DIR = Path(__file__).with_name("defaults")
#: Survey keys shipped with cxloop (CONTRACTS.md); journeys invite with these.
DEFAULT_SURVEY_KEYS = ("after_delivery", "case_closed", "after_chat", "relationship_nps")
#: External id prefixes of what an answer on cxloop's page stores (imports use "survey:<id>").
RESPONSE_PREFIX = "cx:"
FEEDBACK_PREFIX = "survey:cx:"
_LINK_SALT = "cxloop.surveys.link"


# --- definitions --------------------------------------------------------------------------------------


class DefinitionError(ValueError):
    """A survey definition that cannot be used: where (file, line), what is wrong and what was expected."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        super().__init__("; ".join(_problem_text(p) for p in problems))


def _problem_text(problem: dict[str, Any]) -> str:
    where = problem.get("file") or "<input>"
    if problem.get("line"):
        where += f":{problem['line']}"
    field_path = f" {problem['field']}:" if problem.get("field") else ""
    return f"{where}:{field_path} {problem['expected']}"


def _node_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    """Map each path in the YAML document (keys and list indexes) to its 1-based line."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _node_lines(value_node, (*path, key), out)
            # The key's own line is more useful for "missing"/"extra" errors than the value's.
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*path, index), out)


def _line_for(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    # Pydantic adds pseudo-steps (a literal's value, a validator's name); the longest known prefix wins.
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def parse_definitions(text: str, *, source: str = "<input>") -> list[SurveyDefinition]:
    """Parse one survey (a mapping) or several (``surveys: [...]``) from YAML; all or nothing.

    Raises DefinitionError naming the file, line, field and what was expected.
    """
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(
            [
                {
                    "file": source,
                    "line": mark.line + 1 if mark else None,
                    "field": None,
                    "expected": f"valid YAML ({problem})",
                }
            ]
        ) from None
    lines: dict[tuple[Any, ...], int] = {}
    if root is not None:
        _node_lines(root, (), lines)
    base: tuple[Any, ...] = ()
    if isinstance(data, dict) and "surveys" in data and set(data) == {"surveys"}:
        items, base = data["surveys"], ("surveys",)
        if not isinstance(items, list):
            raise DefinitionError(
                [
                    {
                        "file": source,
                        "line": lines.get(base),
                        "field": "surveys",
                        "expected": "a list of surveys",
                    }
                ]
            )
    else:
        items = [data]
    problems: list[dict[str, Any]] = []
    out: list[SurveyDefinition] = []
    for index, item in enumerate(items):
        prefix = (*base, index) if base else ()
        if not isinstance(item, dict):
            problems.append(
                {
                    "file": source,
                    "line": lines.get(prefix),
                    "field": None,
                    "expected": "a survey: a mapping with key, name and questions",
                }
            )
            continue
        try:
            definition = SurveyDefinition.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors():
                loc = _question_loc(item, tuple(error["loc"]), error["msg"])
                problems.append(
                    {
                        "file": source,
                        "line": _line_for(lines, (*prefix, *loc)),
                        "field": ".".join(str(part) for part in loc) or None,
                        "expected": error["msg"].removeprefix("Value error, "),
                    }
                )
            continue
        for qi, question in enumerate(definition.questions):
            if question.aspect and question.aspect not in _aspect_ids():
                problems.append(
                    {
                        "file": source,
                        "line": _line_for(lines, (*prefix, "questions", qi, "aspect")),
                        "field": f"questions.{qi}.aspect",
                        "expected": f"an aspect of the taxonomy, not {question.aspect!r}",
                    }
                )
        out.append(definition)
    keys = [d.key for d in out]
    for key in {k for k in keys if keys.count(k) > 1}:
        problems.append(
            {"file": source, "line": None, "field": "key", "expected": f"unique keys ({key!r} twice)"}
        )
    if problems:
        raise DefinitionError(problems)
    return out


_QUESTION_IN_MESSAGE = re.compile(r"question '([a-z0-9_]+)'")


def _question_loc(item: dict[str, Any], loc: tuple[Any, ...], message: str) -> tuple[Any, ...]:
    """Errors about a question found by the survey-wide check point at that question, not the file's top."""
    match = _QUESTION_IN_MESSAGE.search(message) if not loc else None
    questions = item.get("questions")
    if match and isinstance(questions, list):
        for index, question in enumerate(questions):
            if isinstance(question, dict) and question.get("id") == match.group(1):
                found = (*loc, "questions", index)
                return (*found, "show_if") if "show_if" in message and "show_if" in question else found
    return loc


@lru_cache(maxsize=2)
def _aspect_ids_for(taxonomy_path: str | None) -> frozenset[str]:
    from cxloop.text.taxonomy import default_taxonomy, load_taxonomy

    taxonomy = load_taxonomy(taxonomy_path) if taxonomy_path else default_taxonomy()
    return frozenset(aspect.id for aspect in taxonomy.aspects)


def _aspect_ids() -> frozenset[str]:
    path = get_settings().taxonomy
    return _aspect_ids_for(str(path) if path else None)


def aspect_names(locale: str) -> dict[str, str]:
    """Aspect id -> name in ``locale`` from the configured taxonomy."""
    from cxloop.text.taxonomy import default_taxonomy, load_taxonomy

    path = get_settings().taxonomy
    taxonomy = load_taxonomy(path) if path else default_taxonomy()
    return {aspect.id: aspect.display_name(locale) for aspect in taxonomy.aspects}


def save_definition(*, db_session: Session, definition: SurveyDefinition, actor: str) -> tuple[Survey, str]:
    """Create or update the survey ``definition.key``; returns it and "created", "updated" or "unchanged"."""
    data = definition.model_dump(mode="json", exclude_none=True)
    survey = db_session.scalar(select(Survey).where(Survey.key == definition.key))
    if survey is None:
        survey = Survey(
            key=definition.key,
            name_zh=definition.name.zh,
            name_en=definition.name.en,
            active=definition.active,
            definition=data,
            version=1,
            updated_by=actor,
        )
        db_session.add(survey)
        db_session.flush()
        return survey, "created"
    if survey.definition == data:
        return survey, "unchanged"
    survey.definition = data
    survey.name_zh, survey.name_en = definition.name.zh, definition.name.en
    survey.active = definition.active
    survey.version += 1
    survey.updated_by = actor
    db_session.flush()
    return survey, "updated"


def load_text(*, db_session: Session, text: str, source: str, actor: str) -> dict[str, str]:
    """Validate every survey in ``text`` first, then save them all (a bad file changes nothing)."""
    definitions = parse_definitions(text, source=source)
    done = {}
    for definition in definitions:
        _, outcome = save_definition(db_session=db_session, definition=definition, actor=actor)
        done[definition.key] = outcome
    db_session.commit()
    return done


def save_text(*, db_session: Session, key: str, text: str, actor: str) -> tuple[Survey, str]:
    """Create or replace the survey ``key`` from one YAML/JSON document and commit; DefinitionError if wrong."""
    definitions = parse_definitions(text, source="request body")
    if len(definitions) != 1 or definitions[0].key != key:
        raise DefinitionError([{"field": "key", "expected": f"one survey whose key is {key!r}"}])
    survey, outcome = save_definition(db_session=db_session, definition=definitions[0], actor=actor)
    db_session.commit()
    return survey, outcome


def load_file(*, db_session: Session, path: Path, actor: str = "cli") -> dict[str, str]:
    """``cxloop surveys load FILE``: the surveys of a YAML file, refused whole when any is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(
            [{"file": str(path), "line": None, "field": None, "expected": f"a readable UTF-8 file ({exc})"}]
        ) from None
    return load_text(db_session=db_session, text=text, source=str(path), actor=actor)


def default_definitions() -> list[SurveyDefinition]:
    """The shipped surveys."""
    out = []
    for key in DEFAULT_SURVEY_KEYS:
        path = DEFAULTS_DIR / f"{key}.yaml"
        out.extend(parse_definitions(path.read_text(encoding="utf-8"), source=str(path)))
    return out


def ensure_default_surveys(*, db_session: Session) -> int:
    """Create the shipped surveys that are missing (an edited one is left as the business changed it)."""
    existing = set(db_session.scalars(select(Survey.key)))
    added = 0
    for definition in default_definitions():
        if definition.key not in existing:
            save_definition(db_session=db_session, definition=definition, actor="system")
            added += 1
    if added:
        db_session.commit()
    return added


def get_survey(*, db_session: Session, key: str) -> Survey | None:
    """The survey ``key`` or None."""
    return db_session.scalar(select(Survey).where(Survey.key == key))


def list_surveys(*, db_session: Session) -> list[Survey]:
    """Every survey, by key."""
    return list(db_session.scalars(select(Survey).order_by(Survey.key)))


@lru_cache(maxsize=256)
def _parsed(survey_id: int, version: int, raw: str) -> SurveyDefinition:
    return SurveyDefinition.model_validate_json(raw)


def definition_of(survey: Survey) -> SurveyDefinition:
    """The validated definition of a stored survey (parsed once per version)."""
    import json

    return _parsed(survey.id, survey.version, json.dumps(survey.definition, sort_keys=True))


def definition_yaml(definition: SurveyDefinition) -> str:
    """A definition as YAML for the editor (keys in their natural order, Chinese kept readable)."""
    data = definition.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    dumped: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)
    return dumped


# --- links ----------------------------------------------------------------------------------------------


class LinkError(Exception):
    """A link that cannot be answered: forged, expired, already answered, survey switched off, too many tries."""

    def __init__(self, reason: Literal["forged", "expired", "answered", "inactive", "rate_limited"]) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkPayload:
    """What a signed link says: which survey, which invitation (nonce), whether anonymous."""

    survey_key: str
    nonce: str | None
    anonymous: bool
    days: int


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(get_settings().secret_key)


@lru_cache(maxsize=4)
def _serializer_for(secret_key: str) -> URLSafeTimedSerializer:
    # Built once per key: every public request checks a token.
    return URLSafeTimedSerializer(secret_key, salt=_LINK_SALT)


def make_token(*, survey_key: str, nonce: str | None, days: int, anonymous: bool = False) -> str:
    """A signed, expiring token for a survey link (the nonce names one invitation; none: an anonymous link)."""
    payload: dict[str, Any] = {"s": survey_key, "d": days}
    if nonce:
        payload["n"] = nonce
    if anonymous:
        payload["a"] = 1
    token: str = _serializer().dumps(payload)
    return token


def read_token(token: str, *, now: datetime | None = None) -> LinkPayload:
    """Check a token's signature and age; raises LinkError("forged" / "expired")."""
    try:
        payload, signed_at = _serializer().loads(token, return_timestamp=True)
    except BadSignature:
        raise LinkError("forged") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), str):
        raise LinkError("forged")
    days = int(payload.get("d") or 14)
    # The signature's time is UTC-aware; stored times are naive in the business zone.
    signed_local = signed_at.astimezone(get_settings().tz).replace(tzinfo=None)
    if (now or clock_now()) > signed_local + timedelta(days=days):
        raise LinkError("expired")
    nonce = payload.get("n")
    return LinkPayload(
        survey_key=payload["s"],
        nonce=nonce if isinstance(nonce, str) else None,
        anonymous=bool(payload.get("a")),
        days=days,
    )


def link_url(token: str) -> str:
    """The public address of a survey token."""
    return f"{get_settings().base_url.rstrip('/')}/s/{token}"


def anonymous_link(*, survey: Survey) -> str:
    """A link anyone may answer (one answer per browser visit), e.g. printed as a QR code on a parcel insert."""
    token = make_token(
        survey_key=survey.key, nonce=None, days=get_settings().survey_anonymous_days, anonymous=True
    )
    return link_url(token)


def qr_svg(url: str, *, title: str = "") -> str:
    """The QR code of ``url`` as an SVG document (segno; error correction M survives print smudges)."""
    import io

    import segno

    qr = segno.make_qr(url, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=6, border=2, title=title or None, xmldecl=False)
    return buffer.getvalue().decode("utf-8")


# --- rate limits -------------------------------------------------------------------------------------------


class SlidingWindowCounter:
    """Requests per key in a sliding window, counted in this process's memory (see docs/surveys.md).

    The usual sliding-window-counter estimate: this fixed window's count plus the previous window's,
    weighted by how much of it still overlaps the sliding window. Two integers per key and no timer:
    the ``limits`` library's in-memory storage starts a thread to expire its entries, which cost more
    than the rest of an answer on the public page (bench/surveys.py).
    """

    #: Keys kept before the stale ones (older than the previous window) are swept.
    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], tuple[int, int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: tuple[str, str], amount: int, seconds: int, at: float | None = None) -> bool:
        """Count one request for ``key``; False (and not counted) when it would exceed ``amount``."""
        at = time.monotonic() if at is None else at
        window, offset = divmod(at, seconds)
        window_no = int(window)
        with self._lock:
            start, current, previous = self._counts.get(key, (window_no, 0, 0))
            if start != window_no:
                previous = current if start == window_no - 1 else 0
                current, start = 0, window_no
            if current + previous * (1 - offset / seconds) + 1 > amount:
                self._counts[key] = (start, current, previous)
                return False
            self._counts[key] = (start, current + 1, previous)
            if len(self._counts) > self.MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] >= window_no - 1}
        return True


_counter = SlidingWindowCounter()


def check_rate(*, token: str, address: str | None) -> None:
    """Count a request of the public page against its link and its client address; LinkError when over."""
    settings = get_settings()
    per_link = _rate_limit(settings.survey_rate_per_link)
    per_address = _rate_limit(settings.survey_rate_per_address)
    # The token's tail is its signature: unique per link and short enough to keep as a counter key.
    if not _counter.hit(("link", token[-27:]), *per_link):
        raise LinkError("rate_limited")
    if address and not _counter.hit(("address", address), *per_address):
        raise LinkError("rate_limited")


@lru_cache(maxsize=8)
def _rate_limit(text: str) -> tuple[int, int]:
    """A limit such as ``30/minute`` as (requests, window seconds), parsed once by the ``limits`` library."""
    from limits import parse

    item = parse(text)
    return int(item.amount), int(item.get_expiry())


def reset_rate_limits() -> None:
    """Forget every counter (tests, and after changing the limits)."""
    global _counter
    _counter = SlidingWindowCounter()


# --- invitations --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteResult:
    """What ``invite`` did: sent or skipped (with the reason), the invitation and its link."""

    sent: bool
    reason: str | None
    invitation_id: int | None = None
    link: str | None = None
    message_id: int | None = None


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)[:22]


def invitation_link(*, survey: Survey, invitation: SurveyInvitation) -> str:
    """The personal link of an invitation, valid until the invitation expires."""
    days = max(1, (invitation.expires_at - invitation.sent_at).days)
    token = make_token(survey_key=survey.key, nonce=invitation.nonce, days=days)
    return link_url(token)


def invite(
    session: Session,
    *,
    survey_key: str,
    customer_id: int,
    trigger: str,
    now: datetime,
    order_id: int | None = None,
    case_id: int | None = None,
    reminder: bool = False,
    commit: bool = False,
) -> InviteResult:
    """Invite a customer to a survey under the fatigue rules and send the link (CONTRACTS.md).

    Fatigue: at most one survey per customer per ``survey_fatigue_days`` days (a survey about a closed
    case excepted) and none while a case of theirs is open. A reminder re-sends the link of the same unanswered invitation instead.
    Journeys invite inside their own step's transaction; a caller acting alone passes ``commit=True``.
    """
    result = _invite(
        session,
        survey_key=survey_key,
        customer_id=customer_id,
        trigger=trigger,
        now=now,
        order_id=order_id,
        case_id=case_id,
        reminder=reminder,
    )
    if commit:
        session.commit()
    return result


def _invite(
    session: Session,
    *,
    survey_key: str,
    customer_id: int,
    trigger: str,
    now: datetime,
    order_id: int | None,
    case_id: int | None,
    reminder: bool,
) -> InviteResult:
    survey = get_survey(db_session=session, key=survey_key)
    if survey is None and survey_key in DEFAULT_SURVEY_KEYS:
        ensure_default_surveys(db_session=session)
        survey = get_survey(db_session=session, key=survey_key)
    if survey is None:
        return InviteResult(False, "unknown_survey")
    if not survey.active:
        return InviteResult(False, "inactive")
    customer = session.get(Customer, customer_id)
    if customer is None:
        return InviteResult(False, "unknown_customer")
    if reminder:
        return _remind(session, survey=survey, customer=customer, order_id=order_id, case_id=case_id, now=now)
    same = session.scalar(
        select(SurveyInvitation).where(
            SurveyInvitation.survey_id == survey.id,
            SurveyInvitation.customer_id == customer_id,
            SurveyInvitation.order_id.is_(None)
            if order_id is None
            else SurveyInvitation.order_id == order_id,
            SurveyInvitation.case_id.is_(None) if case_id is None else SurveyInvitation.case_id == case_id,
            SurveyInvitation.status != "skipped",
        )
    )
    if same is not None and (order_id is not None or case_id is not None):
        # Journeys may fire twice for one delivery; one order or case is asked about once.
        return InviteResult(
            False, "already_invited", same.id, invitation_link(survey=survey, invitation=same)
        )
    reason = _fatigue_reason(session, customer_id=customer_id, now=now, about_a_case=case_id is not None)
    definition = definition_of(survey)
    invitation = SurveyInvitation(
        survey_id=survey.id,
        nonce=_new_nonce(),
        customer_id=customer_id,
        order_id=order_id,
        case_id=case_id,
        trigger=trigger[:32],
        channel=customer.preferred_channel,
        tier=customer.tier,
        locale=customer.locale,
        status="skipped" if reason else "sent",
        skip_reason=reason,
        sent_at=now,
        expires_at=now + timedelta(days=definition.link_days),
    )
    session.add(invitation)
    session.flush()
    if reason:
        return InviteResult(False, reason, invitation.id)
    sent, skip, message_id, channel, link = _deliver(session, survey, invitation, customer, "invite", now)
    invitation.message_id = message_id
    invitation.channel = channel or invitation.channel
    if not sent:
        invitation.status, invitation.skip_reason = "skipped", skip
        session.flush()
        return InviteResult(False, skip, invitation.id, None, message_id)
    session.flush()
    return InviteResult(True, None, invitation.id, link, message_id)


def invite_customer(
    *, db_session: Session, survey_key: str, request: InviteRequest, now: datetime | None = None
) -> InviteResult:
    """Staff invite one customer now (API, CLI or a queued job): ``invite``, committed."""
    return invite(
        db_session,
        survey_key=survey_key,
        customer_id=request.customer_id,
        trigger=request.trigger,
        now=now or clock_now(),
        order_id=request.order_id,
        case_id=request.case_id,
        reminder=request.reminder,
        commit=True,
    )


def _fatigue_reason(
    session: Session, *, customer_id: int, now: datetime, about_a_case: bool = False
) -> str | None:
    # A survey about a case the customer raised (结案回访) closes their own complaint's loop: the
    # frequency cap for unsolicited surveys does not hold it back (the survey that revealed the problem
    # was usually days before); an open case still does, and each case is asked about once.
    days = 0 if about_a_case else get_settings().survey_fatigue_days
    if days:
        recent = session.scalar(
            select(SurveyInvitation.id)
            .where(
                SurveyInvitation.customer_id == customer_id,
                SurveyInvitation.status != "skipped",
                SurveyInvitation.sent_at > now - timedelta(days=days),
                SurveyInvitation.sent_at <= now,
            )
            .limit(1)
        )
        if recent is not None:
            return "fatigue"
    open_case = session.scalar(
        select(Case.id)
        .where(
            Case.customer_id == customer_id,
            Case.status.in_(OPEN_CASE_STATUSES),
            Case.opened_at <= now,
        )
        .limit(1)
    )
    return "open_case" if open_case is not None else None


def _remind(
    session: Session,
    *,
    survey: Survey,
    customer: Customer,
    order_id: int | None,
    case_id: int | None,
    now: datetime,
) -> InviteResult:
    query = select(SurveyInvitation).where(
        SurveyInvitation.survey_id == survey.id,
        SurveyInvitation.customer_id == customer.id,
        SurveyInvitation.status != "skipped",
    )
    if order_id is not None:
        query = query.where(SurveyInvitation.order_id == order_id)
    if case_id is not None:
        query = query.where(SurveyInvitation.case_id == case_id)
    invitation = session.scalar(query.order_by(SurveyInvitation.sent_at.desc()).limit(1))
    if invitation is None:
        return InviteResult(False, "not_invited")
    if invitation.status == "answered":
        return InviteResult(False, "answered", invitation.id)
    if invitation.expires_at <= now:
        return InviteResult(False, "expired", invitation.id)
    if invitation.reminded_at is not None:
        return InviteResult(False, "already_reminded", invitation.id)
    sent, skip, message_id, _, link = _deliver(session, survey, invitation, customer, "reminder", now)
    if not sent:
        return InviteResult(False, skip, invitation.id, None, message_id)
    invitation.reminded_at = now
    session.flush()
    return InviteResult(True, None, invitation.id, link, message_id)


def _deliver(
    session: Session,
    survey: Survey,
    invitation: SurveyInvitation,
    customer: Customer,
    kind: Literal["invite", "reminder"],
    now: datetime,
) -> tuple[bool, str | None, int | None, str | None, str]:
    """Hand the invitation's link to the customer's channel through the shared outbox (template
    ``survey.<kind>``): (sent, skip reason, message id, channel, link).

    Messaging applies its own rules (consent, quiet hours, no contact, an open case) and never sends
    twice for one dedupe key, so a retried journey step does not message the customer again.
    """
    link = invitation_link(survey=survey, invitation=invitation)
    locale = customer.locale if customer.locale in ("zh", "en") else None
    message = send_to_customer(
        session,
        customer_id=customer.id,
        template=f"survey.{kind}",
        context={"survey": survey.name_en if locale == "en" else survey.name_zh, "survey_link": link},
        purpose="service",
        source=f"survey:{survey.key}",
        dedupe_key=f"survey:{invitation.id}:{kind}",
        case_id=invitation.case_id,
        now=now,
    )
    if message.status == "skipped":
        return False, message.reason or "skipped", message.id, message.channel, link
    return True, None, message.id, message.channel, link


# --- the public page -------------------------------------------------------------------------------------------


@dataclass
class PublicForm:
    """What the public page shows: the survey's definition, its respondent token and the answers saved so far."""

    definition: SurveyDefinition
    token: str
    answers: dict[str, Any] = field(default_factory=dict)
    locale: str | None = None
    invitation_id: int | None = None


@dataclass(frozen=True)
class LinkTarget:
    """One invitation as an answer needs it: read in one query with its survey and order (the hot path)."""

    invitation_id: int
    survey_key: str
    active: bool
    status: str
    expires_at: datetime
    opened_at: datetime | None
    answered_at: datetime | None
    customer_id: int | None
    order_id: int | None
    order_ref: str | None
    brand_id: int | None
    locale: str | None
    partial: dict[str, Any] | None
    definition: SurveyDefinition


_INV = as_type(Table, SurveyInvitation.__table__)
_TARGET = (
    select(
        _INV.c.id,
        Survey.key,
        Survey.active,
        _INV.c.status,
        _INV.c.expires_at,
        _INV.c.opened_at,
        _INV.c.answered_at,
        _INV.c.customer_id,
        _INV.c.order_id,
        Order.external_id,
        Order.brand_id,
        _INV.c.locale,
        _INV.c.partial,
        # The definition as its stored text: parsed once per distinct text (see _definition_from_text).
        cast(Survey.definition, Text),
    )
    .join(Survey, Survey.id == _INV.c.survey_id)
    .outerjoin(Order, Order.id == _INV.c.order_id)
)


# The hot path's statements are built once: SQLAlchemy then reuses their compiled form.
_TARGET_BY_NONCE = _TARGET.where(_INV.c.nonce == bindparam("b_nonce"))
_TARGET_BY_ID = _TARGET.where(_INV.c.id == bindparam("b_id"))
_OPENED = (
    update(_INV)
    .where(_INV.c.id == bindparam("b_id"), _INV.c.opened_at.is_(None))
    .values(opened_at=bindparam("b_at"), updated_at=bindparam("b_at"), status="opened")
)


_TARGET_FIELDS = [f.name for f in dataclasses.fields(LinkTarget)][:-1]  # the columns of _TARGET, in order


@lru_cache(maxsize=64)
def _definition_from_text(raw: str) -> SurveyDefinition:
    return SurveyDefinition.model_validate_json(raw)


def _targets(conn: Connection, statement: Any, params: Mapping[str, Any] | None = None) -> list[LinkTarget]:
    out = []
    for row in conn.execute(statement, params or {}):
        *columns, definition = row
        out.append(
            LinkTarget(
                **dict(zip(_TARGET_FIELDS, columns, strict=True)),
                definition=_definition_from_text(definition),
            )
        )
    return out


def _target_by_nonce(conn: Connection, nonce: str | None) -> LinkTarget | None:
    found = _targets(conn, _TARGET_BY_NONCE, {"b_nonce": nonce}) if nonce else []
    return found[0] if found else None


def _check_answerable(target: LinkTarget, payload: LinkPayload, now: datetime) -> None:
    """The link's invitation can take an answer: its own survey, active, not answered, not expired."""
    if target.survey_key != payload.survey_key:
        raise LinkError("forged")
    if not target.active:
        raise LinkError("inactive")
    if target.status == "answered":
        raise LinkError("answered")
    if target.status == "skipped" or target.expires_at <= now:
        raise LinkError("expired")


def _survey_for(session: Session, payload: LinkPayload) -> Survey:
    survey = get_survey(db_session=session, key=payload.survey_key)
    if survey is None:
        raise LinkError("forged")
    if not survey.active:
        raise LinkError("inactive")
    return survey


def _invitation_for(
    session: Session, payload: LinkPayload, survey: Survey, now: datetime
) -> SurveyInvitation | None:
    if payload.nonce is None:
        return None
    invitation = session.scalar(select(SurveyInvitation).where(SurveyInvitation.nonce == payload.nonce))
    if invitation is None:
        if payload.anonymous:
            return None  # an anonymous respondent who has not saved anything yet
        raise LinkError("forged")
    if invitation.survey_id != survey.id:
        raise LinkError("forged")
    if invitation.status == "answered":
        raise LinkError("answered")
    if invitation.status == "skipped" or invitation.expires_at <= now:
        raise LinkError("expired")
    return invitation


def open_public_link(*, token: str, now: datetime | None = None) -> PublicForm:
    """``open_link`` for the public page: a personal link in one short transaction on a pooled connection.

    No ORM session: the public page is the hot path (bench/surveys.py); other links take ``open_link``.
    """
    now = now or clock_now()
    payload = read_token(token, now=now)
    with _engine().begin() as conn:
        target = _target_by_nonce(conn, payload.nonce)
        if target is not None:
            return _opened(conn, target, payload, token, now)
    with session_scope() as session:
        return open_link(db_session=session, token=token, now=now)


_engine_for: tuple[object, Engine] | None = None


def _engine() -> Engine:
    """The settings' engine, found once per settings object (its URL is resolved on the file system)."""
    global _engine_for
    settings = get_settings()
    if _engine_for is None or _engine_for[0] is not settings:
        _engine_for = (settings, get_engine())
    return _engine_for[1]


def _opened(
    conn: Connection, target: LinkTarget, payload: LinkPayload, token: str, now: datetime
) -> PublicForm:
    _check_answerable(target, payload, now)
    if target.opened_at is None:
        conn.execute(_OPENED, {"b_id": target.invitation_id, "b_at": now})
    return PublicForm(
        target.definition,
        token,
        answers=dict(target.partial or {}),
        locale=target.locale,
        invitation_id=target.invitation_id,
    )


def open_link(*, db_session: Session, token: str, now: datetime | None = None) -> PublicForm:
    """Check a link and return the form to show; an anonymous link gets a fresh respondent token."""
    now = now or clock_now()
    payload = read_token(token, now=now)
    target = _target_by_nonce(db_session.connection(), payload.nonce)
    if target is None:
        # A shared link (QR code), or an anonymous respondent who has saved nothing yet.
        survey = _survey_for(db_session, payload)
        if not payload.anonymous:
            raise LinkError("forged")
        if payload.nonce is None:
            # Each visit of a shared link answers once, through a token of its own.
            token = make_token(survey_key=survey.key, nonce=_new_nonce(), days=7, anonymous=True)
        return PublicForm(definition_of(survey), token)
    form = _opened(db_session.connection(), target, payload, token, now)
    db_session.commit()
    return form


class AnswerError(ValueError):
    """Answers that do not fit their questions: question id -> message key and values for the message."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.errors = errors
        super().__init__(", ".join(f"{qid}: {key}" for qid, (key, _) in errors.items()))


def _values(raw: Any) -> list[Any]:
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return [v for v in raw if v not in (None, "")]
    return [] if raw == "" else [raw]


def _clean_one(question: Question, raw: Any) -> tuple[Any, tuple[str, dict[str, Any]] | None]:
    """One answer checked against its question: (clean value or None, error)."""
    values = _values(raw)
    if not values:
        return None, None
    if question.scored:
        low, high = question.scale()
        if len(values) != 1:
            return None, ("one_value", {})
        value = values[0]
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            return None, ("out_of_range", {"low": low, "high": high, "value": str(value)[:20]})
        return number, None
    if question.kind == "single":
        allowed = {o.value for o in question.options or []}
        if len(values) != 1 or str(values[0]) not in allowed:
            return None, ("unknown_option", {})
        return str(values[0]), None
    if question.kind == "multiple":
        allowed_order = [o.value for o in question.options or []]
        chosen = {str(v) for v in values}
        if not chosen <= set(allowed_order):
            return None, ("unknown_option", {})
        return [v for v in allowed_order if v in chosen], None
    # open text
    if len(values) != 1 or not isinstance(values[0], str):
        return None, ("one_value", {})
    text = values[0].replace("\r\n", "\n").strip()
    if len(text) > MAX_OPEN_LENGTH:
        return None, ("too_long", {"max": MAX_OPEN_LENGTH})
    return (text or None), None


def clean_answers(definition: SurveyDefinition, raw: Mapping[str, Any], *, complete: bool) -> dict[str, Any]:
    """Answers checked against the survey: unknown fields dropped, skipped questions dropped, errors raised.

    ``complete`` also requires every required question that the skip logic shows.
    """
    clean: dict[str, Any] = {}
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    for question in definition.questions:
        if question.show_if is not None and not question.show_if.matches(
            clean.get(question.show_if.question)
        ):
            continue  # skipped by the skip logic: whatever was sent for it is not kept
        value, error = _clean_one(question, raw.get(question.id))
        if error is not None:
            errors[question.id] = error
        elif value is not None:
            clean[question.id] = value
        elif complete and question.required:
            errors[question.id] = ("required", {})
    if errors:
        raise AnswerError(errors)
    return clean


def visible_questions(definition: SurveyDefinition, answers: Mapping[str, Any]) -> list[Question]:
    """The questions the skip logic shows for ``answers``."""
    shown = []
    for question in definition.questions:
        if question.show_if is None or question.show_if.matches(answers.get(question.show_if.question)):
            shown.append(question)
    return shown


def _respondent_invitation(
    session: Session, payload: LinkPayload, survey: Survey, now: datetime, *, locale: str | None
) -> SurveyInvitation:
    invitation = _invitation_for(session, payload, survey, now)
    if invitation is not None:
        return invitation
    if not payload.anonymous or payload.nonce is None:
        raise LinkError("forged")
    # First save of an anonymous respondent: the unique nonce makes a double click create one row.
    invitation = SurveyInvitation(
        survey_id=survey.id,
        nonce=payload.nonce,
        trigger="anonymous",
        channel="link",
        locale=locale,
        status="opened",
        sent_at=now,
        opened_at=now,
        expires_at=now + timedelta(days=payload.days),
    )
    try:
        with session.begin_nested():
            session.add(invitation)
            session.flush()
    except IntegrityError:
        found = session.scalar(select(SurveyInvitation).where(SurveyInvitation.nonce == payload.nonce))
        if found is None:
            raise
        if found.status == "answered":
            raise LinkError("answered") from None
        return found
    return invitation


def save_progress(
    *,
    db_session: Session,
    token: str,
    raw: Mapping[str, Any],
    locale: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Keep the answers given so far, so a customer who leaves halfway finds them when coming back."""
    now = now or clock_now()
    payload = read_token(token, now=now)
    survey = _survey_for(db_session, payload)
    definition = definition_of(survey)
    clean = clean_answers(definition, raw, complete=False)
    invitation = _respondent_invitation(db_session, payload, survey, now, locale=locale)
    db_session.execute(
        update(SurveyInvitation)
        .where(SurveyInvitation.id == invitation.id, SurveyInvitation.status != "answered")
        .values(partial=clean, status="partial", locale=locale or invitation.locale)
        .execution_options(synchronize_session=False)
    )
    db_session.commit()
    return clean


def save_public_progress(*, token: str, raw: Mapping[str, Any], locale: str | None = None) -> dict[str, Any]:
    """``save_progress`` in a transaction of its own (the public page has no request session)."""
    with session_scope() as session:
        return save_progress(db_session=session, token=token, raw=raw, locale=locale)


def public_definition(*, token: str) -> SurveyDefinition:
    """The definition of the survey a valid token names, to show its form again with the errors."""
    with session_scope() as session:
        return definition_of(_survey_for(session, read_token(token)))


@dataclass(frozen=True)
class SubmitResult:
    """What an answer did: the invitation, responses stored, the feedback item and any case opened.

    On the public page the case opens a moment later (``follow_up_answers``), so ``case_id`` is None there.
    """

    invitation_id: int
    responses: int
    feedback_id: int | None
    case_id: int | None
    thanks: str


def _score5(question: Question, value: int) -> int:
    """A CSAT/aspect score on the 1..5 scale the indicators use (a 3-point scale maps 1, 3, 5)."""
    points = question.points or 5
    if points == 5:
        return value
    return round(1 + (value - 1) * 4 / (points - 1))


def submit(
    *,
    db_session: Session,
    token: str,
    raw: Mapping[str, Any],
    locale: str | None = None,
    now: datetime | None = None,
) -> SubmitResult:
    """Store a complete answer once: its responses and a feedback item for text, in one short transaction.

    What follows an answer (a recovery case for a low score, the indicators marked stale) is left in the
    answer's outbox (``follow_up_pending``) for the ``surveys.follow_up`` job: off the request's path.
    """
    now = now or clock_now()
    payload = read_token(token, now=now)
    conn = db_session.connection()
    target = _target_by_nonce(conn, payload.nonce)
    if target is None:
        # The first answer of an anonymous respondent creates its invitation.
        survey = _survey_for(db_session, payload)
        _complete(definition_of(survey), raw)
        invitation = _respondent_invitation(db_session, payload, survey, now, locale=locale)
        target = _targets(conn, _TARGET_BY_ID, {"b_id": invitation.id})[0]
    return _answer_in(db_session, target, payload, raw, locale=locale, now=now)


def submit_answer(
    *, token: str, raw: Mapping[str, Any], locale: str | None = None, now: datetime | None = None
) -> SubmitResult:
    """``submit`` for the public page: a personal link's answer in one short transaction, no ORM session.

    The hot path of the public endpoint (bench/surveys.py); anonymous respondents take ``submit``.
    """
    now = now or clock_now()
    payload = read_token(token, now=now)
    with _engine().begin() as conn:  # commits at the end, rolls back on any error
        target = _target_by_nonce(conn, payload.nonce)
        if target is not None:
            _check_answerable(target, payload, now)
            return _answer(conn, target, _complete(target.definition, raw), locale=locale, now=now)
    with session_scope() as session:
        return submit(db_session=session, token=token, raw=raw, locale=locale, now=now)


def _complete(definition: SurveyDefinition, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A complete answer checked against its survey; an empty one is refused like a missing required one."""
    clean = clean_answers(definition, raw, complete=True)
    if not clean:
        raise AnswerError({definition.questions[0].id: ("required", {})})
    return clean


def _answer_in(
    session: Session,
    target: LinkTarget,
    payload: LinkPayload | None,
    raw: Mapping[str, Any],
    *,
    locale: str | None,
    now: datetime,
    complete: bool = True,
) -> SubmitResult:
    """Check and store an answer in ``session``'s transaction and commit it (rolled back when refused)."""
    try:
        if payload is not None:
            _check_answerable(target, payload, now)
        clean = (
            _complete(target.definition, raw)
            if complete
            else clean_answers(target.definition, raw, complete=True)
        )
        result = _answer(session.connection(), target, clean, locale=locale, now=now)
    except (LinkError, AnswerError):
        session.rollback()
        raise
    session.commit()
    return result


def answer_invitation(
    *,
    db_session: Session,
    invitation_id: int,
    raw: Mapping[str, Any],
    locale: str | None = None,
    now: datetime,
    follow_up: bool = True,
) -> SubmitResult:
    """Record an answer for an invitation without its link (answers taken by phone, the demo's customers).

    Its follow-up runs at once (the recovery case is in the result); ``follow_up=False`` leaves the
    indicators unmarked for a caller that refreshes everything afterwards (the demo).
    """
    found = _targets(db_session.connection(), _TARGET_BY_ID, {"b_id": invitation_id})
    if not found:
        raise LinkError("forged")
    result = _answer_in(db_session, found[0], None, raw, locale=locale, now=now, complete=False)
    cases = follow_up_answers(db_session=db_session, invitation_ids=[invitation_id], mark_stale=follow_up)
    return dataclasses.replace(result, case_id=cases.get(invitation_id))


_INSERT_RESPONSES = insert(as_type(Table, SurveyResponse.__table__))
_INSERT_FEEDBACK = insert(as_type(Table, FeedbackItem.__table__))
_SET_FEEDBACK = (
    update(_INV)
    .where(_INV.c.id == bindparam("b_id"))
    .values(feedback_id=bindparam("b_feedback"), updated_at=bindparam("b_at"))
)
_CLAIM = (
    update(_INV)
    .where(_INV.c.id == bindparam("b_id"), _INV.c.status != "answered")
    .values(
        status="answered",
        answered_at=bindparam("b_at"),
        updated_at=bindparam("b_at"),
        partial=None,
        locale=bindparam("b_locale"),
        follow_up_pending=True,
    )
)


def _answer(
    conn: Connection, target: LinkTarget, clean: dict[str, Any], *, locale: str | None, now: datetime
) -> SubmitResult:
    """Store an answer in ``conn``'s transaction (the caller commits): claim, feedback item, responses."""
    definition = target.definition
    # The claim: only one request can move this invitation to "answered" (a reused or double-posted
    # link loses here, whatever the timing). It also writes the answer's outbox flag.
    claimed = conn.execute(
        _CLAIM, {"b_id": target.invitation_id, "b_at": now, "b_locale": locale or target.locale}
    )
    if claimed.rowcount != 1:
        raise LinkError("answered")
    rows, texts = _response_rows(target, clean, now)
    feedback_id: int | None = None
    if texts:
        csat = next((q for q in definition.questions if q.kind == "csat" and q.id in clean), None)
        stored = conn.execute(
            _INSERT_FEEDBACK,
            {
                "external_id": f"{FEEDBACK_PREFIX}{target.invitation_id}",
                "channel": "survey",
                "text": "\n".join(texts),
                "title": definition.name.zh,
                "rating": _score5(csat, clean[csat.id]) if csat else None,
                "occurred_at": now,
                "customer_id": target.customer_id,
                "order_id": target.order_id,
                "order_ref": target.order_ref,
                "brand_id": target.brand_id,
                "touchpoint": definition.touchpoint,
                # Given, not defaulted: the column default would read the clock once per column.
                "created_at": now,
                "updated_at": now,
            },
        ).inserted_primary_key
        assert stored is not None  # a single-row insert always reports its key
        feedback_id = int(stored[0])
        conn.execute(_SET_FEEDBACK, {"b_id": target.invitation_id, "b_feedback": feedback_id, "b_at": now})
        for row in rows:
            if row["kind"] == "open":
                row["feedback_id"] = feedback_id
    if rows:  # one multi-row insert: the public endpoint's hot path, measured by bench/surveys.py
        conn.execute(_INSERT_RESPONSES, rows)
    thanks = definition.thanks.get(locale or "zh") if definition.thanks else ""
    return SubmitResult(target.invitation_id, len(rows), feedback_id, None, thanks)


def _response_rows(
    target: LinkTarget, clean: Mapping[str, Any], now: datetime
) -> tuple[list[dict[str, Any]], list[str]]:
    """One survey response per answered question (scores on the indicators' scales), and the texts."""
    definition = target.definition
    texts: list[str] = []
    rows: list[dict[str, Any]] = []
    for question in definition.questions:
        if question.id not in clean:
            continue
        value = clean[question.id]
        score: int | None = None
        comment: str | None = None
        if question.scored:
            score = _score5(question, value) if question.kind in ("csat", "aspect") else int(value)
        elif question.kind == "multiple":
            comment = ",".join(value)
        else:
            comment = str(value)
            if question.kind == "open":
                texts.append(comment)
        rows.append(
            {
                "external_id": f"{RESPONSE_PREFIX}{target.invitation_id}:{question.id}",
                "survey": target.survey_key,
                "kind": question.kind,
                "score": score,
                "comment": comment,
                "responded_at": now,
                "customer_id": target.customer_id,
                "order_id": target.order_id,
                "order_ref": target.order_ref,
                "brand_id": target.brand_id,
                "touchpoint": definition.touchpoint,
                "invitation_id": target.invitation_id,
                "question": question.id,
                "aspect": question.aspect,
                "feedback_id": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows, texts


def detractor_reasons(definition: SurveyDefinition, clean: Mapping[str, Any]) -> list[str]:
    """Which answers fall at or below the survey's case rules (e.g. "csat 1/5")."""
    rules = definition.case_rules
    if not rules.enabled:
        return []
    limits = {"csat": rules.csat_max, "nps": rules.nps_max, "ces": rules.ces_max, "aspect": rules.aspect_max}
    reasons = []
    for question in definition.questions:
        limit = limits.get(question.kind)
        value = clean.get(question.id)
        if limit is None or not isinstance(value, int):
            continue
        score = _score5(question, value) if question.kind in ("csat", "aspect") else value
        if score <= limit:
            high = question.scale()[1]
            reasons.append(f"{question.kind} {value}/{high}")
    return reasons


# --- follow-up of answers (the outbox) ------------------------------------------------------------------------


def _stored_value(question: Question, score: int | None, comment: str | None) -> Any:
    """An answer as the customer gave it, back from its stored response (scores on the question's scale)."""
    if question.scored:
        if score is None:
            return None
        points = question.points or 5
        if question.kind in ("csat", "aspect") and points != 5:
            return round(1 + (score - 1) * (points - 1) / 4)
        return score
    if question.kind == "multiple":
        return (comment or "").split(",")
    return comment


def follow_up_answers(
    *,
    db_session: Session,
    invitation_ids: Sequence[int] | None = None,
    limit: int = 500,
    mark_stale: bool = True,
) -> dict[int, int | None]:
    """What follows answers, once each: a recovery case for a low score, and the indicators marked stale.

    Reads the answers' outbox (``follow_up_pending``) and clears it in the transaction that opens the
    cases, so a crash in between repeats the batch rather than losing or doubling it. The stale mark is
    set first, and setting it twice is harmless. Returns invitation id -> the case opened (or None).
    """
    inv = SurveyInvitation
    query = select(inv.id, inv.answered_at).where(inv.follow_up_pending.is_(True))
    if invitation_ids is not None:
        query = query.where(inv.id.in_(list(invitation_ids)))
    pending = db_session.execute(query.order_by(inv.id).limit(limit)).all()
    db_session.commit()  # ends the read before another session marks the indicators
    if not pending:
        return {}
    if mark_stale:
        from cxloop.db import session_scope
        from cxloop.system.service import mark_stale as mark_indicators_stale

        earliest = min((at for _, at in pending if at is not None), default=clock_now())
        # Answers count in the indicators the same day: the scheduled ``pipeline.after_data`` refreshes
        # from this day on and analyses the new text (the stale mark lives in system, below surveys).
        day = earliest.replace(hour=0, minute=0, second=0, microsecond=0)
        with session_scope() as stale_session:
            mark_indicators_stale(db_session=stale_session, since=day)
    claimed = list(
        db_session.scalars(
            update(inv)
            .where(inv.id.in_([row.id for row in pending]), inv.follow_up_pending.is_(True))
            .values(follow_up_pending=False)
            .returning(inv.id)
            .execution_options(synchronize_session=False)
        )
    )
    out: dict[int, int | None] = dict.fromkeys(claimed)
    if not claimed:
        return out
    given: dict[int, dict[str, tuple[int | None, str | None, int | None]]] = defaultdict(dict)
    for iid, qid, score, comment, feedback_id in db_session.execute(
        select(
            SurveyResponse.invitation_id,
            SurveyResponse.question,
            SurveyResponse.score,
            SurveyResponse.comment,
            SurveyResponse.feedback_id,
        ).where(SurveyResponse.invitation_id.in_(claimed))
    ):
        if iid is not None and qid is not None:  # always set for answers given on the page
            given[iid][qid] = (score, comment, feedback_id)
    for target in _targets(db_session.connection(), _TARGET.where(_INV.c.id.in_(claimed))):
        stored = given.get(target.invitation_id, {})
        clean = {}
        for question in target.definition.questions:
            if question.id in stored:
                score, comment, _ = stored[question.id]
                clean[question.id] = _stored_value(question, score, comment)
        feedback_id = next((f for _, _, f in stored.values() if f is not None), None)
        case_id = _recovery_case(db_session, target, clean, feedback_id)
        if case_id is not None:
            out[target.invitation_id] = case_id
            db_session.execute(
                update(inv)
                .where(inv.id == target.invitation_id)
                .values(recovery_case_id=case_id)
                .execution_options(synchronize_session=False)
            )
    db_session.commit()
    return out


def _recovery_case(
    session: Session, target: LinkTarget, clean: Mapping[str, Any], feedback_id: int | None
) -> int | None:
    """Detractor recovery: a low score opens a complaint case, like the loop's case rules do for feedback."""
    definition = target.definition
    reasons = detractor_reasons(definition, clean)
    if not reasons:
        return None
    from cxloop.loop.cases.service import create_case

    rules = definition.case_rules
    texts = [str(clean[q.id]) for q in definition.questions if q.kind == "open" and clean.get(q.id)]
    said = " ".join(texts).replace("\n", " ").strip()
    title = f"{definition.name.zh}: {', '.join(reasons)}" + (f" — {said[:60]}" if said else "")
    lines = [
        f"{question.text.zh}: {clean[question.id]}"
        for question in definition.questions
        if question.id in clean
    ]
    case = create_case(
        db_session=session,
        title=title,
        description="\n".join(lines),
        feedback_id=feedback_id,
        order_id=target.order_id,
        customer_id=target.customer_id,
        priority=rules.priority,
        department=rules.department,
        source="survey",
        actor="system",
        opened_at=target.answered_at,
        commit=False,
    )
    return case.id


# --- figures -----------------------------------------------------------------------------------------------------


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _rate(answered: int, invited: int) -> float | None:
    return answered / invited if invited else None


def empty_figures() -> dict[str, Any]:
    """The figures of a survey nobody was asked yet."""
    return {"invited": 0, "answered": 0, "response_rate": None, "csat": None, "nps": None, "ces": None}


def survey_figures(
    *, db_session: Session, survey_ids: Iterable[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Per survey: invited, answered, response rate, CSAT (share 4-5), NPS and mean CES."""
    inv = SurveyInvitation
    query = (
        select(
            inv.survey_id,
            func.count(),
            _count_if(inv.status == "answered"),
        )
        .where(inv.status != "skipped")
        .group_by(inv.survey_id)
    )
    out: dict[int, dict[str, Any]] = defaultdict(empty_figures)
    for survey_id, invited, answered in db_session.execute(query):
        out[survey_id].update(
            invited=int(invited),
            answered=int(answered or 0),
            response_rate=_rate(int(answered or 0), int(invited)),
        )
    keys = {s.key: s.id for s in db_session.scalars(select(Survey))}
    resp = SurveyResponse
    scores = db_session.execute(
        select(resp.survey, resp.kind, resp.score, func.count())
        .where(
            resp.invitation_id.is_not(None), resp.score.is_not(None), resp.kind.in_(("csat", "nps", "ces"))
        )
        .group_by(resp.survey, resp.kind, resp.score)
    )
    dist: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    for key, kind, score, n in scores:
        dist[(key, kind)][int(score or 0)] += int(n)
    for (key, kind), counter in dist.items():
        if key in keys:
            out[keys[key]][kind] = score_summary(kind, counter)
    wanted = set(survey_ids) if survey_ids is not None else None
    return {k: v for k, v in out.items() if wanted is None or k in wanted}


def score_summary(kind: str, counter: Mapping[int, int]) -> float | None:
    """CSAT: share of 4-5; NPS: promoters minus detractors (-100..100); CES: mean (1..7, higher is easier)."""
    n = sum(counter.values())
    if not n:
        return None
    if kind == "csat":
        return sum(c for s, c in counter.items() if s >= 4) / n
    if kind == "nps":
        promoters = sum(c for s, c in counter.items() if s >= 9)
        detractors = sum(c for s, c in counter.items() if s <= 6)
        return 100.0 * (promoters - detractors) / n
    return sum(s * c for s, c in counter.items()) / n


@dataclass
class SurveyResults:
    """Everything the results page shows for one survey."""

    distribution: dict[str, dict[int, int]]
    trend: list[dict[str, Any]]
    aspects: list[dict[str, Any]]
    choices: dict[str, dict[str, int]]
    open_answers: list[dict[str, Any]]
    rates: dict[str, list[dict[str, Any]]]
    bias: list[dict[str, Any]]
    invited: int
    answered: int
    recovery_cases: int


def survey_results(
    *,
    db_session: Session,
    survey: Survey,
    locale: str = "zh",
    open_limit: int = 50,
    personal_data: bool = True,
) -> SurveyResults:
    """Score distribution, weekly trend, answers by aspect, open answers with their analysis, rates, bias.

    Without ``personal_data`` (a reader who may not see customers' contact details) the open answers'
    names, phones, emails, WeChat ids and addresses are masked.
    """
    definition = definition_of(survey)
    resp = SurveyResponse
    mine = (resp.survey == survey.key, resp.invitation_id.is_not(None))
    distribution: dict[str, dict[int, int]] = {}
    for question in definition.questions:
        if question.scored:
            low, high = question.scale()
            distribution[question.id] = dict.fromkeys(range(low, high + 1), 0)
    choices: dict[str, dict[str, int]] = {
        q.id: {o.value: 0 for o in q.options or []} for q in definition.questions if q.options
    }
    scores5 = {q.id for q in definition.questions if q.kind in ("csat", "aspect") and (q.points or 5) != 5}
    raw_rows = db_session.execute(
        select(resp.question, resp.score, resp.comment).where(*mine, resp.kind != "open")
    )
    for qid, score, comment in raw_rows:
        if qid in distribution and score is not None:
            asked = definition.question(qid)
            value = int(score)
            if qid in scores5 and asked is not None:
                # Stored on the 1..5 scale; shown on the question's own.
                points = asked.points or 5
                value = round(1 + (value - 1) * (points - 1) / 4)
            distribution[qid][value] = distribution[qid].get(value, 0) + 1
        elif qid in choices and comment:
            for choice in comment.split(","):
                if choice in choices[qid]:
                    choices[qid][choice] += 1
    trend = _trend(db_session, survey, definition)
    aspects = _aspect_answers(db_session, survey, definition, locale)
    open_answers = _open_answers(db_session, survey, locale, open_limit)
    if not personal_data:
        open_answers = [{**a, "text": redact_text(a["text"])} for a in open_answers]
    rates = response_rates(db_session=db_session, survey=survey)
    bias = nonresponse_bias(db_session=db_session, survey=survey)
    inv = SurveyInvitation
    invited = (
        db_session.scalar(select(func.count()).where(inv.survey_id == survey.id, inv.status != "skipped"))
        or 0
    )
    answered = (
        db_session.scalar(select(func.count()).where(inv.survey_id == survey.id, inv.status == "answered"))
        or 0
    )
    cases = (
        db_session.scalar(
            select(func.count()).where(inv.survey_id == survey.id, inv.recovery_case_id.is_not(None))
        )
        or 0
    )
    return SurveyResults(
        distribution,
        trend,
        aspects,
        choices,
        open_answers,
        rates,
        bias,
        int(invited),
        int(answered),
        int(cases),
    )


def _trend(session: Session, survey: Survey, definition: SurveyDefinition) -> list[dict[str, Any]]:
    """Per week (Monday): answers and the headline score of each scored kind."""
    resp = SurveyResponse
    rows = session.execute(
        select(resp.kind, resp.score, resp.responded_at).where(
            resp.survey == survey.key,
            resp.invitation_id.is_not(None),
            resp.score.is_not(None),
            resp.kind.in_(("csat", "nps", "ces")),
        )
    )
    weeks: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    for kind, score, at in rows:
        monday = (at - timedelta(days=at.weekday())).date().isoformat()
        weeks[monday][kind][int(score or 0)] += 1
    out = []
    for week in sorted(weeks):
        point: dict[str, Any] = {"week": week}
        for kind, counter in weeks[week].items():
            point[kind] = score_summary(kind, counter)
            point[f"{kind}_n"] = sum(counter.values())
        out.append(point)
    return out


def _aspect_answers(
    session: Session, survey: Survey, definition: SurveyDefinition, locale: str
) -> list[dict[str, Any]]:
    """Aspect questions' mean score, and the aspects the analysis found in the open answers."""
    names = aspect_names(locale)
    resp = SurveyResponse
    out: dict[str, dict[str, Any]] = {}
    for aspect, n, mean, low in session.execute(
        select(
            resp.aspect,
            func.count(),
            func.avg(resp.score),
            _count_if(resp.score <= 2),
        )
        .where(resp.survey == survey.key, resp.invitation_id.is_not(None), resp.kind == "aspect")
        .group_by(resp.aspect)
    ):
        out[aspect] = {
            "aspect": aspect,
            "name": names.get(aspect, aspect),
            "asked": int(n),
            "mean": float(mean or 0),
            "low": int(low or 0),
            "mentions": 0,
            "negative": 0,
            "positive": 0,
        }
    item, asp = FeedbackItem, FeedbackAspect
    query = (
        select(asp.aspect, asp.sentiment, func.count())
        .join(item, item.id == asp.feedback_id)
        .join(SurveyInvitation, SurveyInvitation.feedback_id == item.id)
        .where(SurveyInvitation.survey_id == survey.id)
        .group_by(asp.aspect, asp.sentiment)
    )
    for aspect, sentiment, n in session.execute(query):
        entry = out.setdefault(
            aspect,
            {
                "aspect": aspect,
                "name": names.get(aspect, aspect),
                "asked": 0,
                "mean": None,
                "low": 0,
                "mentions": 0,
                "negative": 0,
                "positive": 0,
            },
        )
        entry["mentions"] += int(n)
        if sentiment in ("negative", "positive"):
            entry[sentiment] += int(n)
    return sorted(out.values(), key=lambda e: (-(e["mentions"] + e["asked"]), e["aspect"]))


def _open_answers(session: Session, survey: Survey, locale: str, limit: int) -> list[dict[str, Any]]:
    names = aspect_names(locale)
    inv, item = SurveyInvitation, FeedbackItem
    rows = session.execute(
        select(item.id, item.text, item.sentiment, item.rating, item.occurred_at, inv.recovery_case_id)
        .join(inv, inv.feedback_id == item.id)
        .where(inv.survey_id == survey.id)
        .order_by(item.occurred_at.desc(), item.id.desc())
        .limit(limit)
    ).all()
    ids = [row.id for row in rows]
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        for fid, aspect, sentiment in session.execute(
            select(FeedbackAspect.feedback_id, FeedbackAspect.aspect, FeedbackAspect.sentiment).where(
                FeedbackAspect.feedback_id.in_(ids)
            )
        ):
            found[fid].append({"aspect": aspect, "name": names.get(aspect, aspect), "sentiment": sentiment})
    return [
        {
            "feedback_id": row.id,
            "text": row.text,
            "sentiment": row.sentiment,
            "rating": row.rating,
            "at": row.occurred_at,
            "case_id": row.recovery_case_id,
            "aspects": found.get(row.id, []),
        }
        for row in rows
    ]


def response_rates(*, db_session: Session, survey: Survey) -> dict[str, list[dict[str, Any]]]:
    """Invited, answered and the rate by channel, trigger and customer tier."""
    inv = SurveyInvitation
    out: dict[str, list[dict[str, Any]]] = {}
    for name, column in (("channel", inv.channel), ("trigger", inv.trigger), ("tier", inv.tier)):
        rows = db_session.execute(
            select(
                column,
                func.count(),
                _count_if(inv.status == "answered"),
            )
            .where(inv.survey_id == survey.id, inv.status != "skipped")
            .group_by(column)
        )
        out[name] = sorted(
            (
                {
                    "value": value or "—",
                    "invited": int(n),
                    "answered": int(a or 0),
                    "rate": _rate(int(a or 0), int(n)),
                }
                for value, n, a in rows
            ),
            key=lambda r: -r["invited"],
        )
    return out


#: A group's share among respondents this far from its share among the asked is a warning.
BIAS_GAP = 0.10
#: Fewer answers than this say too little to warn about.
BIAS_MIN_ANSWERS = 20


def nonresponse_bias(*, db_session: Session, survey: Survey) -> list[dict[str, Any]]:
    """Where respondents differ from those asked: by tier, and by whether their order went wrong.

    Each entry names the group, its share among the asked and among respondents; only gaps of at
    least ``BIAS_GAP`` with ``BIAS_MIN_ANSWERS`` answers are reported (e.g. only happy customers answer).
    """
    inv = SurveyInvitation
    rows = db_session.execute(
        select(
            inv.tier, inv.status, Order.delivered_at, Order.promised_delivery_at, Order.damaged, Order.lost
        )
        .outerjoin(Order, Order.id == inv.order_id)
        .where(inv.survey_id == survey.id, inv.status != "skipped", inv.customer_id.is_not(None))
    ).all()
    answered = [r for r in rows if r.status == "answered"]
    if len(answered) < BIAS_MIN_ANSWERS:
        return []
    warnings: list[dict[str, Any]] = []

    def compare(dimension: str, label_of: Any) -> None:
        asked = Counter(label_of(r) for r in rows)
        said = Counter(label_of(r) for r in answered)
        for group, n in asked.items():
            if group is None:
                continue
            share_asked = n / len(rows)
            share_answered = said.get(group, 0) / len(answered)
            if abs(share_answered - share_asked) >= BIAS_GAP:
                warnings.append(
                    {
                        "dimension": dimension,
                        "group": group,
                        "share_asked": share_asked,
                        "share_answered": share_answered,
                    }
                )

    compare("tier", lambda r: r.tier)

    def order_went_wrong(r: Any) -> str | None:
        if r.delivered_at is None and not (r.damaged or r.lost):
            return None
        late = (
            r.promised_delivery_at is not None
            and r.delivered_at is not None
            and r.delivered_at > r.promised_delivery_at
        )
        return "problem_order" if (late or r.damaged or r.lost) else "smooth_order"

    compare("order", order_went_wrong)
    return warnings


def list_invitations(*, db_session: Session, survey: Survey, limit: int = 100) -> list[SurveyInvitation]:
    """The latest invitations of a survey."""
    return list(
        db_session.scalars(
            select(SurveyInvitation)
            .where(SurveyInvitation.survey_id == survey.id)
            .order_by(SurveyInvitation.sent_at.desc(), SurveyInvitation.id.desc())
            .limit(limit)
        )
    )
