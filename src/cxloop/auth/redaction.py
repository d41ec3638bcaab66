"""Masking personal data in text: phones, emails, names, addresses and WeChat ids.

Pure functions with no framework behind them, so services (feedback search, case titles) mask text
without importing the web stack; who sees what unmasked is cxloop.auth.policy's decision
(``can_see_contact``, ``redact_for``).
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")


def mask_phone(value: str | None) -> str | None:
    """138****1234: the first three and last four digits stay, for recognising a number."""
    if not value:
        return value
    digits = "".join(_DIGITS.findall(value))
    if len(digits) >= 11:
        local = digits[-11:]
        return f"{local[:3]}****{local[-4:]}"
    if len(digits) >= 7:
        return f"{digits[:2]}****{digits[-2:]}"
    return "****"


def mask_email(value: str | None) -> str | None:
    """z***@example.com."""
    if not value:
        return value
    local, at, domain = value.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_name(value: str | None) -> str | None:
    """张* / 张** ; Chen L. -> C***: the first character only."""
    if not value:
        return value
    value = value.strip()
    return value[:1] + "*" * max(1, min(len(value) - 1, 3))


def mask_address(value: str | None) -> str | None:
    """The first few characters (province or city) stay; the street is hidden."""
    if not value:
        return value
    return value[:6] + "****" if len(value) > 6 else value[:2] + "****"


def mask_wechat(value: str | None) -> str | None:
    """wx****: two characters stay."""
    if not value:
        return value
    return value[:2] + "****"


# Mainland mobiles (optionally +86 / 86, with spaces or dashes), landlines with area code, emails,
# WeChat ids after a label, and street addresses (路/街/道/巷/弄 + 号, or an English street line; the
# province, city and district before the street stay, like mask_address keeps them).
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)0\d{2,3}[\s-]\d{7,8}(?!\d)")
# ASCII only: `\w` would take the Chinese word before an address into it ("邮箱li@x.com").
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_WECHAT_RE = re.compile(r"(?i)(微信号?|wechat|weixin|vx|wx)(\s*(?:id)?\s*[:：]?\s*)([A-Za-z][\w-]{4,19})")
_ADDRESS_RE = re.compile(
    r"(?:(?![省市区县])[\u4e00-\u9fff]){1,8}(?:路|街|道|巷|弄|大道)\s*\d{1,5}\s*号(?:[\u4e00-\u9fff\d\-#]{0,12}(?:室|楼|层|单元|座))?"
    r"|(?i:\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Boulevard|Blvd)\b\.?)"
)
ADDRESS_PLACEHOLDER = "[地址]"


def redact_text(text: str | None) -> str | None:
    """``text`` with phones, emails, WeChat ids and street addresses masked (titles, subjects, previews)."""
    if not text:
        return text
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)) or "", text)
    text = _WECHAT_RE.sub(lambda m: m.group(1) + m.group(2) + (mask_wechat(m.group(3)) or ""), text)
    text = _PHONE_RE.sub(lambda m: mask_phone(m.group(0)) or "", text)
    text = _LANDLINE_RE.sub(lambda m: mask_phone(m.group(0)) or "", text)
    return _ADDRESS_RE.sub(ADDRESS_PLACEHOLDER, text)
