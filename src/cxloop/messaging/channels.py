"""Delivery channels of customer messages: SMS (Aliyun or Tencent Cloud), email (SMTP), shop webhook.

Each SMS provider builds its request exactly as its public API documents it and signs it with the
provider's scheme; ``send`` raises on any refusal so the outbox retries with backoff.

- Aliyun SMS (dysmsapi, RPC style, Version 2017-05-25): parameters sorted, percent-encoded (RFC 3986),
  ``StringToSign = METHOD & %2F & enc(canonicalized query)``, signature
  ``base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))``.
- Tencent Cloud SMS (API 3.0, Version 2021-01-11): JSON body, ``TC3-HMAC-SHA256`` over the canonical
  request, key derived from ``"TC3" + SecretKey`` -> date -> service -> ``tc3_request``.
- Shop webhook: JSON body; ``X-Cxloop-Signature: sha256=hex(HMAC-SHA256(secret, "<timestamp>.<body>"))``
  with ``X-Cxloop-Timestamp``, so the receiver can refuse replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

from cxloop.config import Settings, get_settings

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
TENCENT_ENDPOINT = "https://sms.tencentcloudapi.com/"
TIMEOUT_S = 10.0


class ChannelError(RuntimeError):
    """The channel refused or could not take the message (retried with backoff)."""


@dataclass(frozen=True)
class OutgoingSms:
    """What an SMS provider needs: number, provider template code, its parameters and our id."""

    phone: str
    template_code: str
    params: dict[str, str]
    out_id: str


class SmsProvider(Protocol):
    """One SMS provider: builds and sends a signed request, returns the provider's message id."""

    name: str

    def send(self, sms: OutgoingSms) -> str:
        """Send one SMS; raise ``ChannelError`` when refused."""
        ...


def _enc(value: str) -> str:
    # Aliyun's POP encoding: RFC 3986 unreserved characters stay, space is %20, '~' stays.
    return urllib.parse.quote(value, safe="~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Aliyun RPC signature of ``params`` (without Signature) for ``method``."""
    canonical = "&".join(f"{_enc(k)}={_enc(params[k])}" for k in sorted(params))
    string_to_sign = f"{method}&{_enc('/')}&{_enc(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def china_number(phone: str) -> str:
    """A phone number as digits, without +86 (Aliyun's form for mainland numbers)."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    return digits[3:] if digits.startswith("+86") else digits


class AliyunSms:
    """Alibaba Cloud SMS, ``SendSms`` (RPC style, form-encoded POST)."""

    name = "aliyun"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.endpoint = settings.sms_endpoint or ALIYUN_ENDPOINT

    def build(
        self, sms: OutgoingSms, *, at: datetime | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        """The signed form parameters of one SendSms request."""
        s = self.settings
        moment = at or datetime.now(UTC)
        params = {
            "AccessKeyId": s.sms_access_key_id or "",
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": sms.out_id,
            "PhoneNumbers": china_number(sms.phone),
            "RegionId": s.sms_region,
            "SignName": s.sms_sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": sms.template_code,
            "TemplateParam": json.dumps(sms.params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, s.sms_access_key_secret or "", "POST")
        return params

    def send(self, sms: OutgoingSms) -> str:
        """POST SendSms; Aliyun answers ``{"Code": "OK", "BizId": ...}`` when it accepted."""
        import httpx  # loads when a message is sent, not with every command that imports messaging

        try:
            response = httpx.post(self.endpoint, data=self.build(sms), timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise ChannelError(f"aliyun unreachable: {exc}") from exc
        try:
            reply = response.json()
        except ValueError:
            raise ChannelError(f"aliyun HTTP {response.status_code}: {response.text[:200]}") from None
        if response.status_code != 200 or reply.get("Code") != "OK":
            raise ChannelError(f"aliyun refused: {reply.get('Code')} {reply.get('Message')}")
        return str(reply.get("BizId") or reply.get("RequestId") or "")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tencent_authorization(
    *, secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int, service: str = "sms"
) -> str:
    """The TC3-HMAC-SHA256 ``Authorization`` header of a POST with a JSON ``payload``."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:application/json; charset=utf-8\nhost:{host}\n",
            signed_headers,
            _sha256_hex(payload),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, _sha256_hex(canonical_request.encode())]
    )
    key = _hmac256(_hmac256(_hmac256(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


class TencentSms:
    """Tencent Cloud SMS, API 3.0 ``SendSms`` (JSON POST, TC3-HMAC-SHA256)."""

    name = "tencent"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.endpoint = settings.sms_endpoint or TENCENT_ENDPOINT

    def build(self, sms: OutgoingSms, *, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
        """Headers and body of one signed SendSms request."""
        s = self.settings
        ts = int(time.time()) if timestamp is None else timestamp
        phone = china_number(sms.phone)
        body = {
            "PhoneNumberSet": [phone if phone.startswith("+") else f"+86{phone}"],
            "SmsSdkAppId": s.sms_app_id or "",
            "SignName": s.sms_sign_name,
            "TemplateId": sms.template_code,
            "TemplateParamSet": list(sms.params.values()),
            "SessionContext": sms.out_id,
        }
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        # The signed host is the one we connect to (a local test server, or the public endpoint).
        host = urllib.parse.urlsplit(self.endpoint).netloc
        headers = {
            "Authorization": tencent_authorization(
                secret_id=s.sms_access_key_id or "",
                secret_key=s.sms_access_key_secret or "",
                host=host,
                payload=payload,
                timestamp=ts,
            ),
            "Content-Type": "application/json; charset=utf-8",
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(ts),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": s.sms_region,
        }
        return headers, payload

    def send(self, sms: OutgoingSms) -> str:
        """POST SendSms; a reply with ``Response.Error`` or a status other than ``Ok`` is a refusal."""
        headers, payload = self.build(sms)
        import httpx  # loads when a message is sent, not with every command that imports messaging

        try:
            response = httpx.post(self.endpoint, content=payload, headers=headers, timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise ChannelError(f"tencent unreachable: {exc}") from exc
        try:
            reply = response.json().get("Response", {})
        except (ValueError, AttributeError):
            raise ChannelError(f"tencent HTTP {response.status_code}: {response.text[:200]}") from None
        if "Error" in reply:
            raise ChannelError(
                f"tencent refused: {reply['Error'].get('Code')} {reply['Error'].get('Message')}"
            )
        statuses = reply.get("SendStatusSet") or []
        if not statuses or statuses[0].get("Code") != "Ok":
            raise ChannelError(f"tencent refused: {statuses[:1]}")
        return str(statuses[0].get("SerialNo") or reply.get("RequestId") or "")


def sms_provider(settings: Settings | None = None) -> SmsProvider | None:
    """The configured SMS provider (``CXLOOP_SMS_PROVIDER``), or None when SMS is off."""
    s = settings or get_settings()
    if s.sms_provider == "aliyun":
        return AliyunSms(s)
    if s.sms_provider == "tencent":
        return TencentSms(s)
    return None


def message_id_header(message_id: int) -> str:
    """Stable Message-ID of a customer email: a repeat after a crash is recognisable as the same mail."""
    s = get_settings()
    domain = s.mail_from.rpartition("@")[2] or "localhost"
    tag = hashlib.sha256(f"{s.secret_key}:customer:{message_id}".encode()).hexdigest()[:12]
    return f"<cxloop-customer-{message_id}-{tag}@{domain}>"


def send_email(*, message_id: int, to: str, subject: str, body: str) -> str:
    """Send one email through the configured SMTP server; returns its Message-ID."""
    s = get_settings()
    mail = EmailMessage()
    mail["From"] = s.mail_from
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = message_id_header(message_id)
    mail.set_content(body)
    try:
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=20) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"smtp: {exc}") from exc
    return str(mail["Message-ID"])


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def send_webhook(*, message_id: int, payload: dict[str, Any], timestamp: int | None = None) -> str:
    """POST one message to the shop's own system, signed; a non-2xx answer is a failure."""
    s = get_settings()
    if not s.customer_webhook_url:
        raise ChannelError("CXLOOP_CUSTOMER_WEBHOOK_URL is not set")
    ts = int(time.time()) if timestamp is None else timestamp
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Cxloop-Delivery": str(message_id),
        "X-Cxloop-Timestamp": str(ts),
        "X-Cxloop-Signature": webhook_signature(s.customer_webhook_secret or "", ts, body),
    }
    import httpx  # loads when a message is sent, not with every command that imports messaging

    try:
        response = httpx.post(s.customer_webhook_url, content=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise ChannelError(f"shop webhook unreachable: {exc}") from exc
    if response.status_code // 100 != 2:
        raise ChannelError(f"shop webhook HTTP {response.status_code}: {response.text[:200]}")
    return str(message_id)
