"""Survey definitions: question kinds, skip logic references, and YAML errors with file and line."""

from __future__ import annotations

import pytest

from cxloop.surveys.service import (
    DEFAULT_SURVEY_KEYS,
    DefinitionError,
    default_definitions,
    parse_definitions,
)

GOOD = """\
key: pulse
name: {zh: 脉搏, en: Pulse}
questions:
  - id: csat
    kind: csat
    points: 3
    required: true
    text: {zh: 满意吗, en: "Happy?"}
  - id: why
    kind: open
    show_if: {question: csat, max: 1}
    text: {zh: 哪里让您不满意？, en: "What disappointed you?"}
  - id: speed
    kind: aspect
    aspect: delivery_speed
    text: {zh: 配送速度您满意吗？, en: "Was delivery fast enough?"}
  - id: pick
    kind: single
    text: {zh: 选一个, en: Pick one}
    options:
      - {value: a, text: {zh: 甲, en: A}}
      - {value: b, text: {zh: 乙, en: B}}
"""


def test_shipped_defaults_have_the_contract_keys() -> None:
    definitions = {d.key: d for d in default_definitions()}
    assert set(definitions) == set(DEFAULT_SURVEY_KEYS)
    after_delivery = definitions["after_delivery"]
    assert [q.kind for q in after_delivery.questions if q.show_if is None] == ["csat"]
    assert {q.kind for q in after_delivery.questions} == {"csat", "open"}
    assert [q.kind for q in definitions["case_closed"].questions][:2] == ["csat", "ces"]
    assert definitions["relationship_nps"].questions[0].kind == "nps"
    unhappy = after_delivery.question("unhappy")
    assert unhappy is not None and unhappy.text.zh == "哪里让您不满意？"


def test_a_good_definition_parses() -> None:
    (definition,) = parse_definitions(GOOD, source="pulse.yaml")
    assert definition.key == "pulse"
    assert definition.questions[0].scale() == (1, 3)
    assert definition.questions[2].scale() == (1, 5)


@pytest.mark.parametrize(
    ("change", "line", "expected"),
    [
        (("points: 3", "points: 7"), 4, "points must be 2..5"),
        (("kind: open", "kind: essay"), 10, "Input should be"),
        (("aspect: delivery_speed", "aspect: teleport"), 15, "an aspect of the taxonomy"),
        (("show_if: {question: csat, max: 1}", "show_if: {question: nope, max: 1}"), 11, "earlier question"),
        (("  - id: why", "  - id: csat"), 1, "used twice"),
        (('text: {zh: 满意吗, en: "Happy?"}', "text: {zh: 满意吗}"), 8, "Field required"),
        (("    required: true", "    required: true\n    colour: red"), 8, "Extra inputs"),
    ],
)
def test_bad_definitions_name_file_line_and_expectation(
    change: tuple[str, str], line: int, expected: str
) -> None:
    text = GOOD.replace(*change, 1)
    with pytest.raises(DefinitionError) as info:
        parse_definitions(text, source="pulse.yaml")
    problem = info.value.problems[0]
    assert problem["file"] == "pulse.yaml"
    assert expected in problem["expected"], problem
    assert problem["line"] == line, problem
    assert "pulse.yaml:" in str(info.value)


def test_broken_yaml_is_reported_with_its_line() -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definitions("key: x\nname: {zh: a, en: b\nquestions: []\n", source="bad.yaml")
    assert info.value.problems[0]["line"] == 3
    assert "valid YAML" in info.value.problems[0]["expected"]


def test_several_surveys_in_one_file_are_refused_together() -> None:
    second = GOOD.replace("key: pulse", "key: pulse2").replace("points: 3", "points: 9")
    text = "surveys:\n" + "\n".join(
        ("    " if i else "  - ") + line for doc in (GOOD, second) for i, line in enumerate(doc.splitlines())
    )
    with pytest.raises(DefinitionError) as info:
        parse_definitions(text, source="two.yaml")
    assert [(p["field"], p["line"]) for p in info.value.problems] == [("questions.0", 27)]
