"""No page or mail shows a catalogue key instead of its text (a missing key falls back to the key).

Pages are rendered in both languages on a store with a task and a case, mails from every template;
the visible text (and the attributes people read) is scanned for dotted words that start like a
catalogue key, e.g. ``nav.overview`` or ``loop.task.status_open``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.db import get_engine
from cxloop.i18n import LOCALES, catalogue
from cxloop.loop.cases import service as cases
from cxloop.loop.notifications import service as notify
from cxloop.loop.tasks import service as tasks

from .helpers import login

PAGES = (
    "/",
    "/pareto",
    "/pareto/delivery_speed",
    "/root-cause",
    "/journey",
    "/departments",
    "/departments/logistics",
    "/indicators",
    "/competitors",
    "/profile",
    "/users",
    "/tasks",
    "/cases",
    "/alerts",
    "/inbox",
)
READ_ATTRIBUTES = frozenset({"title", "placeholder", "aria-label", "alt", "value"})


def _key_pattern() -> re.Pattern[str]:
    prefixes = sorted({key.split(".", 1)[0] for locale in LOCALES for key in catalogue(locale)})
    return re.compile(rf"\b(?:{'|'.join(map(re.escape, prefixes))})\.[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\b")


class _Visible(HTMLParser):
    """Collects what a reader sees: text outside script/style, and readable attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._hidden += 1
        self.parts.extend(v for k, v in attrs if k in READ_ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "\n".join(parser.parts)


def test_the_scan_finds_a_key() -> None:
    assert _key_pattern().findall(_visible("<p>nav.overview</p><script>nav.x</script>")) == ["nav.overview"]


def test_pages_and_mails_show_no_untranslated_key(app_client: TestClient, sqlite_url: str) -> None:
    pattern = _key_pattern()
    found: dict[str, list[str]] = {}
    with Session(get_engine(sqlite_url)) as session:
        task = tasks.create_task(
            db_session=session, title="仓库拣货变慢 / Picking slowed", department="warehouse", actor="t"
        )
        case = cases.create_case(db_session=session, title="漏发一件", actor="t")
        session.commit()
        context = {
            "task": task,
            "case": case,
            "alert": {"message": "拣货时长超过上限", "scope_key": "warehouse", "severity": "high"},
            "rule": {"name": "仓库拣货变慢 / Picking slowed"},
            "name": "张三",
            "assignee_name": "李四",
            "department_name": "仓库",
            "link": "http://127.0.0.1/x",
            "due_at": task.due_at,
            "promise_text": cases.promise_text("30min"),
            "reason": "overdue",
            "state": "warning",
            "clock": "first_response",
        }
        for template in sorted(notify.TEMPLATES.glob("*.txt")):
            event, locale, _ = template.name.split(".")
            subject, body = notify.render(event=event, locale=locale, context=context)
            hits = pattern.findall(f"{subject}\n{body}")
            if hits:
                found[f"mail {template.name}"] = hits
        pages = (*PAGES, f"/tasks/{task.id}", f"/cases/{case.id}")
    login(app_client, "admin", "admin-demo")
    for locale in LOCALES:
        for path in pages:
            response = app_client.get(path, params={"lang": locale})
            assert response.status_code == 200, path
            hits = pattern.findall(_visible(response.text))
            if hits:
                found[f"{locale} {path}"] = sorted(set(hits))
    assert not found, f"untranslated catalogue keys shown: {found}"


def test_mail_templates_exist_in_every_locale() -> None:
    events = {p.name.split(".")[0] for p in Path(notify.TEMPLATES).glob("*.txt")}
    for event in events:
        for locale in LOCALES:
            assert (notify.TEMPLATES / f"{event}.{locale}.txt").is_file(), (event, locale)
