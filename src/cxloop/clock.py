"""The one clock: "now" and "today" in the business time zone, freezable in tests.

Every timestamp is stored naive in the business time zone (``CXLOOP_TIMEZONE``), so "now" must be
read in that zone too, never the host's: a server in UTC would otherwise stamp a 09:00 Shanghai
login as 01:00 and count a 07:00 complaint into yesterday's report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from cxloop.config import get_settings

_frozen: datetime | None = None


def now(*, microseconds: bool = False) -> datetime:
    """The current time, naive, in the business time zone (whole seconds unless ``microseconds``)."""
    current = _frozen if _frozen is not None else datetime.now(get_settings().tz).replace(tzinfo=None)
    return current if microseconds else current.replace(microsecond=0)


def today() -> date:
    """Today's date in the business time zone."""
    return now().date()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Make :func:`now` return ``at`` (naive, business time zone) inside the block; for tests."""
    global _frozen
    before, _frozen = _frozen, at.replace(tzinfo=None)
    try:
        yield
    finally:
        _frozen = before
