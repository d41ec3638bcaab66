"""The web app: login, CSRF, security headers, locale, role rules, escaping and exports."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cxloop.web.templating import highlight
from tests.web.helpers import csrf_from, login

PAGES = ["/", "/pareto", "/root-cause", "/journey", "/departments", "/indicators", "/competitors"]


def test_pages_redirect_to_login(app_client: TestClient) -> None:
    response = app_client.get("/pareto?month=2026-09", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/pareto%3Fmonth%3D2026-09"


def test_login_logout(app_client: TestClient) -> None:
    login(app_client, "admin", "admin-demo")
    assert app_client.get("/").status_code == 200
    token = csrf_from(app_client.get("/profile").text)
    response = app_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert app_client.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused(app_client: TestClient) -> None:
    token = csrf_from(app_client.get("/login").text)
    response = app_client.post("/login", data={"username": "admin", "password": "nope", "csrf_token": token})
    assert response.status_code == 400
    assert "用户名或密码错误" in response.text


def test_form_post_without_csrf_token_is_rejected(app_client: TestClient) -> None:
    app_client.get("/login")
    response = app_client.post("/login", data={"username": "admin", "password": "admin-demo"})
    assert response.status_code == 403
    login(app_client, "admin", "admin-demo")
    wrong = app_client.post("/profile/tokens", data={"name": "x", "csrf_token": "forged"})
    assert wrong.status_code == 403
    # htmx sends the token as a header instead of a form field
    token = csrf_from(app_client.get("/profile").text)
    ok = app_client.post("/profile/tokens", data={"name": "x"}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 200


def test_api_with_session_cookie_needs_csrf_but_bearer_does_not(app_client: TestClient) -> None:
    login(app_client, "admin", "admin-demo")
    assert app_client.post("/api/v1/auth/tokens", json={"name": "a"}).status_code == 403
    token = csrf_from(app_client.get("/profile").text)
    created = app_client.post("/api/v1/auth/tokens", json={"name": "a"}, headers={"X-CSRF-Token": token})
    assert created.status_code == 201
    secret = created.json()["token"]
    fresh = TestClient(app_client.app)
    bearer = fresh.post(
        "/api/v1/auth/tokens", json={"name": "b"}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert bearer.status_code == 201


def test_security_headers(app_client: TestClient) -> None:
    response = app_client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "http" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_pages_use_no_cdn_and_no_inline_script(app_client: TestClient) -> None:
    login(app_client, "admin", "admin-demo")
    for path in [*PAGES, "/api/docs"]:
        html = app_client.get(path).text
        assert "cdn." not in html and "https://" not in html, path
        assert "<script>" not in html, path  # every script is a file: the CSP allows no inline code
    assert app_client.get("/static/vendor/echarts.min.js").status_code == 200
    assert app_client.get("/static/vendor/htmx.min.js").status_code == 200


def test_every_page_renders_on_an_empty_store(app_client: TestClient) -> None:
    login(app_client, "manager", "manager-demo")
    for path in [*PAGES, "/departments/logistics", "/pareto/delivery_speed", "/profile"]:
        assert app_client.get(path).status_code == 200, path


def test_locale_switch_and_cookie(app_client: TestClient) -> None:
    login(app_client, "admin", "admin-demo")
    assert "投诉帕累托" in app_client.get("/pareto").text
    english = app_client.get("/pareto?lang=en")
    assert "Complaint Pareto" in english.text
    assert "cxloop_lang=en" in english.headers["set-cookie"]
    assert '<html lang="en">' in app_client.get("/pareto").text  # the cookie keeps the choice


def test_user_preference_sets_language(app_client: TestClient) -> None:
    login(app_client, "analyst", "analyst-demo")
    token = csrf_from(app_client.get("/profile").text)
    app_client.post("/profile/language", data={"locale": "en", "csrf_token": token})
    app_client.cookies.clear()
    login(app_client, "analyst", "analyst-demo")
    assert "Overview" in app_client.get("/").text


def test_department_member_sees_only_own_department(app_client: TestClient) -> None:
    login(app_client, "warehouse", "warehouse-demo")
    assert app_client.get("/departments/warehouse").status_code == 200
    other = app_client.get("/departments/logistics")
    assert other.status_code == 403
    assert "没有权限" in other.text
    redirect = app_client.get("/departments", follow_redirects=False)
    assert redirect.headers["location"].startswith("/departments/warehouse")
    assert app_client.get("/users").status_code == 403


def test_analyst_cannot_post_to_the_api(app_client: TestClient) -> None:
    login(app_client, "analyst", "analyst-demo")
    token = csrf_from(app_client.get("/profile").text)
    response = app_client.post(
        "/api/v1/auth/users",
        json={"username": "x", "password": "long-enough", "role": "analyst"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 403


def test_unknown_page_is_a_friendly_404(app_client: TestClient) -> None:
    response = app_client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.text
    api = app_client.get("/api/v1/no-such-thing")
    assert api.status_code in (401, 404) and api.headers["content-type"].startswith("application/json")


def test_customer_text_is_escaped_and_evidence_marked() -> None:
    text = "<script>alert(1)</script> 快递太慢了"
    start = text.index("快递太慢")
    html = str(highlight(text, start, start + 4))
    assert "<script>" not in html
    assert html == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>快递太慢</mark>了"
    assert str(highlight("<b>x</b>", None, None)) == "&lt;b&gt;x&lt;/b&gt;"
    assert "<mark>" not in str(highlight("abc", 2, 99))  # a span outside the text marks nothing


def test_complaint_drill_escapes_script(app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from cxloop.metrics import pages, schemas

    text = '<script>alert("x")</script>包装破损'
    item = schemas.ComplaintItem(
        feedback_id=1, external_id="F1", occurred_at=datetime(2026, 9, 3, 10, 0), channel="review", text=text,
        rating=1, start=text.index("包装"), end=len(text), evidence="包装破损", order=None, product=None,
    )  # fmt: skip
    page = schemas.ComplaintPage(
        month="2026-09", aspect="packaging", total=1, limit=20, offset=0, items=[item]
    )
    monkeypatch.setattr(pages.metrics, "pareto_items", lambda **_kw: page)
    login(app_client, "admin", "admin-demo")
    html = app_client.get("/pareto/packaging?month=2026-09", headers={"HX-Request": "true"}).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;<mark>包装破损</mark>" in html
    csv_body = app_client.get("/pareto/packaging?month=2026-09&format=csv").content
    assert csv_body.startswith(b"\xef\xbb\xbf") and "包装破损".encode() in csv_body


def test_csv_export_has_bom_and_xlsx_opens(app_client: TestClient) -> None:
    login(app_client, "admin", "admin-demo")
    csv_response = app_client.get("/indicators?format=csv")
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    header = csv_response.content.decode("utf-8-sig").splitlines()[0]
    assert "指标" in header
    assert "attachment" in csv_response.headers["content-disposition"]
    xlsx = app_client.get("/indicators?format=xlsx")
    workbook = load_workbook(io.BytesIO(xlsx.content))
    sheet = workbook.active
    assert sheet is not None
    assert sheet.cell(row=1, column=1).value == "指标"
    assert sheet.max_row > 1


def test_csv_cells_cannot_become_formulas() -> None:
    from cxloop.web.tables import Column, Table, to_csv

    table = Table("t", "t", [Column("a", "A")], [{"a": "=HYPERLINK(1)"}, {"a": "-3.5"}])
    body = to_csv(table).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in body and "\n-3.5" in body.replace("\r", "")


def test_manager_edits_a_target_and_bad_input_is_explained(app_client: TestClient) -> None:
    login(app_client, "manager", "manager-demo")
    page = app_client.get("/indicators?indicator=damage_rate")
    assert 'id="target-form"' in page.text
    token = csrf_from(page.text)
    saved = app_client.post(
        "/indicators/damage_rate/target",
        data={"target": "0.5", "amber": "1", "red": "2", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and "saved=1" in saved.headers["location"]
    targets = {t["indicator"]: t for t in app_client.get("/api/v1/metrics/targets").json()}
    assert targets["damage_rate"]["red"] == 2.0
    # Red better than amber for a lower-is-better indicator: refused, with the reason shown.
    wrong = app_client.post(
        "/indicators/damage_rate/target",
        data={"target": "0.5", "amber": "3", "red": "2", "csrf_token": token},
    )
    assert "红线必须比黄线更差" in wrong.text
    not_number = app_client.post(
        "/indicators/damage_rate/target",
        data={"target": "half", "amber": "1", "red": "2", "csrf_token": token},
    )
    assert "都必须是数字" in not_number.text


def test_analyst_cannot_edit_targets(app_client: TestClient) -> None:
    login(app_client, "analyst", "analyst-demo")
    page = app_client.get("/indicators?indicator=damage_rate")
    assert 'id="target-form"' not in page.text
    response = app_client.post(
        "/indicators/damage_rate/target",
        data={"target": "1", "amber": "2", "red": "3", "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 403
