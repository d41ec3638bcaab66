"""Limits on password guessing: failed logins and token requests, per username and per client address.

Uses the ``limits`` library (moving windows). Without a broker the counts live in the process; with
``CXLOOP_BROKER_URL`` (Redis) they are shared by every web worker, so more workers do not mean more
guesses.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from cxloop.auth.models import User
from cxloop.config import get_settings

#: Failed password attempts allowed per username, and per client address, in the window.
PER_USER = parse("10/15minutes")
PER_ADDRESS = parse("50/15minutes")
#: New API tokens a logged-in user may create (a stolen session should not mint tokens in bulk).
TOKENS_PER_USER = RateLimitItemPerMinute(10)

_lock = threading.Lock()
_limiter: MovingWindowRateLimiter | None = None
_storage_url: str | None = None


def _get_limiter() -> MovingWindowRateLimiter:
    global _limiter, _storage_url
    url = get_settings().broker_url or "memory://"
    with _lock:
        if _limiter is None or url != _storage_url:
            storage = MemoryStorage() if url == "memory://" else storage_from_string(url)
            if not isinstance(storage, Storage):
                raise TypeError(f"rate-limit storage for {url!r} is not synchronous")
            _limiter, _storage_url = MovingWindowRateLimiter(storage), url
        return _limiter


def reset() -> None:
    """Forget every count (tests; an operator after a lock-out can restart the process instead)."""
    global _limiter
    with _lock:
        _limiter = None


@dataclass(frozen=True)
class Throttled(Exception):
    """Too many attempts: try again after ``retry_after`` seconds."""

    retry_after: int

    def http(self) -> HTTPException:
        """The 429 answer, with a Retry-After header."""
        return HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many failed attempts; try again in {self.retry_after} seconds",
            headers={"Retry-After": str(self.retry_after)},
        )


def client_address(request: Request) -> str:
    """The client's address (the proxy's job to set it right; see docs/security.md)."""
    return request.client.host if request.client else "unknown"


def _keys(username: str, address: str) -> list[tuple[RateLimitItem, str]]:
    return [(PER_USER, f"login-user:{username.strip().lower()}"), (PER_ADDRESS, f"login-addr:{address}")]


def check_login(username: str, address: str) -> None:
    """Raise Throttled when this username or address has used up its failed attempts."""
    limiter = _get_limiter()
    for item, key in _keys(username, address):
        if not limiter.test(item, key):
            stats = limiter.get_window_stats(item, key)
            raise Throttled(max(1, math.ceil(stats.reset_time - time.time())))


def record_failure(username: str, address: str) -> None:
    """Count one failed attempt against the username and the address."""
    limiter = _get_limiter()
    for item, key in _keys(username, address):
        limiter.hit(item, key)


def record_success(username: str) -> None:
    """A right password clears the username's count (the address keeps its count)."""
    _get_limiter().clear(PER_USER, f"login-user:{username.strip().lower()}")


def check_token_creation(user_id: int) -> None:
    """Raise Throttled when the user created too many tokens in the last minute; else count one."""
    limiter = _get_limiter()
    key = f"token-create:{user_id}"
    if not limiter.hit(TOKENS_PER_USER, key):
        stats = limiter.get_window_stats(TOKENS_PER_USER, key)
        raise Throttled(max(1, math.ceil(stats.reset_time - time.time())))


def authenticate(*, db_session: Session, username: str, password: str, address: str) -> User | None:
    """The user for this password, counting failures; Throttled once the limit is reached."""
    from cxloop.auth import service

    check_login(username, address)
    user = service.authenticate(db_session=db_session, username=username, password=password)
    if user is None:
        record_failure(username, address)
    else:
        record_success(username)
    return user
