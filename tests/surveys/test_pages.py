"""The public answer page (no login) and the staff pages: list, results, editor, QR code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.clock import now
from cxloop.customers.models import Customer
from cxloop.db import get_engine
from cxloop.surveys import service
from tests.web.helpers import login


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    service.reset_rate_limits()
    yield
    service.reset_rate_limits()


def _invite(url: str, key: str = "after_delivery", ext: str = "c1") -> str:
    with Session(get_engine(url)) as session:
        customer = Customer(external_id=ext, name="李雷", email=f"{ext}@example.com", tier="vip")
        session.add(customer)
        session.flush()
        result = service.invite(
            session, survey_key=key, customer_id=customer.id, trigger="after_delivery", now=now()
        )
        session.commit()
    assert result.link
    return "/s/" + result.link.rsplit("/s/", 1)[1]


def test_public_page_answers_once_with_skip_logic_and_escaping(
    app_client: TestClient, sqlite_url: str
) -> None:
    path = _invite(sqlite_url)
    page = app_client.get(path, headers={"accept-language": "en-US,en;q=0.9"})
    assert page.status_code == 200
    assert "How satisfied are you" in page.text and 'lang="en"' in page.text
    assert "<script>" not in page.text.replace('<script src="/static/js/survey.js" defer></script>', "")
    assert "set-cookie" not in {k.lower() for k in page.headers}  # no session for customers
    bad = app_client.post(path, data={"csat": "7"})
    assert bad.status_code == 422 and "1 到 5" in bad.text  # Chinese by default without a browser language
    saved = app_client.post(f"{path}/progress", json={"answers": {"csat": "2", "unhappy": "<b>破</b>"}})
    assert saved.json() == {"saved": ["csat", "unhappy"]}
    again = app_client.get(path + "?lang=zh")
    assert "&lt;b&gt;破&lt;/b&gt;" in again.text and "<b>破" not in again.text
    assert 'value="2" checked' in again.text
    done = app_client.post(path, data={"csat": "2", "unhappy": "<b>破</b>了"})
    assert done.status_code == 200 and "感谢" in done.text
    reused = app_client.post(path, data={"csat": "5"})
    assert reused.status_code == 409 and "已经回答过" in reused.text
    assert app_client.get(path).status_code == 409


@pytest.mark.parametrize("mangle", [lambda t: t[:-3] + "xyz", lambda t: "not-a-token", lambda t: t + "%00"])
def test_forged_links_get_a_clear_page(app_client: TestClient, sqlite_url: str, mangle: object) -> None:
    path = _invite(sqlite_url)
    token = path.rsplit("/", 1)[1]
    forged = "/s/" + mangle(token)  # type: ignore[operator]
    for response in (app_client.get(forged), app_client.post(forged, data={"csat": "5"})):
        assert response.status_code == 404
        assert "链接无效" in response.text and "Traceback" not in response.text
    progress = app_client.post(forged + "/progress", json={"answers": {}})
    assert progress.status_code == 404 and progress.json() == {"error": "forged"}


def test_expired_links_and_bad_progress_bodies(
    app_client: TestClient, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _invite(sqlite_url)
    assert app_client.post(f"{path}/progress", content=b"{nope").status_code == 400
    assert app_client.post(f"{path}/progress", json={"answers": {"csat": 9}}).status_code == 422
    from datetime import timedelta

    later = now() + timedelta(days=30)
    monkeypatch.setattr(service, "clock_now", lambda: later)
    expired = app_client.get(path)
    assert expired.status_code == 410 and "已过期" in expired.text


def test_rate_limit_per_link(
    app_client: TestClient, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxloop.config import get_settings

    monkeypatch.setenv("CXLOOP_SURVEY_RATE_PER_LINK", "3/minute")
    get_settings.cache_clear()
    path = _invite(sqlite_url)
    codes = [app_client.get(path).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert "请求太频繁" in app_client.get(path).text


def test_rate_limit_per_address(
    app_client: TestClient, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxloop.config import get_settings

    monkeypatch.setenv("CXLOOP_SURVEY_RATE_PER_ADDRESS", "2/minute")
    get_settings.cache_clear()
    first, second = _invite(sqlite_url), _invite(sqlite_url, key="relationship_nps", ext="c2")
    assert [app_client.get(p).status_code for p in (first, second, first)] == [200, 200, 429]


def test_staff_pages_results_editor_and_qr(app_client: TestClient, sqlite_url: str) -> None:
    path = _invite(sqlite_url)
    app_client.post(path, data={"csat": "1", "unhappy": "<i>太慢</i>"})
    with Session(get_engine(sqlite_url)) as session:  # the job that follows answers up (every 10 s)
        assert next(iter(service.follow_up_answers(db_session=session).values())) is not None
    assert app_client.get("/surveys", follow_redirects=False).status_code == 303  # login first
    login(app_client, "manager", "manager-demo")
    listing = app_client.get("/surveys")
    assert listing.status_code == 200 and "/surveys/after_delivery" in listing.text
    results = app_client.get("/surveys/after_delivery")
    assert results.status_code == 200
    assert "&lt;i&gt;太慢&lt;/i&gt;" in results.text and "<i>太慢" not in results.text
    assert 'id="kpi-cases">1<' in results.text
    qr = app_client.get("/surveys/after_delivery/qr.svg")
    assert qr.headers["content-type"].startswith("image/svg+xml") and "<svg" in qr.text
    editor = app_client.get("/surveys/after_delivery/edit")
    assert editor.status_code == 200 and 'hx-post="/surveys/preview"' in editor.text
    from tests.web.helpers import csrf_from

    token = csrf_from(editor.text)
    yaml_text = service.definition_yaml(service.default_definitions()[0]).replace(
        "after_delivery", "my_pulse", 1
    )
    preview = app_client.post(
        "/surveys/preview", data={"definition": yaml_text}, headers={"x-csrf-token": token}
    )
    assert preview.status_code == 200 and "survey-form" in preview.text and "data-preview" in preview.text
    broken = app_client.post(
        "/surveys/preview",
        data={"definition": yaml_text.replace("points: 5", "points: 7")},
        headers={"x-csrf-token": token},
    )
    assert "points must be 2..5" in broken.text
    refused = app_client.post(
        "/surveys/save",
        data={"definition": yaml_text.replace("kind: csat", "kind: stars"), "csrf_token": token},
    )
    assert refused.status_code == 422 and "第" in refused.text
    saved = app_client.post(
        "/surveys/save", data={"definition": yaml_text, "csrf_token": token}, follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/surveys/my_pulse"


def test_department_members_do_not_see_surveys(app_client: TestClient) -> None:
    login(app_client, "warehouse", "warehouse-demo")
    assert app_client.get("/surveys").status_code == 403


def test_public_front_door_keeps_the_apps_headers_and_passes_other_paths_on(
    app_client: TestClient, sqlite_url: str
) -> None:
    from cxloop.web.setup import CONTENT_SECURITY_POLICY

    path = _invite(sqlite_url)
    page = app_client.get(path + "?lang=en")
    assert page.status_code == 200 and 'lang="en"' in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert page.headers["set-cookie"].startswith("cxloop_lang=en;")  # the language, and no session
    # What the public routes do not take goes on to the app: its own 404 and 405 pages.
    assert app_client.get(path + "/elsewhere").status_code == 404
    assert app_client.put(path).status_code in (404, 405)
    assert app_client.get("/s/").status_code == 404


def test_the_rate_counter_slides_over_the_previous_window() -> None:
    counter = service.SlidingWindowCounter()
    key = ("link", "abc")
    assert [counter.hit(key, 2, 60, at=t) for t in (0.0, 1.0, 2.0)] == [True, True, False]
    # Halfway into the next window half of the previous one still counts: 2 * 0.5 = 1, so one more fits.
    assert [counter.hit(key, 2, 60, at=t) for t in (90.0, 91.0)] == [True, False]
    assert counter.hit(key, 2, 60, at=200.0)  # two windows later nothing is left
