"""REST API of customer messages (mounted under /api/v1/messaging)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, status

from cxloop.auth.policy import allow
from cxloop.customers.service import get_by_external_id
from cxloop.deps import SessionDep
from cxloop.messaging import service
from cxloop.messaging.schemas import (
    DeliveryOut,
    InboundSmsIn,
    InboundSmsOut,
    MessageOut,
    PreviewIn,
    SendIn,
    TemplateOut,
)

router = APIRouter(prefix="/messaging", tags=["messaging"])
#: Who may read and send customer messages: the CX team (personal data inside); see cxloop.auth.policy.
MessageReader = allow("messages", "read")
MessageWriter = allow("messages", "write")


def _customer_id(db_session: Any, external_id: str) -> int:
    customer = get_by_external_id(db_session=db_session, external_id=external_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no customer {external_id!r}")
    return customer.id


def _answer(call: Callable[[], Any], *, refused: int) -> Any:
    """The service call's result; an unknown customer, template or message is 404, a refusal ``refused``."""
    try:
        return call()
    except KeyError as exc:
        # A KeyError's text comes quoted; the message is its argument.
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc.args[0] if exc.args else exc)) from None
    except ValueError as exc:
        raise HTTPException(refused, detail=str(exc)) from None


@router.get("/templates", response_model=list[TemplateOut], dependencies=[MessageReader])
def templates() -> list[TemplateOut]:
    """Every customer message template."""
    return [
        TemplateOut(key=t.key, purpose=t.purpose, variables=list(t.variables), file=t.file, line=t.line)
        for t in service.list_templates()
    ]


@router.post("/preview", dependencies=[MessageReader])
def preview(body: PreviewIn) -> dict[str, str]:
    """A template rendered on sample data."""
    try:
        return service.preview(template=body.template, locale=body.locale, context=body.context)
    except KeyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc).strip("'\"")) from None


@router.get("/messages", response_model=list[MessageOut], dependencies=[MessageReader])
def messages(
    db_session: SessionDep, status_: str | None = None, source: str | None = None, limit: int = 200
) -> list[Any]:
    """Messages of every customer, newest first (``status_=failed`` for the ones staff must look at)."""
    return service.list_messages(db_session=db_session, status=status_, source=source, limit=min(limit, 1000))


@router.get(
    "/customers/{external_id}/messages", response_model=list[MessageOut], dependencies=[MessageReader]
)
def customer_history(external_id: str, db_session: SessionDep) -> list[Any]:
    """One customer's message history: every send, skip (and why) and failure."""
    return service.history(db_session=db_session, customer_id=_customer_id(db_session, external_id))


@router.post("/messages", response_model=MessageOut, status_code=201, dependencies=[MessageWriter])
def send(body: SendIn, db_session: SessionDep) -> Any:
    """Send (queue) one message to a customer under the same rules as automatic messages."""
    return _answer(lambda: service.send_by_staff(db_session=db_session, **body.model_dump()), refused=422)


@router.post("/messages/{message_id}/retry", response_model=MessageOut, dependencies=[MessageWriter])
def retry(message_id: int, db_session: SessionDep) -> Any:
    """Queue a failed message again."""
    return _answer(lambda: service.retry(db_session=db_session, message_id=message_id), refused=409)


@router.post("/inbound-sms", response_model=InboundSmsOut, dependencies=[MessageWriter])
def inbound_sms(body: InboundSmsIn, db_session: SessionDep) -> InboundSmsOut:
    """A forwarded SMS reply; 「T」/「TD」/「退订」 unsubscribes the sender from marketing."""
    ids = service.inbound_sms(db_session=db_session, phone=body.phone, text=body.text)
    return InboundSmsOut(unsubscribed=len(ids))


@router.post("/deliver", response_model=DeliveryOut, dependencies=[MessageWriter])
def deliver() -> DeliveryOut:
    """Send every due queued message now (the scheduler does it every minute)."""
    return DeliveryOut(**service.deliver_pending().as_dict())
