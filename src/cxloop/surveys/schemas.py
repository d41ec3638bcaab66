"""The survey definition (questions, skip logic, texts) and the API's request and response shapes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Question kinds a survey may ask.
QUESTION_KINDS = ("csat", "nps", "ces", "single", "multiple", "open", "aspect")
#: Fixed score ranges; CSAT and aspect questions use 1..points with points <= 5 (seed 001).
SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "ces": (1, 7)}
MAX_CSAT_POINTS = 5
MAX_OPEN_LENGTH = 2000
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class Text(BaseModel):
    """A text in Simplified Chinese and English (both required: the customer's language is chosen)."""

    model_config = ConfigDict(extra="forbid")

    zh: str = Field(min_length=1, max_length=500)
    en: str = Field(min_length=1, max_length=500)

    def get(self, locale: str) -> str:
        """The text in ``locale`` (zh for anything else)."""
        return self.en if locale == "en" else self.zh


class Option(BaseModel):
    """One choice of a single or multiple choice question."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    text: Text


class ShowIf(BaseModel):
    """Skip logic: show a question only when an earlier scored question's answer lies in [min, max]."""

    model_config = ConfigDict(extra="forbid")

    question: str
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ShowIf:
        if self.min is None and self.max is None:
            raise ValueError("show_if needs min or max")
        return self

    def matches(self, value: Any) -> bool:
        """Whether an answer ``value`` of the referenced question shows the question."""
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class Question(BaseModel):
    """One question of a survey."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    kind: Literal["csat", "nps", "ces", "single", "multiple", "open", "aspect"]
    text: Text
    required: bool = False
    #: CSAT and aspect questions: number of options, at most 5 (more options confuse customers).
    points: int | None = None
    options: list[Option] | None = None
    #: Aspect questions: the taxonomy aspect asked about (e.g. delivery_speed).
    aspect: str | None = None
    show_if: ShowIf | None = None
    #: Labels under the lowest and highest point of a scale.
    low_label: Text | None = None
    high_label: Text | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> Question:
        if self.kind in ("csat", "aspect"):
            points = self.points if self.points is not None else MAX_CSAT_POINTS
            if not 2 <= points <= MAX_CSAT_POINTS:
                raise ValueError(f"points must be 2..{MAX_CSAT_POINTS} for a {self.kind} question")
            self.points = points
        elif self.points is not None:
            raise ValueError(f"points is only for csat and aspect questions, not {self.kind}")
        if self.kind in ("single", "multiple"):
            if not self.options or len(self.options) < 2:
                raise ValueError(f"a {self.kind} question needs at least 2 options")
            values = [o.value for o in self.options]
            if len(set(values)) != len(values):
                raise ValueError("option values must be unique")
        elif self.options:
            raise ValueError(f"options are only for single and multiple questions, not {self.kind}")
        if self.kind == "aspect" and not self.aspect:
            raise ValueError("an aspect question names its taxonomy aspect (aspect: delivery_speed)")
        if self.kind != "aspect" and self.aspect:
            raise ValueError("aspect is only for aspect questions")
        return self

    @property
    def scored(self) -> bool:
        """Whether the answer is a number on a scale."""
        return self.kind in ("csat", "nps", "ces", "aspect")

    def scale(self) -> tuple[int, int]:
        """The lowest and highest score (scored kinds only)."""
        if self.kind in ("csat", "aspect"):
            return 1, int(self.points or MAX_CSAT_POINTS)
        return SCORE_RANGES[self.kind]


class CaseRules(BaseModel):
    """Detractor recovery: an answer at or below these scores opens a complaint case."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    csat_max: int | None = 2
    nps_max: int | None = 4
    #: CES runs 1..7 with 7 = very easy, so a low score is a hard experience.
    ces_max: int | None = 2
    aspect_max: int | None = None
    department: str = "customer_service"
    priority: Literal["critical", "high", "medium", "low"] = "high"


class SurveyDefinition(BaseModel):
    """A whole survey as written in YAML or the editor."""

    model_config = ConfigDict(extra="forbid")

    key: str
    name: Text
    intro: Text | None = None
    thanks: Text | None = None
    #: The trigger it is meant for (informational; journeys decide when to invite).
    trigger: str = "manual"
    #: Journey stage the answers speak about (vocab.STAGES), carried to the feedback item.
    touchpoint: str | None = None
    active: bool = True
    #: Days a personal link stays valid.
    link_days: int = Field(14, ge=1, le=365)
    questions: list[Question] = Field(min_length=1, max_length=30)
    case_rules: CaseRules = Field(default_factory=CaseRules)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_RE.match(value):
            raise ValueError("key must be 2-64 lower-case letters, digits or _ and start with a letter")
        return value

    @model_validator(mode="after")
    def _references(self) -> SurveyDefinition:
        seen: dict[str, Question] = {}
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} is used twice")
            if question.show_if is not None:
                target = seen.get(question.show_if.question)
                if target is None:
                    raise ValueError(
                        f"question {question.id!r}: show_if names {question.show_if.question!r}, "
                        "which must be an earlier question"
                    )
                if not target.scored:
                    raise ValueError(f"question {question.id!r}: show_if must name a scored question")
            seen[question.id] = question
        return self

    def question(self, question_id: str) -> Question | None:
        """The question with ``question_id``, or None."""
        return next((q for q in self.questions if q.id == question_id), None)


class InviteRequest(BaseModel):
    """POST /api/v1/surveys/{key}/invitations."""

    customer_id: int
    trigger: str = "manual"
    order_id: int | None = None
    case_id: int | None = None
    reminder: bool = False


class InviteOut(BaseModel):
    """What an invitation did."""

    sent: bool
    reason: str | None
    invitation_id: int | None
    link: str | None
    message_id: int | None = None


class SurveyOut(BaseModel):
    """A survey with its figures."""

    key: str
    name_zh: str
    name_en: str
    active: bool
    version: int
    invited: int
    answered: int
    response_rate: float | None
    csat: float | None
    nps: float | None
    ces: float | None
    updated_at: datetime | None = None


class SurveyDefinitionOut(BaseModel):
    """One survey's definition and version (``GET /surveys/{key}``)."""

    key: str
    version: int
    definition: SurveyDefinition


class SurveySaved(BaseModel):
    """What ``PUT /surveys/{key}`` did: the survey's version and created, updated or unchanged."""

    key: str
    version: int
    outcome: str


class AnswerProblem(BaseModel):
    """Why one answer does not fit its question: the message key (e.g. out_of_range) and its values."""

    model_config = ConfigDict(extra="allow")

    error: str


class ValidationOut(BaseModel):
    """Answers checked against a survey without storing them: the clean answers, or each problem."""

    valid: bool
    answers: dict[str, Any] | None = None
    errors: dict[str, AnswerProblem] | None = None


class TrendPoint(BaseModel):
    """One week (its Monday) of a survey's answers: each scored kind's headline score and count."""

    week: str
    csat: float | None = None
    nps: float | None = None
    ces: float | None = None
    csat_n: int | None = None
    nps_n: int | None = None
    ces_n: int | None = None


class AspectAnswers(BaseModel):
    """One taxonomy aspect: its question's mean score, and what the analysis found in open answers."""

    aspect: str
    name: str
    asked: int
    mean: float | None
    low: int
    mentions: int
    negative: int
    positive: int


class FoundAspect(BaseModel):
    """An aspect the analysis found in an open answer, with its sentiment."""

    aspect: str
    name: str
    sentiment: str | None


class OpenAnswer(BaseModel):
    """An open answer (its feedback item) with its analysis and the recovery case it opened."""

    feedback_id: int
    text: str
    sentiment: str | None
    rating: int | None
    at: datetime
    case_id: int | None
    aspects: list[FoundAspect]


class RateRow(BaseModel):
    """Invited, answered and the response rate of one channel, trigger or tier."""

    value: str
    invited: int
    answered: int
    rate: float | None


class BiasWarning(BaseModel):
    """A group whose share among respondents differs from its share among those asked."""

    dimension: str
    group: str
    share_asked: float
    share_answered: float


class SurveyResultsOut(BaseModel):
    """A survey's results: distribution, weekly trend, aspects, open answers, response rates and bias."""

    distribution: dict[str, dict[int, int]]
    trend: list[TrendPoint]
    aspects: list[AspectAnswers]
    choices: dict[str, dict[str, int]]
    open_answers: list[OpenAnswer]
    rates: dict[str, list[RateRow]]
    bias: list[BiasWarning]
    invited: int
    answered: int
    recovery_cases: int


class SurveyLinks(BaseModel):
    """The survey's anonymous link and the address of its QR code."""

    anonymous: str
    qr_svg: str
