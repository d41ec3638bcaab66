"""HTML pages of accounts: login/logout, the profile (language, password, API tokens), user admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxloop.auth import ratelimit, service
from cxloop.auth.deps import login_session, logout_session, optional_page_user
from cxloop.auth.models import ROLES, User
from cxloop.auth.policy import allow, public, roles_allowed
from cxloop.deps import SessionDep
from cxloop.web.templating import LOCALE_COOKIE, NavItem, page_router, render

router = page_router(__file__, NavItem("users", "/users", roles_allowed("users", "read"), order=90))

AccountPageUser = Annotated[User, allow("account", "use")]
UsersReader = Annotated[User, allow("users", "read")]
UsersWriter = Annotated[User, allow("users", "write")]


def _safe_next(next_url: str | None) -> str:
    # Only local paths: an open redirect after login is a phishing tool.
    if next_url and next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return "/"


def _set_locale_cookie(response: Response, locale: str) -> None:
    response.set_cookie(LOCALE_COOKIE, locale, max_age=31_536_000, samesite="lax", path="/")


@router.get("/login", response_class=HTMLResponse, dependencies=[public()])
def login_form(
    request: Request, user: Annotated[User | None, Depends(optional_page_user)], next: str = "/"
) -> Response:
    """The login form (a logged-in user goes straight on)."""
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    logged_out = request.query_params.get("logged_out") == "1"
    return render(request, "auth/login.html", {"next_url": _safe_next(next), "logged_out": logged_out})


@router.post("/login", response_class=HTMLResponse, dependencies=[public()])
def login(
    request: Request,
    db_session: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (failures are rate-limited), start a new session and go to the page asked for."""
    context: dict[str, Any] = {"next_url": _safe_next(next), "username": username}
    try:
        user = ratelimit.authenticate(
            db_session=db_session,
            username=username,
            password=password,
            address=ratelimit.client_address(request),
        )
    except ratelimit.Throttled as exc:
        request.state.user = None
        context |= {"error": "auth.throttled", "error_args": {"seconds": exc.retry_after}}
        throttled = render(request, "auth/login.html", context, status_code=429)
        throttled.headers["Retry-After"] = str(exc.retry_after)
        return throttled
    if user is None:
        request.state.user = None
        context["error"] = "auth.wrong_credentials"
        return render(request, "auth/login.html", context, status_code=400)
    login_session(request, user, db_session)
    response = RedirectResponse(_safe_next(next), status_code=303)
    if user.locale:
        _set_locale_cookie(response, user.locale)  # the cookie outranks the preference, so align them
    return response


@router.post("/logout", dependencies=[public()])
def logout(request: Request, db_session: SessionDep) -> Response:
    """End the session on the server too: a saved copy of the cookie no longer works."""
    logout_session(request, db_session)
    return RedirectResponse("/login?logged_out=1", status_code=303)


def _profile(
    request: Request, db_session: SessionDep, user: User, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    context = {
        "tokens": service.list_tokens(db_session=db_session, user=user),
        "department": service.get_department(db_session=db_session, department_id=user.department_id),
        **extra,
    }
    return render(request, "auth/profile.html", context, status_code=status_code)


@router.get("/profile", response_class=HTMLResponse)
def profile(request: Request, user: AccountPageUser, db_session: SessionDep) -> HTMLResponse:
    """The user's own page: language, password and API tokens."""
    message = {"locale": "profile.saved", "password": "profile.password_changed", "revoked": "tokens.revoked"}
    return _profile(request, db_session, user, message=message.get(request.query_params.get("done", "")))


@router.post("/profile/language")
def profile_language(
    user: AccountPageUser, db_session: SessionDep, locale: Annotated[str, Form()]
) -> Response:
    """Store the preferred language (and switch to it now)."""
    try:
        service.set_locale(db_session=db_session, user=user, locale=locale)
    except service.AuthError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    response = RedirectResponse("/profile?done=locale", status_code=303)
    _set_locale_cookie(response, locale)
    return response


@router.post("/profile/password", response_class=HTMLResponse)
def profile_password(
    request: Request,
    user: AccountPageUser,
    db_session: SessionDep,
    current: Annotated[str, Form()],
    new: Annotated[str, Form()],
) -> Response:
    """Change the user's own password; this session stays logged in, others end."""
    try:
        service.change_password(db_session=db_session, user=user, current=current, new=new)
    except service.AuthError as exc:
        return _profile(request, db_session, user, status_code=400, error=f"auth.error.{exc.code}")
    login_session(request, user, db_session)  # the change ended every session; this one starts anew
    return RedirectResponse("/profile?done=password", status_code=303)


@router.post("/profile/tokens", response_class=HTMLResponse)
def profile_create_token(
    request: Request,
    user: AccountPageUser,
    db_session: SessionDep,
    name: Annotated[str, Form()],
    scope: Annotated[str, Form()] = "write",
    expires_days: Annotated[int, Form()] = service.TOKEN_DEFAULT_DAYS,
) -> HTMLResponse:
    """Create an API token and show it this once (no redirect: the secret must not sit in a URL)."""
    scopes = ["read", "write"] if scope == "write" else [scope]
    try:
        ratelimit.check_token_creation(user.id)
        new = service.create_token(
            db_session=db_session, user=user, name=name, scopes=scopes, expires_days=expires_days
        )
    except ratelimit.Throttled as exc:
        return _profile(
            request,
            db_session,
            user,
            status_code=429,
            error="auth.throttled",
            error_args={"seconds": exc.retry_after},
        )
    except service.AuthError as exc:
        return _profile(request, db_session, user, status_code=400, error=f"auth.error.{exc.code}")
    return _profile(request, db_session, user, new_token=new.secret, message="tokens.created_message")


@router.post("/profile/tokens/{token_id}/revoke")
def profile_revoke_token(token_id: int, user: AccountPageUser, db_session: SessionDep) -> Response:
    """Revoke one of the user's tokens."""
    if not service.revoke_token(db_session=db_session, user=user, token_id=token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    return RedirectResponse("/profile?done=revoked", status_code=303)


def _users_page(
    request: Request, db_session: SessionDep, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    departments = service.list_departments(db_session=db_session)
    by_id = {d.id: d for d in departments}
    people = {p.id: p for p in service.list_people(db_session=db_session)}
    rows = []
    for user in service.list_users(db_session=db_session):
        department = by_id.get(user.department_id) if user.department_id is not None else None
        rows.append(
            {
                "user": user,
                "department_code": department.code if department else None,
                "department": department,
                "person": people.get(user.person_id) if user.person_id is not None else None,
            }
        )
    context = {
        "users": rows,
        "roles": ROLES,
        "departments": departments,
        "people": list(people.values()),
        **extra,
    }
    return render(request, "auth/users.html", context, status_code=status_code)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, _admin: UsersReader, db_session: SessionDep) -> HTMLResponse:
    """User administration (admins only)."""
    done = request.query_params.get("done")
    if done == "linked":
        count = request.query_params.get("count", "0")
        return _users_page(request, db_session, message="users.linked", message_args={"count": count})
    return _users_page(
        request, db_session, message={"created": "users.created", "saved": "profile.saved"}.get(done or "")
    )


@router.post("/users/link-by-email")
def users_link_by_email(_admin: UsersWriter, db_session: SessionDep) -> Response:
    """Link every unlinked account to the staff record with the same email."""
    count = service.link_users_by_email(db_session=db_session)
    return RedirectResponse(f"/users?done=linked&count={count}", status_code=303)


@router.post("/users", response_class=HTMLResponse)
def users_create(
    request: Request,
    _admin: UsersWriter,
    db_session: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    department: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    person: Annotated[str, Form()] = "",
) -> Response:
    """Create a user from the admin form (linked to a staff record by id, else by email)."""
    try:
        service.create_user(
            db_session=db_session,
            username=username,
            password=password,
            role=role,
            department=department or None,
            display_name=display_name or None,
            email=email.strip() or None,
            person=person.strip() or None,
        )
    except service.AuthError as exc:
        db_session.rollback()
        return _users_page(request, db_session, status_code=400, error=f"auth.error.{exc.code}")
    return RedirectResponse("/users?done=created", status_code=303)


@router.post("/users/{username}", response_class=HTMLResponse)
def users_update(
    request: Request,
    username: str,
    admin: UsersWriter,
    db_session: SessionDep,
    role: Annotated[str, Form()],
    department: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    person: Annotated[str, Form()] = "",
) -> Response:
    """Change a user's role, department, active flag and staff link from the admin form."""
    user = service.get_user(db_session=db_session, username=username)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    if user.id == admin.id and (role != "admin" or not active):
        return _users_page(request, db_session, status_code=400, error="auth.error.self_demote")
    try:
        service.update_user(
            db_session=db_session,
            user=user,
            role=role,
            department=department,
            active=bool(active),
            person=person.strip(),
        )
    except service.AuthError as exc:
        db_session.rollback()
        return _users_page(request, db_session, status_code=400, error=f"auth.error.{exc.code}")
    return RedirectResponse("/users?done=saved", status_code=303)
