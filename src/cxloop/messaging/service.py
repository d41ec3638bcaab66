"""Messages to customers: decide (consent, unsubscribe, open case, caps, quiet hours), queue, deliver.

``send_to_customer`` writes one :class:`CustomerMessage` row in the caller's transaction: ``queued``
(maybe deferred to the end of the quiet hours) or ``skipped`` with its reason. ``deliver_pending``
sends queued rows through the outbox protocol of :mod:`cxloop.loop.notifications.service` (claim with a token and a
lease, send, mark sent; each step its own commit), so nothing is sent twice and nothing is lost across a
restart. A provider that refuses is retried with exponential backoff, then ``failed`` where staff see it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal, cast

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from cxloop.clock import now as clock
from cxloop.config import get_settings
from cxloop.customers.models import Customer
from cxloop.db import is_postgres, session_scope
from cxloop.loop.models import OPEN_CASE_STATUSES, Case
from cxloop.messaging import channels
from cxloop.messaging.models import CHANNELS, CustomerMessage
from cxloop.messaging.templates import MessageTemplate, get_template, registry
from cxloop.outbox import DeliveryReport, backoff_seconds, claim, mark_sent, record_failure

log = logging.getLogger(__name__)

#: Statuses that count as "a message went (or will go) to the customer" for the frequency caps.
COUNTED = ("queued", "sending", "sent")
SMS_OPT_OUT = "回T退订"
UNSUBSCRIBE_WORDS = frozenset({"T", "TD", "N", "退订", "STOP", "UNSUBSCRIBE"})


def _clock_time(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def quiet_until(at: datetime) -> datetime | None:
    """The end of the quiet hours ``at`` falls in, or None outside them (times are local)."""
    s = get_settings()
    start, end = _clock_time(s.message_quiet_start), _clock_time(s.message_quiet_end)
    moment = at.time()
    if start == end:
        return None
    if start < end:  # a daytime window, e.g. 12:00-14:00
        inside = start <= moment < end
        return datetime.combine(at.date(), end) if inside else None
    if moment >= start:  # overnight window, evening part
        return datetime.combine(at.date() + timedelta(days=1), end)
    if moment < end:  # overnight window, morning part
        return datetime.combine(at.date(), end)
    return None


@lru_cache(maxsize=4)
def _unsubscribe_serializer(secret_key: str) -> URLSafeSerializer:
    # Built once per key: a batch signs one link per message.
    return URLSafeSerializer(secret_key, salt="cxloop-unsubscribe")


def unsubscribe_token(customer_id: int) -> str:
    """The signed token in a customer's unsubscribe link."""
    return str(_unsubscribe_serializer(get_settings().secret_key).dumps(customer_id))


def unsubscribe_link(customer_id: int) -> str:
    """The public unsubscribe link of a customer."""
    return f"{get_settings().base_url.rstrip('/')}/m/unsubscribe/{unsubscribe_token(customer_id)}"


def customer_for_token(token: str) -> int | None:
    """The customer id signed into ``token``, or None for a forged or damaged one."""
    try:
        return int(_unsubscribe_serializer(get_settings().secret_key).loads(token))
    except (BadSignature, ValueError, TypeError):
        return None


def unsubscribe(
    *, db_session: Session, customer_id: int, at: datetime | None = None, commit: bool = True
) -> Customer:
    """Stop marketing messages to a customer (service messages still go)."""
    customer = db_session.get(Customer, customer_id)
    if customer is None:
        raise KeyError(f"no customer {customer_id}")
    if customer.unsubscribed_at is None:
        customer.unsubscribed_at = at or clock()
        customer.consent_marketing = False
    db_session.flush()
    if commit:
        db_session.commit()
    return customer


def unsubscribe_by_token(*, db_session: Session, token: str) -> bool:
    """The unsubscribe link confirmed: False for a forged or damaged token or a customer that is gone."""
    customer_id = customer_for_token(token)
    if customer_id is None:
        return False
    try:
        unsubscribe(db_session=db_session, customer_id=customer_id)
    except KeyError:
        return False
    return True


def inbound_sms(
    *, db_session: Session, phone: str, text: str, at: datetime | None = None, commit: bool = True
) -> list[int]:
    """A customer's SMS reply: 「T」/「TD」/「退订」 unsubscribes every customer with that number."""
    if text.strip().upper() not in UNSUBSCRIBE_WORDS:
        return []
    number = channels.china_number(phone)
    candidates = {number, f"+86{number}", f"86{number}"}
    ids = list(db_session.scalars(select(Customer.id).where(Customer.phone.in_(candidates))))
    for customer_id in ids:
        unsubscribe(db_session=db_session, customer_id=customer_id, at=at, commit=False)
    if commit:
        db_session.commit()
    return ids


def _open_case(db_session: Session, customer_id: int) -> int | None:
    return db_session.scalar(
        select(Case.id).where(Case.customer_id == customer_id, Case.status.in_(OPEN_CASE_STATUSES)).limit(1)
    )


def _counted_since(db_session: Session, customer_id: int, since: datetime) -> int:
    return int(
        db_session.scalar(
            select(func.count(CustomerMessage.id)).where(
                CustomerMessage.customer_id == customer_id,
                CustomerMessage.purpose == "marketing",
                CustomerMessage.status.in_(COUNTED),
                CustomerMessage.created_at >= since,
            )
        )
        or 0
    )


# --- rules read once for a batch of decisions ------------------------------------------------------------

_PREFETCH_KEY = "cxloop.messaging.prefetch"


@dataclass
class RulesPrefetch:
    """What the rules read for a batch of customers, in a few queries instead of a few per message.

    Held in the session (``session.info``) while a batch decides; ``send_to_customer`` reads it for the
    customers it covers and keeps it current with every row it writes, so a decision sees exactly what
    the per-message queries would have seen. A customer dropped by ``forget`` is read by query again.
    """

    customer_ids: set[int]
    since: datetime
    #: The dedupe keys to look up with the rest.
    dedupe_keys: set[str]
    #: Marketing messages that count towards the caps, created at or after ``since``, by customer.
    counted: dict[int, list[datetime]] = field(default_factory=dict)
    #: Customers with an open complaint case.
    open_case: set[int] = field(default_factory=set)
    #: Dedupe keys looked up (None: no row) and every row written while the batch runs.
    known: dict[str, CustomerMessage | None] = field(default_factory=dict)
    #: The batch's customers, already loaded.
    customers: dict[int, Customer] = field(default_factory=dict)
    #: Rows decided with ``flush=False``, written together by ``write_pending`` (their ids come then).
    pending: list[tuple[dict[str, Any], CustomerMessage]] = field(default_factory=list)

    loaded: bool = False

    def covers(self, customer_id: int) -> bool:
        """Whether the batch read this customer's rules."""
        return customer_id in self.customer_ids

    def load(self, session: Session) -> None:
        """Read the rules, once, when the batch's first message is decided (a batch without one reads
        nothing)."""
        if self.loaded:
            return
        self.loaded = True
        ids = sorted(self.customer_ids)
        self.counted = {cid: [] for cid in ids}
        self.known = dict.fromkeys(self.dedupe_keys)
        session.flush()  # rows decided earlier in this transaction count too
        for chunk in _chunked(ids):
            for cid, created in session.execute(
                select(CustomerMessage.customer_id, CustomerMessage.created_at).where(
                    CustomerMessage.customer_id.in_(chunk),
                    CustomerMessage.purpose == "marketing",
                    CustomerMessage.status.in_(COUNTED),
                    CustomerMessage.created_at >= self.since,
                )
            ):
                self.counted[cid].append(created)
            self.open_case.update(
                session.scalars(
                    select(Case.customer_id).where(
                        Case.customer_id.in_(chunk), Case.status.in_(OPEN_CASE_STATUSES)
                    )
                )
            )
        for chunk in _chunked(sorted(self.dedupe_keys)):
            for row in session.scalars(select(CustomerMessage).where(CustomerMessage.dedupe_key.in_(chunk))):
                self.known[row.dedupe_key] = row


def _chunked(items: list[Any], size: int = 900) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@contextmanager
def rules_prefetched(
    session: Session,
    *,
    customer_ids: set[int],
    since: datetime,
    dedupe_keys: set[str],
    customers: dict[int, Customer] | None = None,
) -> Iterator[RulesPrefetch]:
    """Let every ``send_to_customer`` of this session use the rules of ``customer_ids`` (open cases,
    marketing sent since ``since``, the given dedupe keys), read in a few queries at the first message."""
    prefetch = RulesPrefetch(set(customer_ids), since, set(dedupe_keys), customers=dict(customers or {}))
    previous = session.info.get(_PREFETCH_KEY)
    session.info[_PREFETCH_KEY] = prefetch
    try:
        yield prefetch
        write_pending(session)
    finally:
        session.info[_PREFETCH_KEY] = previous


def write_pending(session: Session) -> None:
    """Insert the rows the batch decided so far, in one statement, and give each its id."""
    prefetch: RulesPrefetch | None = session.info.get(_PREFETCH_KEY)
    if prefetch is None or not prefetch.pending:
        return
    pending, prefetch.pending = prefetch.pending, []
    for chunk in _chunked(pending, 500):
        if is_postgres(session):
            # The ids from the sequence first: a plain multi-row INSERT is cheaper than one that must
            # return its ids in the order of its rows.
            ids = list(
                session.scalars(
                    select(func.nextval(func.pg_get_serial_sequence("customer_messages", "id"))).select_from(
                        func.generate_series(1, len(chunk))
                    )
                )
            )
            session.execute(
                insert(CustomerMessage), [{**v, "id": i} for (v, _), i in zip(chunk, ids, strict=True)]
            )
        else:
            ids = list(
                session.scalars(
                    insert(CustomerMessage).returning(CustomerMessage.id, sort_by_parameter_order=True),
                    [values for values, _ in chunk],
                )
            )
        for (_, row), message_id in zip(chunk, ids, strict=True):
            row.id = message_id


def forget(session: Session, customer_id: int) -> None:
    """Read this customer's rules by query again (something other than a message changed them); the
    rows decided so far are written first, so those queries see them."""
    prefetch: RulesPrefetch | None = session.info.get(_PREFETCH_KEY)
    if prefetch is not None:
        write_pending(session)
        prefetch.customer_ids.discard(customer_id)


def pick_channel(customer: Customer, wanted: str | None = None) -> tuple[str | None, str | None]:
    """The channel and recipient for a customer: the asked one, their preferred one, then SMS/email/webhook."""
    s = get_settings()
    reachable: dict[str, str | None] = {
        "sms": customer.phone,
        "email": customer.email,
        "webhook": customer.external_id if s.customer_webhook_url else None,
    }
    if wanted is not None:
        return (wanted, reachable.get(wanted)) if reachable.get(wanted) else (None, None)
    preferred = customer.preferred_channel
    # Messaging apps (WeChat, the shop app) are reached through the shop's own system.
    if preferred in {"wechat", "app", "phone"}:
        preferred = "webhook" if preferred != "phone" else "sms"
    order = [preferred] if preferred in CHANNELS else []
    order += [c for c in ("sms", "email", "webhook") if c not in order]
    for name in order:
        if reachable.get(name):
            return name, reachable[name]
    return None, None


def send_to_customer(
    session: Session,
    *,
    customer_id: int,
    template: str,
    context: dict[str, Any],
    purpose: Literal["service", "marketing"],
    source: str,
    dedupe_key: str,
    channel: str | None = None,
    case_id: int | None = None,
    now: datetime | None = None,
    flush: bool = True,
) -> CustomerMessage:
    """Queue one message to a customer, or record why it is skipped; never twice per ``dedupe_key``.

    ``flush=False`` leaves the row for the caller's next flush (its id comes then): a batch of decisions
    writes its rows together. The rules read the session's ``rules_prefetched`` when there is one.
    """
    prefetch: RulesPrefetch | None = session.info.get(_PREFETCH_KEY)
    if prefetch is not None:
        prefetch.load(session)
    if prefetch is not None and dedupe_key in prefetch.known:
        existing = prefetch.known[dedupe_key]
    else:
        with session.no_autoflush:
            existing = session.scalar(select(CustomerMessage).where(CustomerMessage.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    if purpose not in ("service", "marketing"):
        raise ValueError("purpose must be 'service' or 'marketing'")
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    tpl = get_template(template)
    at = now or clock()
    customer = prefetch.customers.get(customer_id) if prefetch is not None else None
    if customer is None:
        customer = session.get(Customer, customer_id)
    if customer is None:
        raise KeyError(f"no customer {customer_id}")
    settings = get_settings()
    locale = customer.locale if customer.locale in ("zh", "en") else settings.default_locale
    # Signing the link is the costliest part of a message: only when a text or the opt-out shows it.
    link = unsubscribe_link(customer.id) if purpose == "marketing" or tpl.uses("unsubscribe_link") else ""
    full = {
        "name": customer.name or ("顾客" if locale == "zh" else "customer"),
        "shop": settings.shop_name,
        "unsubscribe_link": link,
        **context,
    }
    subject, body = tpl.render(locale, full)
    values: dict[str, Any] = {
        "customer_id": customer.id,
        "dedupe_key": dedupe_key,
        "template": template,
        "purpose": purpose,
        "source": source,
        "locale": locale,
        "case_id": case_id,
        "subject": subject[:300],
        "body": body,
        "params": {k: str(full[k]) for k in tpl.variables},
        "attempts": 0,
        "created_at": at,
        "channel": None,
        "recipient": None,
        "status": "queued",
        "reason": None,
        "next_attempt_at": None,
    }
    covered = prefetch if prefetch is not None and prefetch.covers(customer.id) else None
    reason = _skip_reason(
        session, customer=customer, purpose=purpose, case_id=case_id, at=at, prefetch=covered
    )
    if reason is None:
        values["channel"], values["recipient"] = pick_channel(customer, channel)
        if values["channel"] is None:
            reason = "no_contact"
    if reason is not None:
        values["status"], values["reason"] = "skipped", reason
    else:
        values["next_attempt_at"] = at
        if purpose == "marketing":
            values["body"] = _with_opt_out(body, values["channel"] or "", full["unsubscribe_link"])
            if covered is not None:
                covered.counted[customer.id].append(at)
        deferred = quiet_until(at) if values["channel"] == "sms" else None
        if deferred is not None:
            values["next_attempt_at"], values["reason"] = deferred, "quiet_hours"
    row = CustomerMessage(**values)
    if prefetch is not None:
        prefetch.known[dedupe_key] = row
    if prefetch is not None and not flush:
        prefetch.pending.append((values, row))  # a batch writes its rows in one statement
        return row
    session.add(row)
    if flush:
        session.flush()
    return row


def _skip_reason(
    session: Session,
    *,
    customer: Customer,
    purpose: str,
    case_id: int | None,
    at: datetime,
    prefetch: RulesPrefetch | None = None,
) -> str | None:
    s = get_settings()
    if purpose == "marketing":
        if customer.unsubscribed_at is not None:
            return "unsubscribed"
        if not customer.consent_marketing:
            return "no_consent"
    if case_id is None:
        if prefetch is not None:
            if customer.id in prefetch.open_case:
                return "open_case"
        elif _open_case(session, customer.id) is not None:
            return "open_case"
    if purpose == "marketing":
        week = at - timedelta(days=7)
        if prefetch is not None and week >= prefetch.since:
            sent = prefetch.counted[customer.id]
            day = at - timedelta(days=1)
            if sum(t >= day for t in sent) >= s.message_cap_per_day:
                return "frequency_cap"
            if sum(t >= week for t in sent) >= s.message_cap_per_week:
                return "frequency_cap"
            return None
        write_pending(session)  # messages decided earlier in this transaction count towards the caps
        session.flush()
        if _counted_since(session, customer.id, at - timedelta(days=1)) >= s.message_cap_per_day:
            return "frequency_cap"
        if _counted_since(session, customer.id, week) >= s.message_cap_per_week:
            return "frequency_cap"
    return None


def _with_opt_out(body: str, channel: str, link: str) -> str:
    # Chinese carriers require the opt-out reply on marketing SMS; mail and apps get the link.
    if channel == "sms":
        return body if SMS_OPT_OUT in body else f"{body} {SMS_OPT_OUT}"
    return body if link in body else f"{body}\n{link}"


def send_by_staff(
    *, db_session: Session, customer: str, dedupe_key: str | None = None, **message: Any
) -> CustomerMessage:
    """A message staff send by hand to the customer with external id ``customer``, under the same rules
    as automatic ones (``message``: ``send_to_customer``'s template, context, purpose, channel, case_id);
    committed. ``KeyError`` for an unknown customer or template."""
    from cxloop.customers.service import get_by_external_id

    found = get_by_external_id(db_session=db_session, external_id=customer)
    if found is None:
        raise KeyError(f"no customer {customer!r}")
    key = dedupe_key or f"staff:{uuid.uuid4().hex}"
    row = send_to_customer(db_session, customer_id=found.id, source="staff", dedupe_key=key, **message)
    db_session.commit()
    return row


def preview(*, template: str, locale: str = "zh", context: dict[str, Any] | None = None) -> dict[str, str]:
    """A template rendered on sample data (overridden by ``context``) without touching a customer."""
    tpl = get_template(template)
    values = {**tpl.sample_context(), **(context or {})}
    subject, body = tpl.render(locale, values)
    return {"template": tpl.key, "purpose": tpl.purpose, "locale": locale, "subject": subject, "body": body}


def list_templates() -> list[MessageTemplate]:
    """Every registered template, by key."""
    return [registry()[key] for key in sorted(registry())]


def history(*, db_session: Session, customer_id: int, limit: int = 200) -> list[CustomerMessage]:
    """A customer's messages, newest first: sent, queued, skipped (with reason) and failed."""
    return list(
        db_session.scalars(
            select(CustomerMessage)
            .where(CustomerMessage.customer_id == customer_id)
            .order_by(CustomerMessage.created_at.desc(), CustomerMessage.id.desc())
            .limit(limit)
        )
    )


def list_messages(
    *, db_session: Session, status: str | None = None, source: str | None = None, limit: int = 200
) -> list[CustomerMessage]:
    """Messages of every customer, newest first, optionally of one status or source."""
    query = select(CustomerMessage)
    if status:
        query = query.where(CustomerMessage.status == status)
    if source:
        query = query.where(CustomerMessage.source == source)
    return list(db_session.scalars(query.order_by(CustomerMessage.id.desc()).limit(limit)))


def customers_of(*, db_session: Session, messages: list[CustomerMessage]) -> dict[int, Customer]:
    """The customers of some messages, by id (the outbox page shows their names)."""
    ids = sorted({m.customer_id for m in messages})
    return {
        c.id: c
        for chunk in _chunked(ids)
        for c in db_session.scalars(select(Customer).where(Customer.id.in_(chunk)))
    }


def counts(*, db_session: Session, source_prefix: str | None = None) -> dict[str, int]:
    """How many messages are in each status (optionally of sources starting with a prefix)."""
    query = select(CustomerMessage.status, func.count(CustomerMessage.id)).group_by(CustomerMessage.status)
    if source_prefix:
        query = query.where(CustomerMessage.source.startswith(source_prefix))
    return {str(status): int(n) for status, n in db_session.execute(query)}


def retry(*, db_session: Session, message_id: int, commit: bool = True) -> CustomerMessage:
    """Put a failed (or unknown) message back in the queue now (staff decided to try again)."""
    message = db_session.get(CustomerMessage, message_id)
    if message is None:
        raise KeyError(f"no customer message {message_id}")
    if message.status not in ("failed", "unknown"):
        raise ValueError(f"only failed or unknown messages are retried; this one is {message.status}")
    message.status, message.next_attempt_at, message.locked_until = "queued", clock(), None
    db_session.flush()
    if commit:
        db_session.commit()
    return message


# --- delivery -------------------------------------------------------------------------------------------


def _claimable(at: datetime) -> Any:
    # A lease that ran out means a worker died after claiming: the message goes again (same ids,
    # so a receiver that saw it can drop the repeat).
    return or_(
        and_(CustomerMessage.status == "queued", CustomerMessage.next_attempt_at <= at),
        and_(CustomerMessage.status == "sending", CustomerMessage.locked_until < at),
    )


def deliver_pending(
    *, limit: int = 500, url: str | None = None, at: datetime | None = None, log_only: bool = False
) -> DeliveryReport:
    """Send every due queued message once; each claim, send and mark is its own commit.

    ``log_only`` (the demo) writes each message to the log instead of a channel: nothing leaves the machine.
    """
    report = DeliveryReport()
    moment = at or clock()
    with session_scope(url) as s:
        ids = list(
            s.scalars(
                select(CustomerMessage.id).where(_claimable(moment)).order_by(CustomerMessage.id).limit(limit)
            )
        )
    for message_id in ids:
        claim_at = at or clock()
        lease = timedelta(seconds=get_settings().message_lease_seconds)
        token = claim(url, CustomerMessage, message_id, _claimable(claim_at), claim_at + lease)
        if token is None:
            continue  # another worker took it between our list and our claim
        with session_scope(url) as s:
            message = s.get(CustomerMessage, message_id)
            assert message is not None
            customer = s.get(Customer, message.customer_id)
            s.expunge_all()
        try:
            ref = _log_only(message) if log_only else _send(message, customer)
        except Exception as exc:
            _failed(url, message, token, exc, report, at or clock())
            continue
        mark_sent(url, CustomerMessage, message_id, token, at or clock(), provider_ref=ref)
        report.sent += 1
    return report


class NotConfigured(channels.ChannelError):
    """A channel that is not set up: retrying cannot help, so the message fails at once."""


def _log_only(message: CustomerMessage) -> str:
    log.info(
        "customer message %s (%s to %s): %s", message.id, message.channel, message.recipient, message.body
    )
    return f"log:{message.id}"


def _send(message: CustomerMessage, customer: Customer | None) -> str:
    if message.channel == "sms":
        if get_settings().sms_provider == "log":
            return _log_only(message)
        provider = channels.sms_provider()
        if provider is None:
            raise NotConfigured("no SMS provider is configured (CXLOOP_SMS_PROVIDER=none)")
        tpl = get_template(message.template)
        code = tpl.sms_codes.get(provider.name)
        params = dict(message.params) if code else {"content": message.body}
        return provider.send(
            channels.OutgoingSms(
                phone=message.recipient or "",
                template_code=code or get_settings().sms_template_code,
                params=params,
                out_id=f"cxloop-{message.id}",
            )
        )
    if message.channel == "email":
        return channels.send_email(
            message_id=message.id, to=message.recipient or "", subject=message.subject, body=message.body
        )
    if message.channel == "webhook":
        payload = {
            "id": message.id,
            "customer": customer.external_id if customer else message.recipient,
            "preferred_channel": customer.preferred_channel if customer else None,
            "template": message.template,
            "purpose": message.purpose,
            "locale": message.locale,
            "subject": message.subject,
            "body": message.body,
            "source": message.source,
        }
        return channels.send_webhook(message_id=message.id, payload=payload)
    raise channels.ChannelError(f"unknown channel {message.channel!r}")


def _failed(
    url: str | None,
    message: CustomerMessage,
    token: str,
    exc: Exception,
    report: DeliveryReport,
    at: datetime,
) -> None:
    s = get_settings()
    attempts = message.attempts  # already counted by the claim
    final = attempts >= s.message_max_attempts or isinstance(exc, NotConfigured)
    delay = backoff_seconds(attempts, s.message_backoff_seconds, 6 * 3600.0)
    record_failure(
        url, CustomerMessage, message.id, token, exc, final=final, retry_status="queued",
        next_attempt_at=at + timedelta(seconds=delay), report=report, what="customer message", attempts=attempts,
    )  # fmt: skip


def deliver_to_log(*, db_session: Session, until: datetime) -> int:
    """Mark every message queued up to ``until`` as delivered to the log (the demo: nothing leaves the
    machine, and the history shows what a live shop would have sent, at the time it would have)."""
    result = cast(
        CursorResult[Any],
        db_session.execute(
            update(CustomerMessage)
            .where(CustomerMessage.status == "queued", CustomerMessage.next_attempt_at <= until)
            .values(status="sent", sent_at=CustomerMessage.next_attempt_at, provider_ref="log", attempts=1)
        ),
    )
    return int(result.rowcount or 0)
