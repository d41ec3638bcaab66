"""Web pages of customer messages: the outbox (failed ones first), a customer's history, unsubscribe."""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from cxloop.auth.deps import PageUser
from cxloop.auth.policy import public, roles_allowed
from cxloop.customers.service import get_by_external_id
from cxloop.deps import SessionDep
from cxloop.messaging import service
from cxloop.messaging.views import MessageReader, MessageWriter
from cxloop.web.templating import NavItem, page_router, render

router = page_router(
    __file__, NavItem("messaging", "/messages", roles_allowed("messages", "read"), order=40, group="care")
)


@router.get("/messages", response_class=HTMLResponse, dependencies=[MessageReader])
def messages_page(
    request: Request, user: PageUser, db_session: SessionDep, status: str | None = None
) -> HTMLResponse:
    """Every customer message, newest first; failed ones are where staff look."""
    rows = service.list_messages(db_session=db_session, status=status or None, limit=300)
    names = service.customers_of(db_session=db_session, messages=rows)
    return render(
        request,
        "messaging/messages.html",
        {
            "messages": rows,
            "customers": names,
            "counts": service.counts(db_session=db_session),
            "status": status,
            "templates": service.list_templates(),
        },
    )


@router.post("/messages/{message_id}/retry", dependencies=[MessageWriter])
def retry_page(message_id: int, user: PageUser, db_session: SessionDep) -> RedirectResponse:
    """Queue a failed message again."""
    try:
        service.retry(db_session=db_session, message_id=message_id)
    except (KeyError, ValueError) as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return RedirectResponse("/messages?status=failed", status_code=303)


@router.get("/messages/preview/{template}", response_class=HTMLResponse, dependencies=[MessageReader])
def preview_page(request: Request, template: str, user: PageUser) -> HTMLResponse:
    """A template rendered on sample data, in both languages."""
    try:
        previews = [service.preview(template=template, locale=loc) for loc in ("zh", "en")]
    except KeyError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return render(request, "messaging/preview.html", {"previews": previews, "template": template})


@router.get("/customers/{external_id}/messages", response_class=HTMLResponse, dependencies=[MessageReader])
def history_page(request: Request, external_id: str, user: PageUser, db_session: SessionDep) -> HTMLResponse:
    """One customer's message history."""
    customer = get_by_external_id(db_session=db_session, external_id=external_id)
    if customer is None:
        raise HTTPException(404, detail=f"no customer {external_id}")
    rows = service.history(db_session=db_session, customer_id=customer.id)
    return render(request, "messaging/history.html", {"customer": customer, "messages": rows})


@router.get("/m/unsubscribe/{token}", response_class=HTMLResponse, dependencies=[public()])
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    """The public unsubscribe page of a link in a message (asks to confirm: link scanners only GET)."""
    if service.customer_for_token(token) is None:
        return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status_code=404)
    return render(request, "messaging/unsubscribe.html", {"state": "ask", "token": token})


@router.post("/m/unsubscribe/{token}", response_class=HTMLResponse, dependencies=[public()])
def unsubscribe_confirm(request: Request, token: str, db_session: SessionDep) -> HTMLResponse:
    """Confirm the unsubscribe: no more marketing messages, service messages still go."""
    if not service.unsubscribe_by_token(db_session=db_session, token=token):
        return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status_code=404)
    return render(request, "messaging/unsubscribe.html", {"state": "done"})
