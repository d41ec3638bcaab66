"""Message templates are checked when loaded: an undeclared variable is an error with file and line."""

from __future__ import annotations

import pytest

from cxloop.messaging import service
from cxloop.messaging.templates import parse_templates, registry
from cxloop.messaging.yamlspan import ConfigFileError


def test_shipped_templates_load_and_preview_on_sample_data() -> None:
    templates = registry()
    assert {"shipping_notice", "unpaid_reminder.new", "festival_greeting", "case.update"} <= set(templates)
    out = service.preview(template="shipping_notice", locale="zh")
    assert "您订购的有机绿茶礼盒已于2026-12-02寄出" in out["body"]
    assert service.preview(template="shipping_notice", locale="en")["body"].startswith("Hello 张伟")


def test_an_undeclared_variable_is_a_load_error_with_file_and_line() -> None:
    text = (
        "ok:\n  purpose: service\n  variables: [order]\n  zh: {body: '{{ order }}'}\n  en: {body: '{{ order }}'}\n"
        "bad:\n  purpose: service\n  variables: [order]\n"
        "  zh:\n    body: '{{ name }} {{ ordr }}'\n  en: {body: x}\n"
    )
    with pytest.raises(ConfigFileError) as err:
        parse_templates(text, "shop.yaml")
    message = str(err.value)
    assert "shop.yaml:10" in message and "'ordr'" in message and "order" in message


def test_unknown_field_and_bad_purpose_are_refused() -> None:
    text = "x:\n  purpose: spam\n  colour: red\n  zh: {body: a}\n  en: {body: b}\n"
    with pytest.raises(ConfigFileError) as err:
        parse_templates(text, "t.yaml")
    assert "t.yaml:3" in str(err.value) and "colour" in str(err.value)
    assert "purpose must be" in str(err.value)
