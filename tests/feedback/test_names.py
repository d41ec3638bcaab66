"""Customers' names inside what they wrote are masked at the feedback API by role, like contacts.

A review that names its writer, a courier and the author field is read through GET /api/v1/feedback
(list and item) by each role: those the policy lets see customers' contact details read it as written,
the others read the names masked, with the evidence span still on the complaint's words.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from cxloop.auth.policy import can_see_contact
from cxloop.feedback.models import FeedbackAspect, FeedbackItem
from cxloop.org.models import Department
from tests.feedback.roles import ROLES
from tests.feedback.roles import api_client as _client

TEXT = "我是张伟，快递员王小明态度很差，阿花也这么说，请联系陈先生"
AUTHOR = "阿花"
COMPLAINT = "快递员王小明态度很差"
AT = datetime(2026, 8, 12, 10, 0)


@pytest.fixture
def review(db_session: Session) -> FeedbackItem:
    """One review naming its writer, a courier and a contact, with its author and one complaint."""
    item = FeedbackItem(
        external_id="N1",
        channel="review",
        text=TEXT,
        title="我是张伟",
        author=AUTHOR,
        occurred_at=AT,
        rating=1,
    )
    db_session.add(item)
    db_session.flush()
    start = TEXT.index(COMPLAINT)
    db_session.add(
        FeedbackAspect(feedback_id=item.id, aspect="courier", sentiment="negative", score=0.1, start=start,
                       end=start + len(COMPLAINT), occurred_at=AT, channel="review")
    )  # fmt: skip
    for code in ("customer_service", "warehouse"):
        db_session.add(Department(code=code, name_zh=code, name_en=code))
    db_session.commit()
    return item


@pytest.mark.parametrize(("role", "department", "shown"), ROLES)
def test_feedback_api_masks_names_by_role(
    db_session: Session, review: FeedbackItem, role: str, department: str | None, shown: bool
) -> None:
    """GET /feedback and /feedback/{id}: names in text and title masked unless the role may see contacts."""
    client, user = _client(db_session, role, department)
    assert can_see_contact(user) is shown
    for body in (
        client.get(f"/api/v1/feedback/{review.id}").json(),
        client.get("/api/v1/feedback").json()["items"][0],
    ):
        if shown:
            assert body["text"] == TEXT and body["title"] == "我是张伟"
        else:
            assert body["text"] == "我是张*，快递员王**态度很差，阿*也这么说，请联系陈**", body["text"]
            assert body["title"] == "我是张*"
        [aspect] = body["aspects"]
        assert body["text"][aspect["start"] : aspect["end"]] == (COMPLAINT if shown else "快递员王**态度很差")


@pytest.mark.parametrize(("role", "department", "shown"), ROLES)
def test_search_for_a_name_needs_the_right_to_see_it(
    db_session: Session, review: FeedbackItem, role: str, department: str | None, shown: bool
) -> None:
    """GET /feedback?q=张伟: a hit would confirm the masked name, so roles that see it masked are refused."""
    client, _ = _client(db_session, role, department)
    r = client.get("/api/v1/feedback", params={"q": "张伟"})
    if shown:
        assert r.status_code == 200 and r.json()["total"] == 1, r.text
    else:
        assert r.status_code == 422 and "张伟" not in r.text, r.text
    assert client.get("/api/v1/feedback", params={"q": "态度很差"}).json()["total"] == 1
