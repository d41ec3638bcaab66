"""What the shared web layer knows about a login: the session key and the redirect to the login page.

The web layer (middleware, error pages) needs these, and ``cxloop.auth`` builds on them; they live
here so that ``cxloop.web`` never imports a domain (auth imports web, not the other way round).
"""

from __future__ import annotations

from urllib.parse import quote

#: Session key (the session is a signed cookie, see cxloop.web.setup). It holds only the random key
#: of a server-side session row (cxloop.auth.models.AuthSession), so logging out ends it for good.
SESSION_ID_KEY = "sid"


class LoginRequired(Exception):
    """Raised by page dependencies when nobody is logged in; cxloop.web.setup turns it into a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def login_url(next_url: str) -> str:
    """The login page that returns to ``next_url`` afterwards."""
    return f"/login?next={quote(next_url, safe='/')}"
