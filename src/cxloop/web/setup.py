"""``install(app)``: sessions, CSRF, security headers, language choice, error pages, offline API docs."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxloop.config import get_settings
from cxloop.i18n import normalize_locale
from cxloop.web.session import SESSION_ID_KEY, LoginRequired, login_url
from cxloop.web.templating import (
    CSRF_FORM_FIELD,
    CSRF_HEADER,
    CSRF_SESSION_KEY,
    LOCALE_COOKIE,
    is_htmx,
    render,
)

#: Loads the logged-in user of a request's session (None when nobody is logged in).
SessionUserLoader = Callable[[Request, Session], Any]

SESSION_COOKIE = "cxloop_session"
SESSION_MAX_AGE = 14 * 24 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: Public pages whose address is itself the credential (signed survey links): they never act on the
#: session's user, so there is nothing for a forged cross-site request to borrow.
CSRF_EXEMPT_PREFIXES: tuple[str, ...] = ("/s/",)

#: Only our own origin: scripts, styles and charts are vendored (no CDN). ECharts writes inline styles
#: into its tooltips, hence 'unsafe-inline' for styles only; scripts stay strictly 'self'.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)


class _HTTPMiddleware:
    """An ASGI middleware that passes everything but HTTP requests (websockets, lifespan) straight on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (subclasses wrap ``self.app``)."""
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware(_HTTPMiddleware):
    """Adds the security headers to every HTTP response; pages with user data are not cached."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response with the security headers added."""
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
                if not is_static:
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LocaleCookieMiddleware(_HTTPMiddleware):
    """Remembers a ``?lang=zh|en`` choice in a cookie, so the next pages keep the language."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response with the language cookie when the request chose one."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        locale = normalize_locale((query.get("lang") or [None])[0])
        if locale is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append(
                    "set-cookie", f"{LOCALE_COOKIE}={locale}; Path=/; Max-Age=31536000; SameSite=Lax"
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class CSRFMiddleware(_HTTPMiddleware):
    """Double-submit CSRF check on every state-changing request made with the session cookie.

    The token lives in the (signed) session and must come back as the ``csrf_token`` form field or the
    ``X-CSRF-Token`` header (htmx sends it, see static/js/app.js). Exempt: API calls without a
    logged-in session cookie (token clients), since they carry no ambient browser credentials. An
    ``Authorization`` header does not exempt a request that also carries a logged-in cookie: anyone can
    add a bogus header to a forged request.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the request through only with the session's CSRF token (or when it needs none)."""
        if scope["method"] in SAFE_METHODS or scope["path"].startswith(CSRF_EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session = scope.get("session") or {}
        if scope["path"].startswith("/api/") and SESSION_ID_KEY not in session:
            await self.app(scope, receive, send)
            return
        expected = session.get(CSRF_SESSION_KEY)
        supplied = headers.get(CSRF_HEADER)
        body_receive = receive
        if supplied is None and headers.get("content-type", "").startswith(FORM_TYPES):
            supplied, body_receive = await _form_token(scope, receive)
        if not expected or not supplied or not secrets.compare_digest(str(expected), str(supplied)):
            response = await _csrf_failure(scope)
            await response(scope, receive, send)
            return
        await self.app(scope, body_receive, send)


async def _form_token(scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
    """Read the body once to find the token, then hand the app a receive that replays it."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)

    async def disconnect() -> Message:
        return {"type": "http.disconnect"}

    # The app gets the body again, then the real channel; the form parser here gets it, then an end.
    replay = _body_then(body, receive)
    request = Request(scope, _body_then(body, disconnect))
    try:
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        await form.close()
    except Exception:  # a malformed body has no token; the check then fails with 403
        value = None
    return (value if isinstance(value, str) else None), replay


def _body_then(body: bytes, after: Receive) -> Receive:
    """A receive channel that yields the whole ``body`` once, then whatever ``after`` yields."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await after()

    return receive


async def _csrf_failure(scope: Scope) -> Response:
    if scope["path"].startswith("/api/") or Headers(scope=scope).get("hx-request") == "true":
        return JSONResponse({"detail": "CSRF token missing or wrong; reload the page"}, status_code=403)
    request = Request(scope)
    return render(request, "error.html", {"status": 403, "reason": "csrf"}, status_code=403)


def _wants_html(request: Request) -> bool:
    # The API answers JSON errors (clients parse them); everything else is a page for people.
    return not request.url.path.startswith("/api/")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _wants_html(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    _attach_user(request)
    reason = {401: "login", 403: "forbidden", 404: "not_found", 405: "method"}.get(exc.status_code, "error")
    response = render(request, "error.html", {"status": exc.status_code, "reason": reason}, exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not _wants_html(request):
        return await request_validation_exception_handler(request, exc)
    _attach_user(request)
    return render(request, "error.html", {"status": 400, "reason": "bad_request"}, status_code=400)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = login_url(exc.next_url)
    if is_htmx(request):  # htmx would swap the login page into a fragment; make it navigate instead
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _attach_user(request: Request) -> None:
    """Error pages show the menu of the logged-in user, loaded afresh.

    The request's own database session has been rolled back by the time an error handler runs, which
    leaves a user loaded by a dependency expired and detached; so it is loaded again here, by the
    loader that ``install`` was given (auth's, so that this shared layer imports no domain).
    """
    request.state.user = None
    load_user: SessionUserLoader | None = getattr(request.app.state, "session_user_loader", None)
    if load_user is None or "session" not in request.scope or SESSION_ID_KEY not in request.session:
        return
    from cxloop.db import session_factory

    db_session = session_factory()()
    try:
        request.state.user = load_user(request, db_session)
    except Exception:  # an error page must render even when the database is the problem
        request.state.user = None
    finally:
        db_session.close()


SWAGGER_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} — API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head><body><div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/js/swagger-init.js"></script>
</body></html>"""


def _offline_docs(app: FastAPI) -> None:
    """Serve /api/docs from the vendored Swagger UI (FastAPI's default loads it from a CDN)."""
    docs_url = app.docs_url
    if not docs_url or not app.openapi_url:
        return
    app.router.routes[:] = [
        route for route in app.router.routes if not (isinstance(route, Route) and route.path == docs_url)
    ]
    html = SWAGGER_HTML.format(title=json.dumps(app.title)[1:-1], openapi_url=app.openapi_url)

    async def swagger_ui(_request: Request) -> HTMLResponse:
        return HTMLResponse(html)

    app.add_route(docs_url, swagger_ui, include_in_schema=False)


def install(app: FastAPI, *, session_user: SessionUserLoader) -> None:
    """Add the web app's middleware and error handling to ``app`` (called by create_app).

    ``session_user`` loads the logged-in user of a request (``cxloop.auth.deps.session_user``) for the
    menu of error pages.
    """
    settings = get_settings()
    app.state.session_user_loader = session_user
    # Order matters: the last added runs first. Headers wrap everything; the session must exist
    # before the CSRF check reads it.
    app.add_middleware(LocaleCookieMiddleware)
    app.add_middleware(CSRFMiddleware)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(LoginRequired, _login_required)
    _offline_docs(app)
