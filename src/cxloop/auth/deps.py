"""Who is calling: FastAPI dependencies for the API (bearer token or session) and for pages (session).

``api_auth`` guards every API router (see cxloop.app); ``require_page_user`` guards every page.
Both put the resolved user on ``request.state.user`` so templates and services can read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cxloop.auth import service
from cxloop.auth.models import User
from cxloop.deps import SessionDep

#: Session keys (the session is a signed cookie, see cxloop.web.setup).
SESSION_USER_KEY = "uid"
SESSION_FINGERPRINT_KEY = "fp"

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: API path prefixes that department members may not use at all (admin work: imports, users).
MEMBER_FORBIDDEN_PREFIXES: tuple[str, ...] = ("/api/v1/imports", "/api/v1/auth/users")


class LoginRequired(Exception):
    """Raised by page dependencies when nobody is logged in; cxloop.web.setup turns it into a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def bearer_secret(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def session_user(request: Request, db_session: Session) -> User | None:
    """The logged-in user of the session cookie, or None (also None after a password change)."""
    session = request.scope.get("session")
    if not session:
        return None
    user_id = session.get(SESSION_USER_KEY)
    if not isinstance(user_id, int):
        return None
    user = service.get_user_by_id(db_session=db_session, user_id=user_id)
    if user is None or not user.active:
        return None
    if session.get(SESSION_FINGERPRINT_KEY) != service.session_fingerprint(user):
        return None
    return user


def login_session(request: Request, user: User) -> None:
    """Remember ``user`` in the session (a fresh session: no fixation of an earlier one)."""
    csrf = request.session.get("csrf")
    request.session.clear()
    if csrf:
        request.session["csrf"] = csrf
    request.session[SESSION_USER_KEY] = user.id
    request.session[SESSION_FINGERPRINT_KEY] = service.session_fingerprint(user)


def logout_session(request: Request) -> None:
    """Forget the logged-in user."""
    request.session.clear()


def resolve_user(request: Request, db_session: Session) -> User | None:
    """The caller: bearer token first (API clients), then the session cookie (the browser)."""
    cached = getattr(request.state, "user", None)
    if isinstance(cached, User):
        return cached
    secret = bearer_secret(request)
    if secret is not None:
        # A wrong token is an error even with a valid cookie: the client clearly meant the token.
        user = service.user_for_token(db_session=db_session, secret=secret)
        request.state.auth_method = "token" if user else None
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


def check_role_rules(user: User, method: str, path: str) -> None:
    """The role rules of the API: analysts read only, department members stay out of admin routes."""
    if user.role == "analyst" and method.upper() not in SAFE_METHODS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="analysts have read-only access")
    if user.role == "department_member" and path.startswith(MEMBER_FORBIDDEN_PREFIXES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="not allowed for department members")


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
    """Guard of every API route: a token or session user, else 401 JSON; role rules give 403."""
    user = resolve_user(request, db_session)
    if user is None:
        raise _unauthorized()
    check_role_rules(user, request.method, request.url.path)
    return user


def current_user(request: Request, db_session: SessionDep) -> User:
    """The calling user (API routes); 401 when nobody is authenticated."""
    return api_auth(request, db_session)


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: str) -> Callable[..., User]:
    """A dependency allowing only ``roles`` (403 otherwise); works for API routes and pages."""

    def dependency(request: Request, db_session: SessionDep) -> User:
        user = resolve_user(request, db_session)
        if user is None:
            if request.url.path.startswith("/api/"):
                raise _unauthorized()
            raise LoginRequired(_next_url(request))
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="your role may not do this")
        if request.url.path.startswith("/api/"):
            check_role_rules(user, request.method, request.url.path)
        return user

    return dependency


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
    if user.role == "analyst" and request.method.upper() not in SAFE_METHODS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="analysts have read-only access")
    return user


PageUser = Annotated[User, Depends(require_page_user)]


def optional_page_user(request: Request, db_session: SessionDep) -> User | None:
    """Pages open to everyone (login): the logged-in user if any."""
    user = session_user(request, db_session)
    request.state.user = user
    return user


def user_department_code(user: User) -> str | None:
    """The department code of ``user`` (None for users without a department)."""
    return service.user_department_code(user)


def can_see_department(user: User, code: str) -> bool:
    """Whether ``user`` may see department ``code``: members only their own, everyone else all."""
    if user.role != "department_member":
        return True
    return user_department_code(user) == code


def require_department_access(user: User, code: str) -> None:
    """403 unless ``user`` may see department ``code``."""
    if not can_see_department(user, code):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this is another department's page")


def login_url(next_url: str) -> str:
    """The login page that returns to ``next_url`` afterwards."""
    return f"/login?next={quote(next_url, safe='/')}"
