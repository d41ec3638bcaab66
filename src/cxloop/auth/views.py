"""JSON API of accounts: token exchange, the caller's profile and tokens, and user admin.

This router is mounted without the global ``api_auth`` guard (the token exchange must be reachable
without a token), so every other route here names its own dependency.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response, status

from cxloop.auth import ratelimit, service
from cxloop.auth.models import ApiToken, User
from cxloop.auth.policy import allow, public
from cxloop.auth.schemas import (
    NewTokenOut,
    TokenCreate,
    TokenOut,
    TokenRequest,
    UserCreate,
    UserOut,
    UserUpdate,
)
from cxloop.deps import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])


def user_out(user: User) -> UserOut:
    """The API form of ``user``: its columns, with the department and staff record by their codes."""
    return UserOut.model_validate(user).model_copy(
        update={"department": service.user_department_code(user), "person": _person_id(user)}
    )


def _person_id(user: User) -> str | None:
    from sqlalchemy.orm import object_session

    session = object_session(user)
    person = service.linked_person(db_session=session, user=user) if session is not None else None
    return person.external_id if person is not None else None


def token_out(token: ApiToken) -> TokenOut:
    """The API form of ``token``."""
    return TokenOut.model_validate(token)


AccountUser = Annotated[User, allow("account", "use")]
UsersReader = Annotated[User, allow("users", "read")]
UsersWriter = Annotated[User, allow("users", "write")]


def _bad_request(exc: service.AuthError) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail={"code": exc.code, "message": str(exc)})


def _new_token(db_session: SessionDep, user: User, body: TokenCreate) -> NewTokenOut:
    try:
        ratelimit.check_token_creation(user.id)
        new = service.create_token(
            db_session=db_session,
            user=user,
            name=body.name,
            scopes=body.scopes,
            expires_days=body.expires_days,
        )
    except ratelimit.Throttled as exc:
        raise exc.http() from None
    except service.AuthError as exc:
        raise _bad_request(exc) from exc
    return NewTokenOut(**token_out(new.token).model_dump(), token=new.secret)


@router.post(
    "/token",
    response_model=NewTokenOut,
    status_code=201,
    dependencies=[public()],
    responses={401: {"description": "Wrong username or password"}, 429: {"description": "Too many failures"}},
)
def exchange_token(body: TokenRequest, request: Request, db_session: SessionDep) -> NewTokenOut:
    """Exchange a username and password for a new API token (shown once); failures are rate-limited."""
    try:
        user = ratelimit.authenticate(
            db_session=db_session,
            username=body.username,
            password=body.password,
            address=ratelimit.client_address(request),
        )
    except ratelimit.Throttled as exc:
        raise exc.http() from None
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    return _new_token(db_session, user, body)


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
    return _new_token(db_session, user, body)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_my_token(token_id: int, user: AccountUser, db_session: SessionDep) -> Response:
    """Revoke one of the caller's tokens."""
    if not service.revoke_token(db_session=db_session, user=user, token_id=token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such token")
    return Response(status_code=204)


@router.get("/users", response_model=list[UserOut])
def list_users(_admin: UsersReader, db_session: SessionDep) -> list[UserOut]:
    """Every user (admins only)."""
    return [user_out(u) for u in service.list_users(db_session=db_session)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, _admin: UsersWriter, db_session: SessionDep) -> UserOut:
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
def get_user(username: str, _admin: UsersReader, db_session: SessionDep) -> UserOut:
    """One user (admins only)."""
    return user_out(_user_or_404(db_session, username))


@router.patch("/users/{username}", response_model=UserOut)
def update_user(username: str, body: UserUpdate, admin: UsersWriter, db_session: SessionDep) -> UserOut:
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
def delete_user(username: str, admin: UsersWriter, db_session: SessionDep) -> Response:
    """Delete a user and their tokens (admins only; not yourself)."""
    user = _user_or_404(db_session, username)
    if user.id == admin.id:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="you cannot delete yourself")
    service.delete_user(db_session=db_session, user=user)
    return Response(status_code=204)
