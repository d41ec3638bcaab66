"""The registry of customer message templates (zh/en), checked when it is loaded, not when sending.

Each domain ships ``<domain>/message_templates.yaml``; messaging loads the files named in
:data:`TEMPLATE_FILES` (an explicit list, so a missing file is an error at start). A template declares
the variables it needs; one that uses an undeclared variable, or fails to render on sample data, makes
the whole registry refuse to load with the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import StrictUndefined, meta

from cxloop.messaging.models import PURPOSES
from cxloop.messaging.yamlspan import ConfigFileError, load_spanned

PACKAGE = Path(__file__).resolve().parent.parent

#: Every file of message templates, in load order (a later file may not redefine a key).
TEMPLATE_FILES: tuple[Path, ...] = (
    PACKAGE / "messaging" / "message_templates.yaml",
    PACKAGE / "journeys" / "message_templates.yaml",
    PACKAGE / "surveys" / "message_templates.yaml",
)

#: Variables every template may use without declaring them: the service fills them in.
GLOBAL_VARIABLES = ("name", "shop", "unsubscribe_link")

#: Sample values for the preview and the load-time check (a template may add its own).
SAMPLE_VALUES: dict[str, str] = {
    "name": "张伟",
    "shop": "cxloop 演示商店",
    "unsubscribe_link": "https://shop.example.com/m/unsubscribe/sample",
    "order": "DD20261201001",
    "product": "有机绿茶礼盒",
    "products": "有机绿茶礼盒、紫砂茶杯",
    "amount": "199.00",
    "placed_date": "2026-12-01",
    "shipped_date": "2026-12-02",
    "delivered_date": "2026-12-04",
    "promised_date": "2026-12-04",
    "expected_date": "2026-12-06",
    "carrier": "顺丰速运",
    "link": "https://shop.example.com/orders/DD20261201001",
    "pay_link": "https://shop.example.com/pay/DD20261201001",
    "cart_link": "https://shop.example.com/cart",
    "coupon": "NEW10",
    "festival": "中秋节",
    "festival_date": "2026-09-25",
    "question": "请问您方便提供一下订单号吗？",
    "case": "C1024",
    "survey_link": "https://shop.example.com/s/sample",
    "tips": "开封后请密封冷藏，两周内饮用风味最佳。",
}

LOCALES = ("zh", "en")

_env = jinja2.Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> jinja2.Template:
    # Compiling a Jinja text costs far more than rendering it; each text is compiled once per process.
    return _env.from_string(source)


@lru_cache(maxsize=4096)
def _referenced(source: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(_env.parse(source)))


@dataclass(frozen=True)
class MessageTemplate:
    """One template: its purpose, declared variables, texts per locale and optional provider codes."""

    key: str
    purpose: str
    variables: tuple[str, ...]
    texts: dict[str, tuple[str, str]]  # locale -> (subject, body source)
    file: str
    line: int
    sample: dict[str, str] = field(default_factory=dict)
    sms_codes: dict[str, str] = field(default_factory=dict)

    @property
    def all_variables(self) -> tuple[str, ...]:
        """Declared variables plus the global ones the service fills in."""
        return tuple(dict.fromkeys((*GLOBAL_VARIABLES, *self.variables)))

    def uses(self, variable: str) -> bool:
        """Whether any text of the template (any locale) refers to ``variable``."""
        return any(variable in _referenced(text) for pair in self.texts.values() for text in pair)

    def sample_context(self) -> dict[str, str]:
        """Sample data for a preview: the template's own samples over the shared ones."""
        return {var: self.sample.get(var, SAMPLE_VALUES.get(var, f"<{var}>")) for var in self.all_variables}

    def render(self, locale: str, context: dict[str, Any]) -> tuple[str, str]:
        """Subject and body in ``locale`` (falls back to zh); a missing variable raises ``ValueError``."""
        missing = [var for var in self.all_variables if var not in context]
        if missing:
            raise ValueError(f"template {self.key!r} needs {', '.join(missing)}")
        subject, body = self.texts.get(locale) or self.texts["zh"]
        values = {var: "" if context[var] is None else context[var] for var in self.all_variables}
        return _compiled(subject).render(values).strip(), _compiled(body).render(values).strip()


def parse_templates(text: str, file: str) -> dict[str, MessageTemplate]:
    """Parse and check one template file; every problem is reported at once as ``ConfigFileError``."""
    doc = load_spanned(text, file)
    problems: list[str] = []
    out: dict[str, MessageTemplate] = {}
    if not isinstance(doc.data, dict):
        raise ConfigFileError([f"{file}:1: expected a mapping of template keys"])
    allowed = {"purpose", "variables", "sample", "sms_code", *LOCALES}
    for key, spec in doc.data.items():
        here = doc.where((key,))
        if not isinstance(spec, dict):
            problems.append(f"{here}: template {key!r}: expected a mapping with purpose, variables, zh, en")
            continue
        for unknown in sorted(set(spec) - allowed, key=str):
            problems.append(
                f"{doc.where((key, unknown))}: template {key!r}: unknown field {unknown!r}; "
                f"expected one of {', '.join(sorted(allowed))}"
            )
        purpose = spec.get("purpose")
        if purpose not in PURPOSES:
            problems.append(f"{here}: template {key!r}: purpose must be one of {', '.join(PURPOSES)}")
        variables = spec.get("variables") or []
        if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
            problems.append(
                f"{doc.where((key, 'variables'))}: template {key!r}: variables must be a list of names"
            )
            variables = []
        declared = set(variables) | set(GLOBAL_VARIABLES)
        texts: dict[str, tuple[str, str]] = {}
        for locale in LOCALES:
            part = spec.get(locale)
            where = doc.where((key, locale))
            if not isinstance(part, dict) or not isinstance(part.get("body"), str):
                problems.append(f"{where}: template {key!r}: {locale} needs a body (and an optional subject)")
                continue
            subject, body = str(part.get("subject") or ""), part["body"]
            for source, what in ((subject, "subject"), (body, "body")):
                try:
                    used = meta.find_undeclared_variables(_env.parse(source))
                except jinja2.TemplateSyntaxError as exc:
                    problems.append(f"{doc.where((key, locale, what))}: template {key!r}: {exc.message}")
                    continue
                for var in sorted(used - declared):
                    problems.append(
                        f"{doc.where((key, locale, what))}: template {key!r} ({locale} {what}) uses "
                        f"variable {var!r}, which is not declared; expected one of "
                        f"{', '.join(sorted(declared))}"
                    )
            texts[locale] = (subject, body)
        sms = spec.get("sms_code") or {}
        template = MessageTemplate(
            key=str(key),
            purpose=str(purpose),
            variables=tuple(variables),
            texts=texts,
            file=file,
            line=doc.lines.get((key,), 1),
            sample={str(k): str(v) for k, v in (spec.get("sample") or {}).items()},
            sms_codes={str(k): str(v) for k, v in sms.items()} if isinstance(sms, dict) else {},
        )
        if len(texts) == len(LOCALES) and not problems:
            for locale in LOCALES:
                try:
                    template.render(locale, template.sample_context())
                except Exception as exc:  # any render failure on sample data is a load error
                    problems.append(f"{here}: template {key!r} ({locale}) does not render: {exc}")
        out[str(key)] = template
    if problems:
        raise ConfigFileError(problems)
    return out


@lru_cache(maxsize=1)
def registry() -> dict[str, MessageTemplate]:
    """Every shipped template by key, loaded and checked once per process."""
    merged: dict[str, MessageTemplate] = {}
    problems: list[str] = []
    for path in TEMPLATE_FILES:
        for key, template in parse_templates(path.read_text(encoding="utf-8"), str(path)).items():
            if key in merged:
                problems.append(
                    f"{path}:{template.line}: template {key!r} is already defined in {merged[key].file}"
                )
            merged[key] = template
    if problems:
        raise ConfigFileError(problems)
    return merged


def get_template(key: str) -> MessageTemplate:
    """The template ``key``; ``KeyError`` names the known keys."""
    found = registry().get(key)
    if found is None:
        raise KeyError(f"unknown message template {key!r}; known: {', '.join(sorted(registry()))}")
    return found
