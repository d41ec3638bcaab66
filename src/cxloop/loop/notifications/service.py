"""Notifications through an outbox: in-app inbox, email (SMTP) and signed chat webhooks.

Every message is first a row in ``notifications``, written in the same transaction as the change that
caused it, so nothing is lost across a crash. ``deliver_pending`` sends them:

1. claim one message: ``pending`` (or ``sending`` whose lease ran out) -> ``sending`` with a fresh
   ``attempt_token`` and ``locked_until``; committed before anything is sent;
2. send it (SMTP with a stable ``Message-ID`` derived from the outbox id; webhooks with an
   ``X-Cxloop-Delivery`` id);
3. mark it ``sent`` (only if our token still holds), committed at once.

Guarantee: a message is never sent by two workers at the same time, never sent again once marked
sent, and never lost. A worker killed before step 2 leaves the message claimed; after the lease it is
sent once by the next worker. Only a crash in the instant between the receiver's acceptance and the
commit of step 3 can repeat a message; the repeat carries the same Message-ID / delivery id, so the
receiver can drop it (set ``outbox.retry_expired_leases: false`` for strict at-most-once instead:
such messages then wait in state ``unknown`` for a person to retry or drop them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import smtplib
import time
import urllib.parse
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack, cast

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from cxloop.auth.models import User
from cxloop.clock import now
from cxloop.config import OutboxSettings, get_settings
from cxloop.db import session_scope
from cxloop.i18n import in_locale
from cxloop.loop.models import WEBHOOK_KINDS, Notification, Webhook, get_or_missing
from cxloop.org.models import Person
from cxloop.outbox import DeliveryReport, backoff_seconds, claim, mark_sent, record_failure

if TYPE_CHECKING:
    from jinja2 import Environment

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def _templates() -> Environment:
    # Jinja loads on the first mail rendered, not with every command that imports the loop services.
    from jinja2 import Environment, FileSystemLoader

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False, keep_trailing_newline=True)


def render(*, event: str, locale: str, context: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of ``event`` in ``locale`` (zh/en), from ``templates/<event>.<locale>.txt``."""
    locale = locale if locale in ("zh", "en") else "zh"
    env = _templates()
    text = env.get_template(f"{event}.{locale}.txt").render(
        **context, in_locale=lambda t: in_locale(t, locale)
    )
    # The subject is the template's first line; a title with a line break in it would otherwise
    # end the subject early, so that line is rendered on its own and made one header line.
    source, _, _ = env.loader.get_source(env, f"{event}.{locale}.txt")  # type: ignore[union-attr]
    first = env.from_string(source.partition("\n")[0]).render(
        **context, in_locale=lambda t: in_locale(t, locale)
    )
    rest = text[len(first) :] if text.startswith(first) else text.partition("\n")[2]
    subject = header_text(first).removeprefix("Subject:").strip()
    return subject, rest.strip() + "\n"


# Every character that would break a mail header line: CR, LF, the Unicode line and paragraph
# separators (U+2028/9), NEL and the other control characters.
_HEADER_BREAKS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")


def header_text(text: str) -> str:
    """``text`` as one clean header line: line breaks and control characters become one space."""
    return _HEADER_BREAKS.sub(" ", text).strip()


class OutboxTarget(TypedDict, total=False):
    """Where a queued message goes (a user's inbox, a mail address, a webhook), its locale and link."""

    user_id: int | None
    person_id: int | None
    recipient: str | None
    webhook_id: int | None
    locale: str
    link: str | None


def enqueue(
    *,
    db_session: Session,
    channel: str,
    event: str,
    subject: str,
    body: str,
    dedupe_key: str | None = None,
    **target: Unpack[OutboxTarget],
) -> Notification | None:
    """Queue one message in the outbox (None when ``dedupe_key`` was queued before)."""
    if dedupe_key is not None:
        with db_session.no_autoflush:
            exists = db_session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key))
        if exists is not None:
            return None
    at = now()
    inbox = channel == "inbox"
    row = Notification(
        # The inbox row is its own delivery: it is readable as soon as the transaction commits.
        status="sent" if inbox else "pending",
        sent_at=at if inbox else None,
        next_attempt_at=at,
        attempts=0,
        created_at=at,
        channel=channel,
        event=event,
        dedupe_key=dedupe_key,
        subject=subject,
        body=body,
        **({"locale": "zh"} | target),
    )
    db_session.add(row)
    return row


def notify(
    *,
    db_session: Session,
    event: str,
    ref: str,
    context: dict[str, Any],
    people: list[Person],
    department: str | None = None,
    link_path: str = "/",
    template: str | None = None,
) -> int:
    """Queue ``event`` for people (inbox of their users + email) and matching webhooks; returns count."""
    template = template or event
    link = get_settings().base_url.rstrip("/") + link_path
    default_locale = get_settings().default_locale

    def queue(channel: str, key: object, locale: str, message: tuple[str, str], **target: Any) -> int:
        # One outbox row per channel and recipient; the dedupe key makes a repeated event a no-op.
        subject, body = message
        row = enqueue(
            db_session=db_session,
            dedupe_key=f"{ref}:{channel}:{key}",
            channel=channel,
            event=event,
            subject=subject,
            body=body,
            locale=locale,
            link=link,
            **target,
        )
        return row is not None

    count = 0
    for person in people:
        users = list(
            db_session.scalars(select(User).where(User.person_id == person.id, User.active.is_(True)))
        )
        locale = next((u.locale for u in users if u.locale), None) or default_locale
        message = _render_redacted(template, locale, {**context, "name": person.name, "link": link})
        for user in users:
            count += queue("inbox", user.id, locale, message, user_id=user.id, person_id=person.id)
        email = person.email or next((u.email for u in users if u.email), None)
        if email:
            count += queue("email", email, locale, message, person_id=person.id, recipient=email)
    for hook in _enabled_webhooks(db_session):
        if hook.events and event not in hook.events:
            continue
        if hook.department and department and hook.department != department:
            continue
        message = _render_redacted(template, hook.locale, {**context, "name": "", "link": link})
        count += queue("webhook", hook.id, hook.locale, message, webhook_id=hook.id)
    return count


def _render_redacted(template: str, locale: str, context: dict[str, Any]) -> tuple[str, str]:
    """Subject and body with customers' names, phones, emails, WeChat ids and addresses masked.

    Messages leave cxloop (mail servers, chat groups) and are read by people the policy does not
    check; the case page behind the link shows the details to those allowed.
    """
    from cxloop.auth.policy import redact_text

    subject, body = render(event=template, locale=locale, context=context)
    # Names of staff (the greeting, the assignee) are not customers' and stay; customers' names go.
    staff = [str(context[k]) for k in ("name", "assignee_name") if context.get(k)]
    return redact_text(subject, keep=staff) or "", redact_text(body, keep=staff) or ""


def _users_of(db_session: Session, person_id: int) -> list[User]:
    with db_session.no_autoflush:
        return list(
            db_session.scalars(select(User).where(User.person_id == person_id, User.active.is_(True)))
        )


def _enabled_webhooks(db_session: Session) -> list[Webhook]:
    with db_session.no_autoflush:
        return list(db_session.scalars(select(Webhook).where(Webhook.enabled.is_(True))))


# --- webhook signing, per each service's documented scheme ---------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot: base64(HMAC-SHA256(key=secret, "<timestamp>\\n<secret>")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark bot: base64(HMAC-SHA256(key="<timestamp>\\n<secret>", empty message))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def slack_signature(secret: str, timestamp_s: int, body: bytes) -> str:
    """Slack's v0 scheme: "v0=" + hex HMAC-SHA256(secret, "v0:<timestamp>:<body>")."""
    base = f"v0:{timestamp_s}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def build_webhook_request(
    *, hook: Webhook, subject: str, body: str, link: str | None, delivery_id: int, at: float | None = None
) -> tuple[str, dict[str, str], bytes]:
    """URL, headers and JSON body of one webhook message, signed with the hook's secret."""
    if hook.kind not in WEBHOOK_KINDS:
        raise ValueError(f"unknown webhook kind {hook.kind!r}")
    moment = time.time() if at is None else at
    url = hook.url
    text = body.strip() + (f"\n\n{link}" if link and link not in body else "")
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Cxloop-Delivery": str(delivery_id)}
    payload: dict[str, Any]
    if hook.kind == "dingtalk":
        payload = {"msgtype": "markdown", "markdown": {"title": subject, "text": f"#### {subject}\n\n{text}"}}
        if hook.secret:
            ts = int(moment * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={dingtalk_sign(hook.secret, ts)}"
    elif hook.kind == "wecom":
        # A WeCom group robot is authenticated by the key in its URL; a key kept as the secret is added.
        payload = {"msgtype": "markdown", "markdown": {"content": f"**{subject}**\n{text}"}}
        if hook.secret and "key=" not in url:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"key": hook.secret})
    elif hook.kind == "feishu":
        payload = {"msg_type": "text", "content": {"text": f"{subject}\n{text}"}}
        if hook.secret:
            ts = int(moment)
            payload = {"timestamp": str(ts), "sign": feishu_sign(hook.secret, ts), **payload}
    else:
        payload = {"text": f"*{subject}*\n{text}"}
    data = json.dumps(payload, ensure_ascii=False).encode()
    if hook.kind == "slack" and hook.secret:
        ts = int(moment)
        headers["X-Slack-Request-Timestamp"] = str(ts)
        headers["X-Slack-Signature"] = slack_signature(hook.secret, ts, data)
    return url, headers, data


# --- delivery ------------------------------------------------------------------------------------------


def message_id(notification_id: int) -> str:
    """The stable Message-ID of an outbox email: a repeat of the same message is recognisable."""
    domain = get_settings().mail_from.rpartition("@")[2] or "localhost"
    tag = hashlib.sha256(f"{get_settings().secret_key}:{notification_id}".encode()).hexdigest()[:12]
    return f"<cxloop-outbox-{notification_id}-{tag}@{domain}>"


def mail_folder() -> Path:
    """Where the file mail sink writes (``CXLOOP_MAIL_SINK=file``): ``<data_dir>/mail``."""
    return get_settings().data_dir / "mail"


def send_email(message: Notification) -> None:
    """Send one outbox email through the configured SMTP server, or write it as an .eml file.

    The file sink (``CXLOOP_MAIL_SINK=file``, used by the demo) writes ``<data_dir>/mail/<id>.eml``;
    any mail program opens it. Re-sending the same message overwrites the same file.
    """
    settings = get_settings()
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = message.recipient or ""
    mail["Subject"] = header_text(message.subject)
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = message_id(message.id)
    mail["X-Cxloop-Outbox-Id"] = str(message.id)
    mail.set_content(message.body)
    if settings.mail_sink == "file":
        folder = mail_folder()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{message.id:08d}.eml"
        partial = target.with_suffix(".eml.part")
        partial.write_bytes(bytes(mail))
        partial.replace(target)  # a reader never sees half a mail
        return
    timeout = get_settings().loop.outbox.smtp_timeout_seconds
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(mail)


def send_webhook(message: Notification, hook: Webhook) -> None:
    """POST one outbox message to a chat webhook; a non-zero error code in the reply is a failure."""
    url, headers, data = build_webhook_request(
        hook=hook, subject=message.subject, body=message.body, link=message.link, delivery_id=message.id
    )
    timeout = get_settings().loop.outbox.webhook_timeout_seconds
    import httpx  # loads when a webhook is posted, not with every command

    response = httpx.post(url, content=data, headers=headers, timeout=timeout)
    response.raise_for_status()
    try:
        reply = response.json()
    except ValueError:
        return  # Slack-compatible endpoints answer plain "ok"
    if isinstance(reply, dict):
        code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
        if code not in (0, None):
            raise RuntimeError(f"{hook.kind} webhook refused the message: {reply}")


def _claimable(at: datetime, retry_expired: bool) -> Any:
    due = and_(Notification.status == "pending", Notification.next_attempt_at <= at)
    if not retry_expired:
        return due
    return or_(due, and_(Notification.status == "sending", Notification.locked_until < at))


def deliver_pending(*, limit: int | None = None, url: str | None = None) -> DeliveryReport:
    """Send every due outbox message once (each step in its own transaction); see the module doc."""
    config = get_settings().loop.outbox
    lease = timedelta(seconds=config.lease_seconds)
    retry_expired = config.retry_expired_leases
    batch = int(limit or config.batch_size)
    report = DeliveryReport()
    at = now()
    with session_scope(url) as s:
        if not retry_expired:
            s.execute(
                update(Notification)
                .where(Notification.status == "sending", Notification.locked_until < at)
                .values(status="unknown")
            )
        ids = list(
            s.scalars(
                select(Notification.id)
                .where(_claimable(at, retry_expired), Notification.channel != "inbox")
                .order_by(Notification.id)
                .limit(batch)
            )
        )
    for notification_id in ids:
        claim_at = now()
        token = claim(
            url, Notification, notification_id, _claimable(claim_at, retry_expired), claim_at + lease
        )
        if token is None:
            continue  # another worker took it between our list and our claim
        with session_scope(url) as s:
            message = s.get(Notification, notification_id)
            assert message is not None
            hook = s.get(Webhook, message.webhook_id) if message.webhook_id else None
            s.expunge_all()
        try:
            if message.channel == "email":
                send_email(message)
            elif message.channel == "webhook":
                if hook is None:
                    raise RuntimeError("the webhook was deleted")
                send_webhook(message, hook)
            else:
                raise RuntimeError(f"unknown channel {message.channel!r}")
        except Exception as exc:
            _failed(url, message, token, exc, config, report)
            continue
        mark_sent(url, Notification, notification_id, token, now())
        report.sent += 1
    return report


def _failed(
    url: str | None,
    message: Notification,
    token: str,
    exc: Exception,
    config: OutboxSettings,
    report: DeliveryReport,
) -> None:
    attempts = message.attempts + 1
    delay = backoff_seconds(attempts, config.backoff_seconds, config.backoff_max_seconds)
    record_failure(
        url, Notification, message.id, token, exc, final=attempts >= config.max_attempts, retry_status="pending",
        next_attempt_at=now() + timedelta(seconds=delay), report=report, what="outbox message", attempts=attempts,
    )  # fmt: skip


def retry_message(*, db_session: Session, notification_id: int) -> Notification:
    """Put a failed message back in the queue now (``cxloop loop retry`` / the API); never a sent one."""
    message = get_or_missing(db_session, Notification, notification_id, "notification")
    if message.status == "sent":
        raise ValueError(f"notification {notification_id} was sent already; retrying would send it twice")
    message.status = "pending"
    message.next_attempt_at = now()
    message.locked_until = None
    db_session.commit()
    return message


def inbox(
    *, db_session: Session, user_id: int, unread_only: bool = False, limit: int = 100
) -> list[Notification]:
    """A user's in-app messages, newest first."""
    query = select(Notification).where(Notification.user_id == user_id, Notification.channel == "inbox")
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(db_session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def mark_read(*, db_session: Session, user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or every) inbox message of a user read; returns how many changed."""
    query = update(Notification).where(
        Notification.user_id == user_id, Notification.channel == "inbox", Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    changed = cast(CursorResult[Any], db_session.execute(query.values(read_at=now()))).rowcount
    db_session.commit()
    return int(changed or 0)
