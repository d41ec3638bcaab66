"""The typed settings: the loop section loads from its defaults and an override file, and checks it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cxloop.config import get_settings


def test_loop_section_defaults() -> None:
    loop = get_settings().loop
    assert loop.case_sla.first_response_minutes["critical"] == 30
    assert loop.outbox.max_attempts == 8
    assert loop.promises["30min"].text("en") == "within 30 minutes"
    assert loop.promises["30min"].text("fr") == "30分钟内"  # unknown locale: Simplified Chinese


def test_loop_override_file_from_environment(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("outbox:\n  max_attempts: 3\n", encoding="utf-8")
    monkeypatch.setenv("CXLOOP_LOOP_CONFIG", str(path))
    get_settings.cache_clear()
    loop = get_settings().loop
    assert loop.outbox.max_attempts == 3
    assert loop.outbox.batch_size == 200  # the rest of the section keeps its defaults


def test_misspelt_loop_key_is_an_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("outbox:\n  max_attempt: 3\n", encoding="utf-8")
    monkeypatch.setenv("CXLOOP_LOOP_CONFIG", str(path))
    get_settings.cache_clear()
    with pytest.raises(ValidationError, match="max_attempt"):
        _ = get_settings().loop


def test_message_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXLOOP_LOCALE", "en_US.UTF-8")
    get_settings.cache_clear()
    assert get_settings().message_locale == "en"
    monkeypatch.setenv("CXLOOP_LOCALE", "fr")
    get_settings.cache_clear()
    assert get_settings().message_locale == "zh"
