"""Journey files are checked as a whole: an unknown trigger, field, template variable or a cycle is
refused with the file, the line and what was expected."""

from __future__ import annotations

import pytest

from cxloop.journeys.definition import parse_duration, parse_journeys
from cxloop.journeys.service import DEFAULT_FILES
from cxloop.messaging.yamlspan import ConfigFileError

GOOD = """\
key: a
trigger: {event: order.placed}
steps:
- wait: 15 minutes
- send: unpaid_reminder.new
"""


def _problems(text: str, known: dict | None = None) -> str:
    with pytest.raises(ConfigFileError) as err:
        parse_journeys(text, "shop.yaml", known=known)
    return str(err.value)


def test_shipped_journeys_load() -> None:
    keys = {
        j["key"]
        for path in DEFAULT_FILES
        for j in parse_journeys(path.read_text(encoding="utf-8"), str(path))
    }
    assert {
        "unpaid_reminder",
        "cart_offer",
        "chat_reask",
        "shipping_notice",
        "thank_you",
        "follow_up",
        "festival_greetings",
        "delivery_care",
        "survey_after_delivery",
        "survey_case_closed",
        "survey_after_chat",
        "survey_relationship_nps",
    } <= keys


def test_durations() -> None:
    assert parse_duration("15 minutes").total_seconds() == 900  # type: ignore[union-attr]
    assert parse_duration("2 weeks").days == 14  # type: ignore[union-attr]
    assert parse_duration("1天").days == 1  # type: ignore[union-attr]
    assert parse_duration("soon") is None


def test_unknown_trigger_is_refused_with_line() -> None:
    text = GOOD.replace("order.placed", "order.teleported")
    message = _problems(text)
    assert "shop.yaml:2" in message and "order.teleported" in message and "order.placed" in message


def test_unknown_field_and_condition_are_refused() -> None:
    message = _problems(GOOD + "colour: red\n")
    assert "shop.yaml:6" in message and "'colour'" in message
    message = _problems(
        GOOD.replace("- wait: 15 minutes", "- wait: 15 minutes\n- when: {shoe_size: 42}\n  tag: x")
    )
    assert "shop.yaml:5" in message and "shoe_size" in message and "amount_at_least" in message


def test_template_variable_the_trigger_lacks_is_refused() -> None:
    text = GOOD.replace("order.placed", "cart.added")
    message = _problems(text)
    assert "shop.yaml:5" in message and "'order'" in message and "vars" in message


def test_cycle_of_start_journey_is_refused_as_a_whole() -> None:
    text = """\
journeys:
- key: a
  trigger: {event: order.placed}
  steps: [{start_journey: b}]
- key: b
  trigger: {event: order.paid}
  steps: [{start_journey: a}]
"""
    message = _problems(text)
    assert "cycle" in message and "a -> b -> a" in message
    assert "unknown journey 'zzz'" in _problems(GOOD + "- start_journey: zzz\n")


def test_every_problem_is_listed_at_once() -> None:
    text = "key: Bad Key\ntrigger: {event: nope}\nsteps:\n- wait: soon\n- send: {template: no_such}\n"
    problems = _problems(text).splitlines()
    assert len(problems) >= 4
    assert any("shop.yaml:4" in p and "duration" in p for p in problems)
    assert any("shop.yaml:5" in p and "no_such" in p for p in problems)
