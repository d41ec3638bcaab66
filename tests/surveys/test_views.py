"""The surveys API: list with figures, PUT a definition (422 with lines), invite, results, validate."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.customers.models import Customer
from cxloop.db import get_engine
from tests.web.helpers import csrf_from, login


def test_surveys_api(app_client: TestClient, sqlite_url: str) -> None:
    assert app_client.get("/api/v1/surveys").status_code == 401
    login(app_client, "admin", "admin-demo")
    csrf = {"x-csrf-token": csrf_from(app_client.get("/profile").text)}
    surveys = app_client.get("/api/v1/surveys").json()
    assert {s["key"] for s in surveys} >= {"after_delivery", "case_closed", "after_chat", "relationship_nps"}
    bad = app_client.put(
        "/api/v1/surveys/pulse", content="key: pulse\nname: {zh: a, en: b}\nquestions: []\n", headers=csrf
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["line"] == 3
    good = app_client.put(
        "/api/v1/surveys/pulse",
        content='key: pulse\nname: {zh: a, en: b}\nquestions:\n  - {id: nps, kind: nps, text: {zh: 推荐吗, en: "Recommend?"}}\n',
        headers=csrf,
    )
    assert good.json() == {"key": "pulse", "version": 1, "outcome": "created"}
    with Session(get_engine(sqlite_url)) as session:
        customer = Customer(external_id="c1", email="a@example.com", tier="new")
        session.add(customer)
        session.commit()
        customer_id = customer.id
    invited = app_client.post(
        "/api/v1/surveys/pulse/invitations", json={"customer_id": customer_id}, headers=csrf
    ).json()
    assert invited["sent"] is True and "/s/" in invited["link"]
    again = app_client.post(
        "/api/v1/surveys/pulse/invitations", json={"customer_id": customer_id}, headers=csrf
    ).json()
    assert (again["sent"], again["reason"]) == (False, "fatigue")
    path = "/s/" + invited["link"].rsplit("/s/", 1)[1]
    assert app_client.post(path, data={"nps": "10"}).status_code == 200
    results = app_client.get("/api/v1/surveys/pulse/results").json()
    assert results["distribution"]["nps"]["10"] == 1 and results["answered"] == 1
    checked = app_client.post("/api/v1/surveys/pulse/validate", json={"nps": 11}, headers=csrf).json()
    assert checked["valid"] is False and checked["errors"]["nps"]["error"] == "out_of_range"


def test_open_answers_are_masked_for_roles_without_contact_rights(
    app_client: TestClient, sqlite_url: str
) -> None:
    """What a customer wrote in an open answer is shown to managers and masked for analysts (API and page)."""
    from cxloop.surveys.jobs import follow_up_job

    login(app_client, "admin", "admin-demo")
    csrf = {"x-csrf-token": csrf_from(app_client.get("/profile").text)}
    definition = (
        "key: pulse\nname: {zh: a, en: b}\nquestions:\n"
        '  - {id: nps, kind: nps, text: {zh: 推荐吗, en: "Recommend?"}}\n'
        '  - {id: why, kind: open, text: {zh: 为什么, en: "Why?"}}\n'
    )
    assert app_client.put("/api/v1/surveys/pulse", content=definition, headers=csrf).status_code == 200
    with Session(get_engine(sqlite_url)) as session:
        customer = Customer(external_id="c1", email="a@example.com", tier="new")
        session.add(customer)
        session.commit()
        customer_id = customer.id
    link = app_client.post(
        "/api/v1/surveys/pulse/invitations", json={"customer_id": customer_id}, headers=csrf
    ).json()["link"]
    answer = {"nps": "3", "why": "快递太慢，打我电话 13812345678"}
    assert app_client.post("/s/" + link.rsplit("/s/", 1)[1], data=answer).status_code == 200
    follow_up_job()  # the answer's follow-up (analysis) runs off the request
    shown = app_client.get("/api/v1/surveys/pulse/results").json()["open_answers"]
    assert any("13812345678" in a["text"] for a in shown), shown
    app_client.post("/logout", headers=csrf)
    login(app_client, "analyst", "analyst-demo")
    masked = app_client.get("/api/v1/surveys/pulse/results").json()["open_answers"]
    assert masked and all("13812345678" not in a["text"] for a in masked)
    assert any("138****5678" in a["text"] for a in masked)
    page = app_client.get("/surveys/pulse").text
    assert "138****5678" in page and "13812345678" not in page
