"""Users, passwords and API tokens: the only code that reads or writes the users and api_tokens tables."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from cxloop import clock
from cxloop.auth.models import ROLES, TOKEN_SCOPES, ApiToken, AuthSession, User
from cxloop.org.models import Department, Person
from cxloop.vocab import DEPARTMENTS, LANGUAGES

#: Every token starts with this, so a leaked one is easy to recognise (secret scanners, logs).
TOKEN_PREFIX = "cxl_"
#: Characters of the token kept in clear for display ("cxl_AbCd1234…").
DISPLAY_PREFIX_LEN = 12
MIN_PASSWORD_LEN = 8
#: A browser session lasts this long without activity being needed (then the user logs in again).
SESSION_LIFETIME = timedelta(days=14)
#: New API tokens expire after this many days unless asked otherwise; at most TOKEN_MAX_DAYS.
TOKEN_DEFAULT_DAYS = 90
TOKEN_MAX_DAYS = 365
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
    person: str | None = None,
) -> User:
    """Create a user (committed); department members must name their department's code.

    ``person`` (a staff record's external id) links the user to it; without one, a staff record with
    the same email is linked, so the user's inbox receives that person's tasks and cases.
    """
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
        person_id=person_by_external_id(db_session=db_session, external_id=person).id if person else None,
    )
    db_session.add(user)
    db_session.commit()
    if user.person_id is None and user.email:
        link_users_by_email(db_session=db_session)
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
    person: str | None = None,
) -> User:
    """Change a user's role, department, names, active flag or staff link (committed).

    An empty department or person clears it; deactivating a user ends their sessions.
    """
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
        if not active:
            revoke_sessions(db_session=db_session, user=user, commit=False)
    if person is not None:
        user.person_id = (
            person_by_external_id(db_session=db_session, external_id=person).id if person else None
        )
    if locale is not None:
        set_locale(db_session=db_session, user=user, locale=locale, commit=False)
    db_session.commit()
    return user


def delete_user(*, db_session: Session, user: User) -> None:
    """Delete a user, their tokens and sessions (committed)."""
    for token in db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        db_session.delete(token)  # explicit: SQLite without foreign keys on would leave them behind
    for row in db_session.scalars(select(AuthSession).where(AuthSession.user_id == user.id)):
        db_session.delete(row)
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
    """Set a new password (committed); every session of the user ends (the caller may start a new one)."""
    _check_password(password)
    user.password_hash = hash_password(password)
    revoke_sessions(db_session=db_session, user=user, commit=False)
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


def _now() -> datetime:
    # The one business-time clock, as every stored timestamp; whole seconds keep tokens' times readable.
    return clock.now().replace(microsecond=0)


def create_token(
    *,
    db_session: Session,
    user: User,
    name: str,
    scopes: list[str] | tuple[str, ...] = TOKEN_SCOPES,
    expires_days: int | None = TOKEN_DEFAULT_DAYS,
) -> NewToken:
    """Create an API token for ``user`` with ``scopes`` that expires after ``expires_days``.

    The secret is returned once; only its hash is stored.
    """
    unknown = sorted(set(scopes) - set(TOKEN_SCOPES))
    if unknown or not scopes:
        raise AuthError(
            "unknown_scope", f"token scopes must be among {', '.join(TOKEN_SCOPES)}, got {unknown}"
        )
    if expires_days is not None and not 1 <= expires_days <= TOKEN_MAX_DAYS:
        raise AuthError("bad_expiry", f"a token expires after 1 to {TOKEN_MAX_DAYS} days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip() or "token",
        token_hash=hash_token(secret),
        prefix=secret[:DISPLAY_PREFIX_LEN],
        revoked=False,
        scopes=" ".join(s for s in TOKEN_SCOPES if s in scopes),
        expires_at=_now() + timedelta(days=expires_days) if expires_days is not None else None,
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


def token_for_secret(*, db_session: Session, secret: str) -> ApiToken | None:
    """The unrevoked, unexpired token ``secret`` of an active user, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db_session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked:
        return None
    if token.expires_at is not None and token.expires_at <= _now():
        return None
    user = db_session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    return token


def user_for_token(*, db_session: Session, secret: str) -> User | None:
    """The active user owning the (unrevoked, unexpired) token ``secret``, or None."""
    token = token_for_secret(db_session=db_session, secret=secret)
    if token is None:
        return None
    user = db_session.get(User, token.user_id)
    assert user is not None
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


#: Demo accounts linked to a staff record: the head of this department (so their inbox is not empty).
DEMO_PEOPLE: dict[str, str] = {"warehouse": "warehouse", "manager": "customer_service"}


def create_demo_users(*, db_session: Session) -> list[User]:
    """Create (or reset) the fixed demo accounts listed in DEMO_USERS; never use them in production.

    Where the demo's staff roster is loaded, the accounts take the email of a department head and are
    linked to that person by email, the same way a shop's own accounts are linked.
    """
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
        head = _department_head(db_session, DEMO_PEOPLE.get(username))
        if head is not None and head.email and user.person_id is None:
            user.email = head.email
            db_session.commit()
        users.append(user)
    link_users_by_email(db_session=db_session)
    return users


def _department_head(db_session: Session, code: str | None) -> Person | None:
    if code is None:
        return None
    return db_session.scalar(
        select(Person)
        .join(Department, Department.id == Person.department_id)
        .where(Department.code == code, Person.is_head.is_(True), Person.active.is_(True))
        .order_by(Person.id)
    )


def list_departments(*, db_session: Session) -> list[Department]:
    """Every department, by code (for the department choosers of the user forms)."""
    return list(db_session.scalars(select(Department).order_by(Department.code)))


def list_people(*, db_session: Session) -> list[Person]:
    """Every staff record, by external id (the users page links accounts to them)."""
    return list(db_session.scalars(select(Person).order_by(Person.external_id)))


def get_department(*, db_session: Session, department_id: int | None) -> Department | None:
    """The department with ``department_id``, or None."""
    return db_session.get(Department, department_id) if department_id is not None else None


# --- server-side sessions ---------------------------------------------------------------------------


def start_session(*, db_session: Session, user: User) -> str:
    """Store a new browser session for ``user`` (committed); returns the random key for the cookie."""
    key = secrets.token_urlsafe(32)
    now = _now()
    # Old rows of this user go when a new one comes, so the table stays as small as the live sessions.
    db_session.execute(
        delete(AuthSession).where(
            AuthSession.user_id == user.id,
            or_(AuthSession.expires_at <= now, AuthSession.revoked_at <= now - timedelta(days=1)),
        )
    )
    db_session.add(
        AuthSession(
            key_hash=hash_token(key), user_id=user.id, expires_at=now + SESSION_LIFETIME, last_seen_at=now
        )
    )
    db_session.commit()
    return key


def user_for_session(*, db_session: Session, key: str) -> User | None:
    """The active user of the live (unrevoked, unexpired) session ``key``, or None."""
    row = db_session.scalar(select(AuthSession).where(AuthSession.key_hash == hash_token(key)))
    now = _now()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = db_session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    # Like tokens: a few minutes' precision on "last seen" saves a write per page view.
    if row.last_seen_at is None or now - row.last_seen_at > timedelta(minutes=5):
        row.last_seen_at = now
        db_session.commit()
    return user


def end_session(*, db_session: Session, key: str) -> None:
    """Revoke the session ``key`` (logout): its cookie no longer works, even if someone saved it."""
    row = db_session.scalar(select(AuthSession).where(AuthSession.key_hash == hash_token(key)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = _now()
        db_session.commit()


def revoke_sessions(*, db_session: Session, user: User, commit: bool = True) -> int:
    """End every live session of ``user`` (password change, deactivation); returns how many."""
    rows = list(
        db_session.scalars(
            select(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        )
    )
    for row in rows:
        row.revoked_at = _now()
    if commit:
        db_session.commit()
    return len(rows)


# --- users and the people they are ----------------------------------------------------------------


def person_by_external_id(*, db_session: Session, external_id: str) -> Person:
    """The staff record with ``external_id``; AuthError when there is none."""
    person = db_session.scalar(select(Person).where(Person.external_id == external_id))
    if person is None:
        raise AuthError("unknown_person", f"no staff record with id {external_id!r}")
    return person


def link_person(*, db_session: Session, user: User, person: Person | None) -> User:
    """Link ``user`` to the staff record ``person`` (None unlinks), so notifications reach them."""
    user.person_id = person.id if person is not None else None
    db_session.commit()
    return user


def link_users_by_email(*, db_session: Session) -> int:
    """Link every unlinked user to the one staff record with the same email (case-insensitive).

    Returns how many users were linked. An email shared by two staff records links nobody: guessing
    would send one person's tasks to another.
    """
    people: dict[str, list[Person]] = {}
    for person in db_session.scalars(select(Person).where(Person.email.is_not(None))):
        people.setdefault((person.email or "").strip().lower(), []).append(person)
    linked = 0
    for user in db_session.scalars(select(User).where(User.person_id.is_(None), User.email.is_not(None))):
        matches = people.get((user.email or "").strip().lower(), [])
        if len(matches) == 1:
            user.person_id = matches[0].id
            linked += 1
    db_session.commit()
    return linked


def linked_person(*, db_session: Session, user: User) -> Person | None:
    """The staff record ``user`` is linked to, or None."""
    return db_session.get(Person, user.person_id) if user.person_id is not None else None
