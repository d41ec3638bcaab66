"""The zh and en catalogues hold the same keys, and every key the code uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from cxloop.i18n import both_locales, catalogue, in_locale, localized, normalize_locale, translate

WEB = Path(__file__).parents[2] / "src" / "cxloop"


def test_catalogues_have_the_same_keys() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    assert all(value.strip() for value in [*zh.values(), *en.values()])


def test_placeholders_match() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_every_literal_key_used_exists() -> None:
    zh = catalogue("zh")
    used = set()
    for path in [*(WEB / "web").rglob("*.html"), *(WEB / "web").rglob("*.py"), *(WEB / "auth").rglob("*.py")]:
        used |= set(re.findall(r"""\bt\(\s*['"]([a-z_]+\.[a-z_.]+)['"]""", path.read_text(encoding="utf-8")))
    missing = sorted(key for key in used if key not in zh)
    assert not missing


def test_translate_formats_and_falls_back() -> None:
    assert translate("overview.title", "en", month="2026-09") == "Overview 2026-09"
    assert translate("overview.title", "zh", month="2026-09") == "2026-09 月度总览"
    assert translate("no.such.key", "en") == "no.such.key"
    assert normalize_locale("en-US") == "en" and normalize_locale("fr") is None


def test_localized_names_come_from_their_own_fields() -> None:
    department = {"name_zh": "仓储部", "name_en": "Warehouse"}
    assert localized(department, "en") == "Warehouse"
    assert localized(department, "zh") == "仓储部"
    assert localized({"name": {"zh": "包装", "en": "Packaging"}}, "en") == "Packaging"


def test_names_in_both_languages_show_the_readers_part() -> None:
    name = "仓库拣货变慢 / Warehouse picking slowed"
    assert (in_locale(name, "zh"), in_locale(name, "en")) == ("仓库拣货变慢", "Warehouse picking slowed")
    # Anything else is shown as it is: one language, several separators, or an empty side.
    for text in ("退货/退款", "a / b / c", " / only en", ""):
        assert in_locale(text, "en") == text
    assert in_locale(None, "zh") == ""
    assert both_locales(name, "（warehouse=WH-SH）", " (warehouse=WH-SH)") == (
        "仓库拣货变慢（warehouse=WH-SH） / Warehouse picking slowed (warehouse=WH-SH)"
    )
    assert both_locales("拣货慢", "（x=1）", " (x=1)") == "拣货慢（x=1）"
