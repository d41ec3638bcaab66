"""Users, passwords and API tokens: the only code that reads or writes the users and api_tokens tables."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import clock
from cxloop.auth.models import ROLES, ApiToken, User
from cxloop.org.models import Department
from cxloop.vocab import DEPARTMENTS, LANGUAGES

#: Every token starts with this, so a leaked one is easy to recognise (secret scanners, logs).
TOKEN_PREFIX = "cxl_"
#: Characters of the token kept in clear for display ("cxl_AbCd1234…").
DISPLAY_PREFIX_LEN = 12
MIN_PASSWORD_LEN = 8
#: The fixed demo accounts (username, password, role, department code); documented in docs/user-guide.md.
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("admin", "admin-demo", "admin", None),
    ("manager", "manager-demo", "cx_manager", None),
    ("warehouse", "warehouse-demo", "department_member", "warehouse"),
    ("analyst", "analyst-demo", "analyst", None),
)

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verified when the username is unknown, so a wrong name costs as long as a wrong password.
    # Hashed on first use, not at import: argon2 is deliberately slow and every `cxloop` command
    # imports this module (issue 10).
    return _hasher.hash("not-a-real-password")


class AuthError(ValueError):
    """A user-facing problem with an account (unknown role, duplicate name, weak password ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # an i18n key suffix, so pages can show the message in the user's language


@dataclass(frozen=True)
class NewToken:
    """A freshly created API token: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def hash_token(secret: str) -> str:
    """The SHA-256 hex digest stored for an API token (tokens are random, so no salt is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def session_fingerprint(user: User) -> str:
    """A short digest of the password hash kept in the session: a password change logs out old sessions."""
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:16]


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise AuthError("password_too_short", f"password must have at least {MIN_PASSWORD_LEN} characters")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthError("unknown_role", f"unknown role {role!r}; one of {', '.join(ROLES)}")


def department_by_code(*, db_session: Session, code: str) -> Department:
    """The department with ``code``; AuthError when there is none."""
    department = db_session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise AuthError("unknown_department", f"unknown department {code!r}")
    return department


def create_user(
    *,
    db_session: Session,
    username: str,
    password: str,
    role: str = "analyst",
    department: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    locale: str | None = None,
) -> User:
    """Create a user (committed); department members must name their department's code."""
    username = username.strip()
    if not username:
        raise AuthError("username_required", "username is required")
    _check_role(role)
    _check_password(password)
    if get_user(db_session=db_session, username=username) is not None:
        raise AuthError("username_taken", f"user {username!r} already exists")
    if role == "department_member" and not department:
        raise AuthError("department_required", "a department member needs a department")
    department_id = department_by_code(db_session=db_session, code=department).id if department else None
    if locale is not None and locale not in LANGUAGES:
        raise AuthError("unknown_locale", f"unknown language {locale!r}")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        department_id=department_id,
        display_name=display_name,
        email=email,
        locale=locale,
        active=True,
    )
    db_session.add(user)
    db_session.commit()
    return user


def get_user(*, db_session: Session, username: str) -> User | None:
    """The user called ``username``, or None."""
    return db_session.scalar(select(User).where(User.username == username))


def get_user_by_id(*, db_session: Session, user_id: int) -> User | None:
    """The user with ``user_id``, or None."""
    return db_session.get(User, user_id)


def list_users(*, db_session: Session) -> list[User]:
    """Every user, by username."""
    return list(db_session.scalars(select(User).order_by(User.username)))


def update_user(
    *,
    db_session: Session,
    user: User,
    role: str | None = None,
    department: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    active: bool | None = None,
    locale: str | None = None,
) -> User:
    """Change a user's role, department, names or active flag (committed); empty department clears it."""
    if role is not None:
        _check_role(role)
        user.role = role
    if department is not None:
        user.department_id = (
            department_by_code(db_session=db_session, code=department).id if department else None
        )
    if user.role == "department_member" and user.department_id is None:
        raise AuthError("department_required", "a department member needs a department")
    if display_name is not None:
        user.display_name = display_name or None
    if email is not None:
        user.email = email or None
    if active is not None:
        user.active = active
    if locale is not None:
        set_locale(db_session=db_session, user=user, locale=locale, commit=False)
    db_session.commit()
    return user


def delete_user(*, db_session: Session, user: User) -> None:
    """Delete a user and their tokens (committed)."""
    for token in db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        db_session.delete(token)  # explicit: SQLite without foreign keys on would leave them behind
    db_session.delete(user)
    db_session.commit()


def authenticate(*, db_session: Session, username: str, password: str) -> User | None:
    """The active user whose password matches, or None; records the login time."""
    user = get_user(db_session=db_session, username=username.strip())
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # argon2 parameters were raised since it was stored
    user.last_login_at = clock.now()
    db_session.commit()
    return user


def set_password(*, db_session: Session, user: User, password: str) -> None:
    """Set a new password (committed); other sessions of the user stop working."""
    _check_password(password)
    user.password_hash = hash_password(password)
    db_session.commit()


def change_password(*, db_session: Session, user: User, current: str, new: str) -> None:
    """Change the user's own password after checking the current one."""
    if not verify_password(user.password_hash, current):
        raise AuthError("wrong_password", "the current password is wrong")
    set_password(db_session=db_session, user=user, password=new)


def set_locale(*, db_session: Session, user: User, locale: str, commit: bool = True) -> None:
    """Store the user's preferred language (zh or en)."""
    if locale not in LANGUAGES:
        raise AuthError("unknown_locale", f"unknown language {locale!r}")
    user.locale = locale
    if commit:
        db_session.commit()


def create_token(*, db_session: Session, user: User, name: str) -> NewToken:
    """Create an API token for ``user``; the secret is returned once, only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip() or "token",
        token_hash=hash_token(secret),
        prefix=secret[:DISPLAY_PREFIX_LEN],
        revoked=False,
    )
    db_session.add(token)
    db_session.commit()
    return NewToken(token=token, secret=secret)


def list_tokens(*, db_session: Session, user: User, include_revoked: bool = False) -> list[ApiToken]:
    """The user's tokens, newest first."""
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked.is_(False))
    return list(db_session.scalars(query.order_by(ApiToken.id.desc())))


def revoke_token(*, db_session: Session, user: User, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when it is not theirs or does not exist."""
    token = db_session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        return False
    token.revoked = True
    db_session.commit()
    return True


def user_for_token(*, db_session: Session, secret: str) -> User | None:
    """The active user owning the (unrevoked) token ``secret``, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db_session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked:
        return None
    user = db_session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    now = clock.now()
    # Writing on every call would turn each API read into a write; a few minutes' precision is enough.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
        db_session.commit()
    return user


def user_department_code(user: User, *, db_session: Session | None = None) -> str | None:
    """The code of the user's department (e.g. ``warehouse``), or None when they have none."""
    if user.department_id is None:
        return None
    from sqlalchemy.orm import object_session

    session = db_session or object_session(user)
    if session is None:
        return None
    department = session.get(Department, user.department_id)
    return department.code if department is not None else None


def count_users(*, db_session: Session) -> int:
    """How many users exist."""
    return int(db_session.scalar(select(func.count()).select_from(User)) or 0)


def ensure_default_admin(*, db_session: Session) -> tuple[User, str | None]:
    """On first run create ``admin`` with a random password (returned once); else the existing admin.

    Returns the admin user and the new password, or None as password when users already existed.
    """
    if count_users(db_session=db_session) == 0:
        password = secrets.token_urlsafe(12)
        return create_user(db_session=db_session, username="admin", password=password, role="admin"), password
    admin = db_session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    if admin is None:  # users exist but nobody can administer them: still never invent a second admin
        admin = db_session.scalar(select(User).order_by(User.id))
    assert admin is not None
    return admin, None


def _ensure_department(db_session: Session, code: str) -> None:
    # The demo normally loads departments first; this keeps create_demo_users usable on its own.
    if db_session.scalar(select(Department).where(Department.code == code)) is None:
        name_zh, name_en = DEPARTMENTS[code]
        db_session.add(Department(code=code, name_zh=name_zh, name_en=name_en))
        db_session.flush()


def create_demo_users(*, db_session: Session) -> list[User]:
    """Create (or reset) the fixed demo accounts listed in DEMO_USERS; never use them in production."""
    users = []
    for username, password, role, department in DEMO_USERS:
        if department:
            _ensure_department(db_session, department)
        user = get_user(db_session=db_session, username=username)
        if user is None:
            user = create_user(
                db_session=db_session, username=username, password=password, role=role, department=department
            )
        else:
            update_user(db_session=db_session, user=user, role=role, department=department or "", active=True)
            if not verify_password(user.password_hash, password):
                set_password(db_session=db_session, user=user, password=password)
        users.append(user)
    return users


def list_departments(*, db_session: Session) -> list[Department]:
    """Every department, by code (for the department choosers of the user forms)."""
    return list(db_session.scalars(select(Department).order_by(Department.code)))


def get_department(*, db_session: Session, department_id: int | None) -> Department | None:
    """The department with ``department_id``, or None."""
    return db_session.get(Department, department_id) if department_id is not None else None
