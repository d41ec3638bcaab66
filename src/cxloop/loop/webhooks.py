"""Chat webhooks (DingTalk, WeCom, Feishu, Slack-compatible): saved, listed and removed, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.loop import audit
from cxloop.loop.models import WEBHOOK_KINDS, Webhook, get_or_missing, require_choice


def save_webhook(
    *,
    db_session: Session,
    name: str,
    kind: str,
    url: str,
    actor: str,
    secret: str | None = None,
    events: list[str] | None = None,
    department: str | None = None,
    locale: str = "zh",
    enabled: bool = True,
) -> Webhook:
    """Create or update the webhook ``name``."""
    require_choice("kind", kind, WEBHOOK_KINDS)
    if not url.startswith(("http://", "https://")):
        raise ValueError("the webhook URL must start with http:// or https://")
    if locale not in ("zh", "en"):
        raise ValueError("locale must be zh or en")
    hook = db_session.scalar(select(Webhook).where(Webhook.name == name))
    before = audit.snapshot(hook) if hook else None
    if hook is None:
        hook = Webhook(name=name)
        db_session.add(hook)
    hook.kind, hook.url, hook.secret = kind, url, secret
    hook.events, hook.department, hook.locale, hook.enabled = list(events or []), department, locale, enabled
    db_session.flush()
    after = audit.snapshot(hook)
    # Secrets never go into the audit trail; that they changed is enough.
    for state in (before, after):
        if state is not None and state.get("secret"):
            state["secret"] = "***"
    audit.record(
        db_session=db_session,
        entity="webhook",
        entity_id=hook.id,
        action="create" if before is None else "update",
        actor=actor,
        before=before,
        after=after,
    )
    db_session.commit()
    return hook


def list_webhooks(*, db_session: Session) -> list[Webhook]:
    """Every webhook, by name."""
    return list(db_session.scalars(select(Webhook).order_by(Webhook.name)))


def delete_webhook(*, db_session: Session, webhook_id: int, actor: str) -> None:
    """Remove a webhook."""
    hook = get_or_missing(db_session, Webhook, webhook_id, "webhook")
    # The name and kind say which one it was; the URL and secret stay out of the trail.
    before = {"name": hook.name, "kind": hook.kind}
    audit.delete_audited(db_session=db_session, entity="webhook", row=hook, actor=actor, before=before)
    db_session.commit()


def webhook_dict(hook: Webhook) -> dict[str, Any]:
    """A webhook as plain data, the secret masked."""
    return {
        "id": hook.id,
        "name": hook.name,
        "kind": hook.kind,
        "url": hook.url,
        "has_secret": bool(hook.secret),
        "events": hook.events,
        "department": hook.department,
        "locale": hook.locale,
        "enabled": hook.enabled,
    }
