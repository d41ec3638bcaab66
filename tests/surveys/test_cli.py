"""``cxloop surveys``: load (refused whole with file:line), list, invite, link with QR code."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.cli import app
from cxloop.customers.models import Customer
from cxloop.db import get_engine
from cxloop.surveys import service

runner = CliRunner()

SURVEY = """\
key: pulse
name: {zh: 脉搏, en: Pulse}
questions:
  - id: ces
    kind: ces
    required: true
    text: {zh: 容易吗, en: Easy}
"""


def test_load_list_invite_and_link(sqlite_url: str, tmp_path: Path) -> None:
    good = tmp_path / "pulse.yaml"
    good.write_text(SURVEY, encoding="utf-8")
    result = runner.invoke(app, ["surveys", "load", str(good)])
    assert result.exit_code == 0, result.output
    assert "pulse: created" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SURVEY.replace("key: pulse", "key: pulse2").replace("kind: ces", "kind: stars"), encoding="utf-8"
    )
    refused = runner.invoke(app, ["surveys", "load", str(bad)])
    assert refused.exit_code == 1
    assert f"{bad}:5: questions.0.kind:" in refused.output.replace("\n", "")
    listed = runner.invoke(app, ["surveys", "list", "--json"])
    assert (
        '"pulse"' in listed.output and '"pulse2"' not in listed.output and '"after_delivery"' in listed.output
    )
    with Session(get_engine(sqlite_url)) as session:
        customer = Customer(external_id="c1", email="c1@example.com")
        session.add(customer)
        session.commit()
        customer_id = customer.id
    invited = runner.invoke(app, ["surveys", "invite", "pulse", "--customer", str(customer_id)])
    assert invited.exit_code == 0 and "/s/" in invited.output
    qr = tmp_path / "qr.svg"
    link = runner.invoke(app, ["surveys", "link", "after_delivery", "--qr", str(qr)])
    assert link.exit_code == 0 and "/s/" in link.output
    assert qr.read_text(encoding="utf-8").startswith("<svg")
    assert service.read_token(link.output.strip().rsplit("/s/", 1)[1]).anonymous
