"""Each channel against a local server that checks the provider's documented format and signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.customers.models import Customer
from cxloop.messaging import service
from cxloop.messaging.models import CustomerMessage

from .conftest import Recorder

KEY_ID, SECRET = "LTAI-test", "s3cr3t/+="


def _setup(url: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> Customer:
    for key, value in env.items():
        monkeypatch.setenv(f"CXLOOP_{key.upper()}", value)
    get_settings.cache_clear()
    with Session(create_engine(url)) as db:
        c = Customer(
            external_id="C1",
            name="韩梅梅",
            phone="13912345678",
            email="mei@example.com",
            consent_marketing=True,
        )
        db.add(c)
        db.commit()
        service.send_to_customer(
            db,
            customer_id=c.id,
            template="shipping_notice",
            purpose="service",
            source="test",
            dedupe_key="s1",
            context={
                "order": "DD1",
                "product": "绿茶",
                "shipped_date": "12月2日",
                "carrier": "顺丰",
                "link": "L",
            },
            now=datetime(2026, 12, 1, 10, 0),
        )
        db.commit()
        return c


def _pop_encode(value: str) -> str:
    # Written from Aliyun's signature doc independently of the code under test.
    return urllib.parse.quote(value, safe="-_.~")


def test_aliyun_sendsms_is_signed_as_documented(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, http_server: Recorder
) -> None:
    http_server.reply = lambda r: (
        200,
        {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "x"},
    )
    _setup(
        sqlite_url,
        monkeypatch,
        sms_provider="aliyun",
        sms_endpoint=http_server.url,
        sms_access_key_id=KEY_ID,
        sms_access_key_secret=SECRET,
        sms_sign_name="测试店",
    )
    report = service.deliver_pending(url=sqlite_url, at=datetime(2026, 12, 1, 10, 1))
    assert report.sent == 1, report.errors
    request = http_server.requests[0]
    params = dict(urllib.parse.parse_qsl(request["body"].decode()))
    signature = params.pop("Signature")
    assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25"
    assert params["SignatureMethod"] == "HMAC-SHA1" and params["SignatureVersion"] == "1.0"
    assert params["PhoneNumbers"] == "13912345678" and params["SignName"] == "测试店"
    assert params["TemplateCode"] == "SMS_CXLOOP_CONTENT"
    assert "已于12月2日寄出" in json.loads(params["TemplateParam"])["content"]
    datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    canonical = "&".join(f"{_pop_encode(k)}={_pop_encode(v)}" for k, v in sorted(params.items()))
    to_sign = "POST&%2F&" + _pop_encode(canonical)
    expected = base64.b64encode(
        hmac.new(f"{SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    ).decode()
    assert signature == expected
    with Session(create_engine(sqlite_url)) as db:
        row = db.query(CustomerMessage).one()
        assert row.status == "sent" and row.provider_ref.startswith("900619")


def _tc3(secret_key: str, headers: dict[str, str], body: bytes) -> str:
    # Written from Tencent Cloud's "signature v3" doc independently of the code under test.
    auth = headers["Authorization"]
    assert auth.startswith("TC3-HMAC-SHA256 Credential=AKID-test/")
    signed = auth.split("SignedHeaders=")[1].split(",")[0]
    ts = int(headers["X-TC-Timestamp"])
    date = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
    lower = {k.lower(): v for k, v in headers.items()}
    canon_headers = "".join(
        f"{h}:{lower[h].strip().lower() if h != 'content-type' else lower[h]}\n" for h in signed.split(";")
    )
    canonical = f"POST\n/\n\n{canon_headers}\n{signed}\n{hashlib.sha256(body).hexdigest()}"
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{ts}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(h(h(("TC3" + secret_key).encode(), date), "sms"), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_tencent_sendsms_is_signed_with_tc3(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, http_server: Recorder
) -> None:
    http_server.reply = lambda r: (
        200,
        {"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "2028:1"}], "RequestId": "r"}},
    )
    _setup(
        sqlite_url,
        monkeypatch,
        sms_provider="tencent",
        sms_endpoint=http_server.url,
        sms_app_id="1400000001",
        sms_access_key_id="AKID-test",
        sms_access_key_secret="tc-secret",
        sms_region="ap-guangzhou",
    )
    assert service.deliver_pending(url=sqlite_url, at=datetime(2026, 12, 1, 10, 1)).sent == 1
    request = http_server.requests[0]
    headers, body = request["headers"], request["body"]
    assert headers["X-TC-Action"] == "SendSms" and headers["X-TC-Version"] == "2021-01-11"
    assert headers["X-TC-Region"] == "ap-guangzhou"
    payload = json.loads(body)
    assert payload["PhoneNumberSet"] == ["+8613912345678"] and payload["SmsSdkAppId"] == "1400000001"
    assert "寄出" in payload["TemplateParamSet"][0]
    assert headers["Authorization"].endswith("Signature=" + _tc3("tc-secret", headers, body))


def test_shop_webhook_is_signed_with_timestamp(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, http_server: Recorder
) -> None:
    _setup(
        sqlite_url,
        monkeypatch,
        sms_provider="none",
        customer_webhook_url=http_server.url,
        customer_webhook_secret="hook-key",
    )
    with Session(create_engine(sqlite_url)) as db:
        db.query(Customer).update({"email": None, "preferred_channel": "wechat"})
        db.commit()
        row = service.send_to_customer(
            db,
            customer_id=1,
            template="messaging.test",
            context={},
            purpose="service",
            source="t",
            dedupe_key="w",
        )
        db.commit()
        assert row.channel == "webhook"
    service.deliver_pending(url=sqlite_url)
    hook = next(r for r in http_server.requests if json.loads(r["body"])["template"] == "messaging.test")
    ts, sig = hook["headers"]["X-Cxloop-Timestamp"], hook["headers"]["X-Cxloop-Signature"]
    expected = hmac.new(b"hook-key", f"{ts}.".encode() + hook["body"], hashlib.sha256).hexdigest()
    assert sig == f"sha256={expected}" and json.loads(hook["body"])["customer"] == "C1"


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(envelope)
        return "250 OK"


def test_email_goes_through_real_smtp(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = _Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _setup(sqlite_url, monkeypatch, sms_provider="none", smtp_port=str(port))
        assert service.deliver_pending(url=sqlite_url).sent == 1
    finally:
        controller.stop()
    assert inbox.mails[0].rcpt_tos == ["mei@example.com"]
    assert "=?utf-8?" in inbox.mails[0].content.decode() or "Subject" in inbox.mails[0].content.decode()


def test_provider_down_is_retried_with_backoff_then_failed(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, http_server: Recorder
) -> None:
    http_server.reply = lambda r: (503, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "down"})
    _setup(
        sqlite_url,
        monkeypatch,
        sms_provider="aliyun",
        sms_endpoint=http_server.url,
        sms_access_key_id=KEY_ID,
        sms_access_key_secret=SECRET,
        message_max_attempts="3",
    )
    at = datetime(2026, 12, 1, 10, 1)
    first = service.deliver_pending(url=sqlite_url, at=at)
    assert first.retried == 1
    with Session(create_engine(sqlite_url)) as db:
        row = db.query(CustomerMessage).one()
        assert row.status == "queued" and row.attempts == 1 and "BUSINESS_LIMIT" in (row.last_error or "")
        due = row.next_attempt_at
    assert service.deliver_pending(url=sqlite_url, at=at).sent == 0  # not due yet: backoff holds
    assert due is not None
    service.deliver_pending(url=sqlite_url, at=due + timedelta(hours=7))
    final = service.deliver_pending(url=sqlite_url, at=due + timedelta(hours=14))
    assert final.failed == 1
    with Session(create_engine(sqlite_url)) as db:
        row = db.query(CustomerMessage).one()
        assert row.status == "failed" and row.attempts == 3
        assert service.list_messages(db_session=db, status="failed")[0].id == row.id
    assert len(http_server.requests) == 3
