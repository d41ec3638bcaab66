"""JSON API of accounts: token exchange, the caller's profile and tokens, and user admin.

This router is mounted without the global ``api_auth`` guard (the token exchange must be reachable
without a token), so every other route here names its own dependency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from cxloop.auth import service
from cxloop.auth.deps import bearer_scheme, require_roles, resolve_user
from cxloop.auth.models import ROLES, ApiToken, User
from cxloop.deps import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    id: int
    username: str
    display_name: str | None = None
    email: str | None = None
    role: str
    department: str | None = Field(None, description="Department code for department members.")
    locale: str | None = None
    active: bool
    last_login_at: datetime | None = None


class TokenOut(BaseModel):
    """An API token without its secret."""

    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked: bool


class NewTokenOut(TokenOut):
    """A token just created: ``token`` is shown this once and cannot be retrieved later."""

    token: str


class TokenRequest(BaseModel):
    """Username and password exchanged for a new API token."""

    username: str
    password: str
    name: str = Field("api", description="A label for the token, e.g. the script that uses it.")


class TokenCreate(BaseModel):
    """A label for a new token of the calling user."""

    name: str = "api"


class UserCreate(BaseModel):
    """A new user."""

    username: str
    password: str = Field(min_length=service.MIN_PASSWORD_LEN)
    role: str = Field("analyst", description=f"One of {', '.join(ROLES)}.")
    department: str | None = None
    display_name: str | None = None
    email: str | None = None
    locale: str | None = None


class UserUpdate(BaseModel):
    """Changes to a user; fields left out stay as they are."""

    role: str | None = None
    department: str | None = Field(None, description="Department code; an empty string clears it.")
    display_name: str | None = None
    email: str | None = None
    active: bool | None = None
    locale: str | None = None
    password: str | None = Field(None, min_length=service.MIN_PASSWORD_LEN)


def user_out(user: User) -> UserOut:
    """The API form of ``user``."""
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role,
        department=service.user_department_code(user),
        locale=user.locale,
        active=user.active,
        last_login_at=user.last_login_at,
    )


def token_out(token: ApiToken) -> TokenOut:
    """The API form of ``token``."""
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked=token.revoked,
    )


def account_user(
    request: Request, db_session: SessionDep, _bearer: Annotated[object, Depends(bearer_scheme)]
) -> User:
    """The caller, for routes about their own account (analysts may manage their own tokens)."""
    user = resolve_user(request, db_session)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="authentication required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


AccountUser = Annotated[User, Depends(account_user)]
AdminUser = Annotated[User, Depends(require_roles("admin"))]


def _bad_request(exc: service.AuthError) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail={"code": exc.code, "message": str(exc)})


@router.post("/token", response_model=NewTokenOut, status_code=201)
def exchange_token(body: TokenRequest, db_session: SessionDep) -> NewTokenOut:
    """Exchange a username and password for a new API token (shown once)."""
    user = service.authenticate(db_session=db_session, username=body.username, password=body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    new = service.create_token(db_session=db_session, user=user, name=body.name)
    return NewTokenOut(**token_out(new.token).model_dump(), token=new.secret)


@router.get("/me", response_model=UserOut)
def me(user: AccountUser) -> UserOut:
    """The calling user."""
    return user_out(user)


@router.get("/tokens", response_model=list[TokenOut])
def my_tokens(user: AccountUser, db_session: SessionDep) -> list[TokenOut]:
    """The caller's active API tokens."""
    return [token_out(t) for t in service.list_tokens(db_session=db_session, user=user)]


@router.post("/tokens", response_model=NewTokenOut, status_code=201)
def create_my_token(body: TokenCreate, user: AccountUser, db_session: SessionDep) -> NewTokenOut:
    """Create an API token for the caller (the secret is in the answer, only this once)."""
    new = service.create_token(db_session=db_session, user=user, name=body.name)
    return NewTokenOut(**token_out(new.token).model_dump(), token=new.secret)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_my_token(token_id: int, user: AccountUser, db_session: SessionDep) -> Response:
    """Revoke one of the caller's tokens."""
    if not service.revoke_token(db_session=db_session, user=user, token_id=token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such token")
    return Response(status_code=204)


@router.get("/users", response_model=list[UserOut])
def list_users(_admin: AdminUser, db_session: SessionDep) -> list[UserOut]:
    """Every user (admins only)."""
    return [user_out(u) for u in service.list_users(db_session=db_session)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, _admin: AdminUser, db_session: SessionDep) -> UserOut:
    """Create a user (admins only)."""
    try:
        user = service.create_user(db_session=db_session, **body.model_dump())
    except service.AuthError as exc:
        raise _bad_request(exc) from exc
    return user_out(user)


def _user_or_404(db_session: SessionDep, username: str) -> User:
    user = service.get_user(db_session=db_session, username=username)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such user")
    return user


@router.get("/users/{username}", response_model=UserOut)
def get_user(username: str, _admin: AdminUser, db_session: SessionDep) -> UserOut:
    """One user (admins only)."""
    return user_out(_user_or_404(db_session, username))


@router.patch("/users/{username}", response_model=UserOut)
def update_user(username: str, body: UserUpdate, admin: AdminUser, db_session: SessionDep) -> UserOut:
    """Change a user's role, department, names, active flag or password (admins only)."""
    user = _user_or_404(db_session, username)
    changes = body.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    if user.id == admin.id and (changes.get("role", "admin") != "admin" or changes.get("active") is False):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="you cannot demote or deactivate yourself")
    try:
        service.update_user(db_session=db_session, user=user, **changes)
        if password:
            service.set_password(db_session=db_session, user=user, password=password)
    except service.AuthError as exc:
        db_session.rollback()
        raise _bad_request(exc) from exc
    return user_out(user)


@router.delete("/users/{username}", status_code=204)
def delete_user(username: str, admin: AdminUser, db_session: SessionDep) -> Response:
    """Delete a user and their tokens (admins only; not yourself)."""
    user = _user_or_404(db_session, username)
    if user.id == admin.id:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="you cannot delete yourself")
    service.delete_user(db_session=db_session, user=user)
    return Response(status_code=204)
