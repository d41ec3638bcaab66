"""Each chat webhook is delivered to a local HTTP server, signed the way that service documents."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.loop.models import Notification
from cxloop.loop.notifications.service import deliver_pending, notify
from cxloop.loop.webhooks import save_webhook

SECRET = "SEC-test-secret-123"


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.server.received.append(  # type: ignore[attr-defined]
            {"path": self.path, "headers": dict(self.headers), "body": body}
        )
        reply = json.dumps(
            {"errcode": 0, "errmsg": "ok"} if "feishu" not in self.path else {"code": 0}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    httpd.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _deliver(
    db_session: Session, server: HTTPServer, kind: str, path: str, secret: str | None
) -> dict[str, Any]:
    base = f"http://127.0.0.1:{server.server_port}{path}"
    save_webhook(db_session=db_session, name=kind, kind=kind, url=base, secret=secret, actor="test")
    notify(
        db_session=db_session,
        event="alert_opened",
        ref=f"test:{kind}",
        people=[],
        context={
            "rule": {"name": "破损率"},
            "alert": {"message": "damage_rate 7% > 1.5%", "scope_key": "carrier:CR-SD", "severity": "high"},
            "department_name": "物流部",
        },
    )
    db_session.commit()
    report = deliver_pending()
    assert report.sent == 1, report.errors
    assert len(server.received) == 1  # type: ignore[attr-defined]
    row = db_session.scalars(select(Notification).where(Notification.channel == "webhook")).one()
    db_session.refresh(row)
    assert row.status == "sent"
    request: dict[str, Any] = server.received[0]  # type: ignore[attr-defined]
    request["json"] = json.loads(request["body"])
    assert request["headers"]["X-Cxloop-Delivery"] == str(row.id)
    return request


def test_dingtalk_signature(db_session: Session, server: HTTPServer) -> None:
    req = _deliver(db_session, server, "dingtalk", "/robot/send?access_token=abc", SECRET)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(req["path"]).query)
    assert query["access_token"] == ["abc"]
    timestamp = query["timestamp"][0]
    assert abs(int(timestamp) / 1000 - time.time()) < 60  # milliseconds, fresh (DingTalk allows 1 hour)
    # DingTalk: sign = base64(HmacSHA256(key=secret, msg=timestamp + "\n" + secret)), then URL-encoded
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]  # parse_qs undoes the URL encoding
    assert req["json"]["msgtype"] == "markdown"
    assert "破损率" in req["json"]["markdown"]["title"]


def test_feishu_signature(db_session: Session, server: HTTPServer) -> None:
    req = _deliver(db_session, server, "feishu", "/open-apis/bot/v2/hook/xyz-feishu", SECRET)
    body = req["json"]
    timestamp = body["timestamp"]
    assert abs(int(timestamp) - time.time()) < 60  # seconds
    # Feishu: sign = base64(HmacSHA256(key=timestamp + "\n" + secret, msg=empty))
    expected = base64.b64encode(
        hmac.new(f"{timestamp}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert body["sign"] == expected
    assert body["msg_type"] == "text" and "damage_rate" in body["content"]["text"]


def test_wecom_key_and_markdown(db_session: Session, server: HTTPServer) -> None:
    req = _deliver(db_session, server, "wecom", "/cgi-bin/webhook/send", "KEY-693a91f6")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(req["path"]).query)
    assert query["key"] == ["KEY-693a91f6"]  # a WeCom group robot is authorised by its key
    assert req["json"]["msgtype"] == "markdown"
    assert "破损率" in req["json"]["markdown"]["content"]


def test_slack_compatible_signature(db_session: Session, server: HTTPServer) -> None:
    req = _deliver(db_session, server, "slack", "/services/T000/B000/XXX", SECRET)
    ts = req["headers"]["X-Slack-Request-Timestamp"]
    # Slack v0: "v0=" + hex(HmacSHA256(secret, "v0:" + timestamp + ":" + raw body))
    expected = (
        "v0="
        + hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + req["body"], hashlib.sha256).hexdigest()
    )
    assert req["headers"]["X-Slack-Signature"] == expected
    assert "damage_rate" in req["json"]["text"]


def test_refused_webhook_is_retried_with_backoff(db_session: Session) -> None:
    # Nothing listens on this port: the message goes back to pending with a later attempt time.
    save_webhook(db_session=db_session, name="down", kind="slack", url="http://127.0.0.1:9/hook", actor="t")
    notify(
        db_session=db_session,
        event="alert_opened",
        ref="test:down",
        people=[],
        context={
            "rule": {"name": "x"},
            "alert": {"message": "m", "scope_key": "", "severity": "low"},
            "department_name": "d",
        },
    )
    db_session.commit()
    report = deliver_pending()
    assert report.sent == 0 and report.retried == 1
    row = db_session.scalars(select(Notification)).one()
    db_session.refresh(row)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert row.next_attempt_at > row.created_at
    assert deliver_pending().retried == 0  # not due yet: backoff
