"""Personal data customers write into feedback is masked by the policy at every door that shows it.

A review with a phone number, an email, a WeChat id and a street address is read through the
feedback API and the Pareto drill-down (API and page) by each role: those the policy lets see
customers' contact details (``can_see_contact``) read it as written, the others read it masked,
with the evidence spans still on the complaint's words.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.auth.policy import can_see_contact
from cxloop.feedback.models import FeedbackAspect, FeedbackItem
from cxloop.feedback.service import mask_spans
from cxloop.org.models import Department
from tests.feedback.roles import ROLES
from tests.feedback.roles import api_client as _client

PHONE, EMAIL, WECHAT = "13812345678", "li.ming@example.com", "wxid_abc123"
TEXT = f"包装破了，快递员电话 {PHONE}，邮箱 {EMAIL}，微信 {WECHAT}，送到上海市徐汇区漕溪北路88号也没人管"
AT = datetime(2026, 8, 12, 10, 0)


@pytest.fixture
def review(db_session: Session) -> FeedbackItem:
    """One review with personal data and two complaints: packaging (at the start) and customer service."""
    item = FeedbackItem(
        external_id="PII1", channel="review", text=TEXT, title=f"call {PHONE}", occurred_at=AT, rating=1
    )
    db_session.add(item)
    db_session.flush()
    end = len(TEXT)
    db_session.add_all([
        FeedbackAspect(feedback_id=item.id, aspect="packaging", sentiment="negative", score=0.1, start=0,
                       end=4, occurred_at=AT, channel="review"),
        FeedbackAspect(feedback_id=item.id, aspect="cs_response", sentiment="negative", score=0.1,
                       start=end - 4, end=end, occurred_at=AT, channel="review"),
    ])  # fmt: skip
    for code in ("customer_service", "warehouse"):
        db_session.add(Department(code=code, name_zh=code, name_en=code))
    db_session.commit()
    return item


def _assert_shown(text: str, shown: bool) -> None:
    for secret in (PHONE, EMAIL, WECHAT, "漕溪北路88号"):
        assert (secret in text) is shown, (secret, text)
    if not shown:
        assert "138****5678" in text and "wx****" in text


@pytest.mark.parametrize(("role", "department", "shown"), ROLES)
def test_feedback_api_masks_personal_data_by_role(
    db_session: Session, review: FeedbackItem, role: str, department: str | None, shown: bool
) -> None:
    """GET /feedback and /feedback/{id}: text and title masked unless the role may see contacts."""
    client, user = _client(db_session, role, department)
    assert can_see_contact(user) is shown
    for body in (
        client.get(f"/api/v1/feedback/{review.id}").json(),
        client.get("/api/v1/feedback").json()["items"][0],
    ):
        _assert_shown(body["text"], shown)
        assert (PHONE in body["title"]) is shown
        spans = {a["aspect"]: body["text"][a["start"] : a["end"]] for a in body["aspects"]}
        assert spans == {"packaging": "包装破了", "cs_response": "也没人管"}


@pytest.mark.parametrize(("role", "department", "shown"), ROLES)
def test_search_for_personal_data_needs_the_right_to_see_it(
    db_session: Session, review: FeedbackItem, role: str, department: str | None, shown: bool
) -> None:
    """GET /feedback?q=: a role that sees texts masked cannot confirm a phone number by searching it."""
    client, _ = _client(db_session, role, department)
    for probe in (PHONE, PHONE[:7], EMAIL):
        r = client.get("/api/v1/feedback", params={"q": probe})
        if shown:
            assert r.status_code == 200 and r.json()["total"] == 1, r.text
        else:
            assert r.status_code == 422, r.text
            assert "personal data" in r.json()["detail"] and PHONE not in r.text
    # Words are searched as before.
    r = client.get("/api/v1/feedback", params={"q": "包装破了"})
    assert r.status_code == 200 and r.json()["total"] == 1


@pytest.mark.parametrize(("role", "department", "shown"), ROLES)
def test_pareto_drill_down_masks_personal_data_by_role(
    db_session: Session, review: FeedbackItem, role: str, department: str | None, shown: bool
) -> None:
    """GET /metrics/pareto/{aspect}/items: the complaint's text masked, its evidence unchanged."""
    client, _ = _client(db_session, role, department)
    # A member reads the drill-down of their own department's aspect only.
    aspect = {"warehouse": "packaging", "customer_service": "cs_response"}.get(department or "", "packaging")
    r = client.get(f"/api/v1/metrics/pareto/{aspect}/items", params={"month": "2026-08"})
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    _assert_shown(item["text"], shown)
    assert item["evidence"] == {"packaging": "包装破了", "cs_response": "也没人管"}[aspect]
    assert item["text"][item["start"] : item["end"]] == item["evidence"]


def test_mask_spans_keeps_spans_on_their_words() -> None:
    """Spans move with the masked text; a number cut by a span edge is still masked whole."""
    text, spans = mask_spans(TEXT, [(0, 4), (len(TEXT) - 4, len(TEXT))])
    assert PHONE not in text and [text[a:b] for a, b in spans] == ["包装破了", "也没人管"]
    cut = TEXT.index(PHONE) + 5
    text, [(a, b)] = mask_spans(TEXT, [(cut, cut + 10)])
    assert PHONE not in text and PHONE[:5] not in text[a:b]


@pytest.mark.parametrize(
    ("username", "password", "shown"),
    [
        ("admin", "admin-demo", True),
        ("manager", "manager-demo", True),
        ("warehouse", "warehouse-demo", False),
        ("analyst", "analyst-demo", False),
    ],
)
def test_pareto_drill_page_masks_personal_data_by_role(
    sqlite_url: str, username: str, password: str, shown: bool
) -> None:
    """The drill-down page (and its export) shows the review as the API does for the same role."""
    from cxloop.app import create_app
    from cxloop.auth.service import create_demo_users
    from cxloop.db import get_engine
    from tests.web.helpers import login

    with Session(get_engine(sqlite_url)) as session:
        create_demo_users(db_session=session)
        item = FeedbackItem(external_id="PII1", channel="review", text=TEXT, occurred_at=AT, rating=1)
        session.add(item)
        session.flush()
        session.add(
            FeedbackAspect(feedback_id=item.id, aspect="packaging", sentiment="negative", score=0.1, start=0,
                           end=4, occurred_at=AT, channel="review")
        )  # fmt: skip
        session.commit()
    with TestClient(create_app(migrate_on_start=False)) as client:
        login(client, username, password)
        html = client.get("/pareto/packaging?month=2026-08", headers={"HX-Request": "true"}).text
        assert "<mark>包装破了</mark>" in html
        _assert_shown(html, shown)
        _assert_shown(
            client.get("/pareto/packaging?month=2026-08&format=csv").content.decode("utf-8-sig"), shown
        )
