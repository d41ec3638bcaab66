"""Jinja2 templates for every page, the ``render`` helper and the navigation registry.

Other domains add pages with ``render(request, "their/template.html", {...})`` and add a menu entry
with ``register_nav(...)`` at import time of their ``pages`` module (see docs/dev/contracts.md, "Web").
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import FileSystemLoader
from markupsafe import Markup, escape

from cxloop import __version__
from cxloop.config import get_settings
from cxloop.i18n import LOCALES, in_locale, localized, normalize_locale, translate

TEMPLATE_DIR = Path(__file__).parent / "templates"
CSRF_SESSION_KEY = "csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOCALE_COOKIE = "cxloop_lang"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
# Autoescape is on for .html (Starlette's default select_autoescape); make it explicit and total so a
# template with another suffix never renders customer text raw.
templates.env.autoescape = True
templates.env.globals["version"] = __version__


def register_template_dir(path: str | Path) -> None:
    """Let another domain keep templates next to its code (searched after the web app's own)."""
    loader = templates.env.loader
    assert isinstance(loader, FileSystemLoader)
    folder = str(path)
    if folder not in loader.searchpath:
        loader.searchpath.append(folder)


# --- navigation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    """A menu entry: shown to ``roles`` (None: every logged-in user), ordered by ``order``."""

    key: str
    path: str
    roles: tuple[str, ...] | None = None
    order: int = 100
    #: A menu group (``nav.group.<group>`` names it): grouped entries fold into one drop-down, so the
    #: bar stays one line on a laptop however many domains add pages.
    group: str | None = None

    def text(self, locale: str) -> str:
        """The label in ``locale``: the catalogue's ``nav.<key>``, like every other text."""
        return translate(f"nav.{self.key}", locale)


NAV: list[NavItem] = []


def register_nav(item: NavItem) -> None:
    """Add (or replace, by ``key``) a menu entry."""
    NAV[:] = [existing for existing in NAV if existing.key != item.key]
    NAV.append(item)
    NAV.sort(key=lambda entry: (entry.order, entry.key))


def page_router(pages_module: str, *nav: NavItem, dependencies: Sequence[Any] = ()) -> APIRouter:
    """A domain's page router, the one way a ``pages`` module declares itself: its ``templates/`` folder
    (beside ``pages_module``, a ``__file__``) made loadable and its menu entries added, at import time."""
    register_template_dir(Path(pages_module).parent / "templates")
    for item in nav:
        register_nav(item)
    return APIRouter(include_in_schema=False, dependencies=list(dependencies))


def nav_for(user: Any, current_path: str, locale: str) -> list[dict[str, Any]]:
    """The menu entries ``user`` may see, with their label and whether they are the current page.

    Entries of one group become one entry with ``children``, placed where its first entry would be.
    """
    if user is None:
        return []
    items: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for item in NAV:
        if item.roles is not None and user.role not in item.roles:
            continue
        active = current_path == item.path if item.path == "/" else current_path.startswith(item.path)
        entry = {"key": item.key, "path": item.path, "label": item.text(locale), "active": active}
        if item.group is None:
            items.append(entry)
            continue
        group = groups.get(item.group)
        if group is None:
            group = {
                "key": item.group,
                "label": translate(f"nav.group.{item.group}", locale),
                "active": False,
                "children": [],
            }
            groups[item.group] = group
            items.append(group)
        group["children"].append(entry)
        group["active"] = group["active"] or active
    # A group with one entry the user may see is just that entry.
    return [i["children"][0] if len(i.get("children", ())) == 1 else i for i in items]


# --- request helpers ------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    session = request.scope.get("session")
    if session is None:  # no session middleware (a bare test app): nothing to protect with
        return ""
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return str(token)


def get_locale(request: Request) -> str:
    """The UI language: ?lang=, then the language cookie, the user's preference, the default."""
    for candidate in (
        request.query_params.get("lang"),
        request.cookies.get(LOCALE_COOKIE),
        getattr(getattr(request.state, "user", None), "locale", None),
    ):
        locale = normalize_locale(candidate)
        if locale:
            return locale
    return get_settings().default_locale


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (then pages answer with a fragment)."""
    return request.headers.get("hx-request") == "true"


def url_with(request: Request, **params: Any) -> str:
    """The current URL with some query parameters replaced (None removes one)."""
    query = dict(request.query_params)
    for key, value in params.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    return f"{request.url.path}?{urlencode(query)}" if query else request.url.path


# --- filters --------------------------------------------------------------------------------------


def highlight(text: str | None, start: int | None, end: int | None) -> Markup:
    """Customer text with the evidence span marked: each piece is escaped first, then wrapped."""
    text = text or ""
    if start is None or end is None or not (0 <= start < end <= len(text)):
        return Markup(escape(text))
    return Markup("{}<mark>{}</mark>{}").format(text[:start], text[start:end], text[end:])


def fmt_number(value: Any, digits: int = 1) -> str:
    """A number for people: thousands separators, ``digits`` decimals for fractions, '—' for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        number = float(value)
        return f"{number:,.0f}" if number.is_integer() and abs(number) >= 100 else f"{number:,.{digits}f}"
    return str(value)


def fmt_percent(value: Any, digits: int = 1) -> str:
    """A share (0.123) as a percentage (12.3%)."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


def fmt_signed(value: Any, digits: int = 1, percent: bool = False) -> str:
    """A change with its sign (+1.2 / −0.4), as a percentage of points when ``percent``."""
    if value is None or value == "":
        return "—"
    number = float(value) * (100 if percent else 1)
    sign = "+" if number > 0 else ("−" if number < 0 else "±")
    suffix = " pp" if percent else ""
    return f"{sign}{abs(number):.{digits}f}{suffix}"


def fmt_date(value: Any) -> str:
    """A date or datetime in ISO form, minutes at most."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


templates.env.filters.update(
    highlight=highlight, num=fmt_number, pct=fmt_percent, signed=fmt_signed, dt=fmt_date
)


# --- rendering ------------------------------------------------------------------------------------


def base_context(request: Request) -> dict[str, Any]:
    """The variables every template can use: user, locale, t, csrf_token, nav, helpers."""
    user = getattr(request.state, "user", None)
    locale = get_locale(request)

    def t(key: str, **kw: Any) -> str:
        return translate(key, locale, **kw)

    def name(item: Any, field_name: str = "name") -> str:
        return localized(item, locale, field_name)

    return {
        "request": request,
        "user": user,
        "locale": locale,
        "locales": LOCALES,
        "t": t,
        "name": name,
        "in_locale": lambda text: in_locale(text, locale),
        "csrf_token": csrf_token(request),
        "nav": nav_for(user, request.url.path, locale),
        "url_with": lambda **params: url_with(request, **params),
        "is_htmx": is_htmx(request),
        "read_only": user is not None and user.role == "analyst",
    }


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render template ``name`` with the page's context plus user, locale, t, csrf_token and nav."""
    full = base_context(request)
    full.update(context or {})
    response: HTMLResponse = templates.TemplateResponse(
        request, name, full, status_code=status_code, headers=headers
    )
    return response
