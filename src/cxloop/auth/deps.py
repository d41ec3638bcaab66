"""Who is calling: FastAPI dependencies for the API (bearer token or session) and for pages (session).

``api_auth`` authenticates every API router (see cxloop.app); ``require_page_user`` every page. Both
put the resolved user on ``request.state.user`` so templates and services can read it. What the user
may then do is decided by cxloop.auth.policy, whose ``allow(...)`` each route declares.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cxloop.auth import service
from cxloop.auth.models import User
from cxloop.deps import SessionDep
from cxloop.web.session import SESSION_ID_KEY, LoginRequired

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_secret(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def session_user(request: Request, db_session: Session) -> User | None:
    """The logged-in user of the session cookie, or None (also after logout, expiry or a password change)."""
    session = request.scope.get("session")
    if not session:
        return None
    key = session.get(SESSION_ID_KEY)
    if not isinstance(key, str) or not key:
        return None
    return service.user_for_session(db_session=db_session, key=key)


def login_session(request: Request, user: User, db_session: Session) -> None:
    """Start a new server-side session for ``user`` with a new CSRF token (no fixation of an old one)."""
    from cxloop.web.templating import CSRF_SESSION_KEY  # Jinja is loaded by pages only, not by the CLI

    old_key = request.session.get(SESSION_ID_KEY)
    if isinstance(old_key, str) and old_key:
        service.end_session(db_session=db_session, key=old_key)
    request.session.clear()
    request.session[SESSION_ID_KEY] = service.start_session(db_session=db_session, user=user)
    # A token seen before login (e.g. on the login form, maybe planted) must not outlive it.
    request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


def logout_session(request: Request, db_session: Session) -> None:
    """End the session on the server (a saved cookie stops working) and forget it in the browser."""
    key = request.session.get(SESSION_ID_KEY)
    if isinstance(key, str) and key:
        service.end_session(db_session=db_session, key=key)
    request.session.clear()


def resolve_user(request: Request, db_session: Session) -> User | None:
    """The caller: bearer token first (API clients), then the session cookie (the browser)."""
    cached = getattr(request.state, "user", None)
    if isinstance(cached, User):
        return cached
    secret = bearer_secret(request)
    request.state.token_scopes = None
    if secret is not None:
        # A wrong token is an error even with a valid cookie: the client clearly meant the token.
        token = service.token_for_secret(db_session=db_session, secret=secret)
        user = service.user_for_token(db_session=db_session, secret=secret) if token else None
        request.state.auth_method = "token" if user else None
        request.state.token_scopes = frozenset(token.scopes.split()) if token else None
    else:
        user = session_user(request, db_session)
        request.state.auth_method = "session" if user else None
    request.state.user = user
    return user


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="authentication required: log in or send 'Authorization: Bearer <token>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def check_token_scope(request: Request) -> None:
    """403 when a read-only API token is used for a change."""
    scopes = getattr(request.state, "token_scopes", None)
    if scopes is not None and "write" not in scopes and request.method.upper() not in SAFE_METHODS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this API token may only read (scope 'read')")


#: Declares the bearer scheme in OpenAPI so /api/docs offers "Authorize" with an API token.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An API token (profile page, `cxloop users token NAME` or POST /api/v1/auth/token).",
)


def api_auth(
    request: Request,
    db_session: SessionDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> User:
    """Authentication of every API route: a token or session user, else 401 JSON.

    What the caller may then do is decided by cxloop.auth.policy, which each route declares.
    """
    user = resolve_user(request, db_session)
    if user is None:
        raise _unauthorized()
    check_token_scope(request)
    return user


def _next_url(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"


def require_page_user(request: Request, db_session: SessionDep) -> User:
    """Pages: the logged-in user, or a redirect to /login?next=… (tokens are not accepted on pages)."""
    user = session_user(request, db_session)
    if user is None:
        raise LoginRequired(_next_url(request))
    request.state.user = user
    request.state.auth_method = "session"
    return user


def authenticated_caller(request: Request, db_session: SessionDep) -> User:
    """The caller of a route guarded by cxloop.auth.policy.allow: API 401 / page login redirect."""
    if request.url.path.startswith("/api/"):
        return api_auth(request, db_session)
    return require_page_user(request, db_session)


def current_user(request: Request, db_session: SessionDep) -> User:
    """The calling user (API routes); 401 when nobody is authenticated. Declares no policy."""
    return api_auth(request, db_session)


CurrentUser = Annotated[User, Depends(current_user)]
PageUser = Annotated[User, Depends(require_page_user)]


def optional_page_user(request: Request, db_session: SessionDep) -> User | None:
    """Pages open to everyone (login): the logged-in user if any."""
    user = session_user(request, db_session)
    request.state.user = user
    return user


def user_department_code(user: User) -> str | None:
    """The department code of ``user`` (None for users without a department)."""
    return service.user_department_code(user)


# --- kept for code written before cxloop.auth.policy; new routes declare policy.allow(...) instead ---


def require_roles(*roles: str) -> Callable[..., User]:
    """A dependency allowing only ``roles`` (403 otherwise). Declares no policy: prefer policy.allow."""

    def dependency(request: Request, db_session: SessionDep) -> User:
        user = authenticated_caller(request, db_session)
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="your role may not do this")
        return user

    return dependency
