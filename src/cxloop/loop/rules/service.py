"""Alert rules: validation, create/update/delete (audited) and loading from YAML by rule code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.loop import audit
from cxloop.loop.models import RULE_KINDS, SEVERITIES, AlertRule, require_choice
from cxloop.vocab import DEPARTMENTS

DEFAULT_RULES_FILE = Path(__file__).with_name("default_rules.yaml")
FIELDS = (
    "name", "kind", "indicator", "scope_kind", "scope_value", "per_scope", "params", "severity",
    "department", "assign", "assignee_external_id", "create_task", "enabled", "description",
)  # fmt: skip
GRAINS = ("day", "week", "month")


def validate_rule(data: dict[str, Any]) -> dict[str, Any]:
    """Check a rule's fields (raises ValueError with the reason); returns the cleaned mapping."""
    clean = {k: data[k] for k in FIELDS if k in data}
    kind = clean.get("kind")
    if kind not in RULE_KINDS:
        raise ValueError(f"kind must be one of {RULE_KINDS}, not {kind!r}")
    if not clean.get("name"):
        raise ValueError("a rule needs a name")
    params = dict(clean.get("params") or {})
    clean["params"] = params
    if kind in ("threshold", "change"):
        if not clean.get("indicator"):
            raise ValueError(f"a {kind} rule needs an indicator")
        try:
            from cxloop.metrics.registry import get_indicator

            indicator = get_indicator(str(clean["indicator"]))
        except KeyError as exc:
            raise ValueError(str(exc).strip("'\"")) from None
        scope_kind = clean.get("scope_kind")
        if indicator is not None and scope_kind and scope_kind not in indicator.scopes:
            raise ValueError(f"{indicator.code} cannot be cut by {scope_kind}; it can by {indicator.scopes}")
    if params.get("grain", "week") not in GRAINS:
        raise ValueError(f"params.grain must be one of {GRAINS}")
    if clean.get("per_scope") and not clean.get("scope_kind"):
        raise ValueError("per_scope needs scope_kind (the kind whose every value is checked)")
    if params.get("baseline") == "peers" and not clean.get("per_scope"):
        raise ValueError("baseline: peers compares each value of a scope kind with the others: set per_scope")
    if params.get("baseline", "previous") not in ("previous", "peers"):
        raise ValueError("params.baseline must be previous or peers")
    for name, low, high in (("alpha", 0.0, 0.5), ("confidence", 0.0, 0.9999)):
        if name in params and not low <= float(params[name]) <= high:
            raise ValueError(f"params.{name} must be between {low} and {high}")
    require_choice("severity", clean.get("severity", "medium"), SEVERITIES)
    if clean.get("department") and clean["department"] not in DEPARTMENTS:
        raise ValueError(f"department must be one of {sorted(DEPARTMENTS)}")
    if clean.get("assign", "round_robin") not in ("round_robin", "person"):
        raise ValueError("assign must be round_robin or person")
    if clean.get("assign") == "person" and not clean.get("assignee_external_id"):
        raise ValueError("assign: person needs assignee_external_id")
    return clean


def list_rules(*, db_session: Session, enabled_only: bool = False) -> list[AlertRule]:
    """Every rule, by code."""
    query = select(AlertRule).order_by(AlertRule.code)
    if enabled_only:
        query = query.where(AlertRule.enabled.is_(True))
    return list(db_session.scalars(query))


def get_rule(*, db_session: Session, code: str) -> AlertRule:
    """The rule ``code`` (KeyError when missing)."""
    rule = db_session.scalar(select(AlertRule).where(AlertRule.code == code))
    if rule is None:
        raise KeyError(f"no rule {code!r}")
    return rule


def upsert_rule(*, db_session: Session, code: str, data: dict[str, Any], actor: str) -> tuple[AlertRule, str]:
    """Create or update the rule ``code``; returns the rule and created/updated/unchanged (audited)."""
    rule = db_session.scalar(select(AlertRule).where(AlertRule.code == code))
    if rule is None:
        clean = validate_rule(data)
        rule = AlertRule(code=code, **clean)
        db_session.add(rule)
        audit.record_created(db_session=db_session, entity="rule", row=rule, actor=actor)
        db_session.commit()
        return rule, "created"
    before = audit.snapshot(rule)
    merged = {k: before.get(k) for k in FIELDS} | {k: v for k, v in data.items() if k in FIELDS}
    clean = validate_rule(merged)
    with audit.change(db_session=db_session, entity="rule", row=rule, action="update", actor=actor) as change:
        definition_changed = any(
            clean.get(k) != before.get(k)
            for k in ("kind", "indicator", "scope_kind", "scope_value", "per_scope", "params")
        )
        for key, value in clean.items():
            setattr(rule, key, value)
        if definition_changed:
            rule.evaluated_until = None  # a new definition is judged afresh on the history
    return rule, "updated" if change.entry is not None else "unchanged"


def delete_rule(*, db_session: Session, code: str, actor: str) -> None:
    """Delete a rule (its alerts go with it; tasks stay)."""
    rule = get_rule(db_session=db_session, code=code)
    audit.delete_audited(db_session=db_session, entity="rule", row=rule, actor=actor)
    db_session.commit()


def load_rules(*, db_session: Session, path: Path | None = None, actor: str = "system") -> dict[str, str]:
    """Upsert every rule of a YAML file (default: the packaged defaults) by code; code -> what happened."""
    path = path or DEFAULT_RULES_FILE
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    items = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of rules under 'rules:'")
    result: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not item.get("code"):
            raise ValueError(f"{path}: every rule needs a code")
        code = str(item["code"])
        try:
            _, outcome = upsert_rule(db_session=db_session, code=code, data=item, actor=actor)
        except ValueError as exc:
            db_session.rollback()
            raise ValueError(f"{path}: rule {code}: {exc}") from exc
        result[code] = outcome
    return result


def ensure_default_rules(*, db_session: Session) -> None:
    """Load the packaged default rules when the database has no rule at all (first run)."""
    if db_session.scalar(select(AlertRule.id).limit(1)) is None:
        load_rules(db_session=db_session)


def rule_dict(rule: AlertRule) -> dict[str, Any]:
    """A rule as plain data (API, CLI, YAML export)."""
    data = {"code": rule.code, **{k: getattr(rule, k) for k in FIELDS}}
    data["id"] = rule.id
    data["evaluated_until"] = rule.evaluated_until.isoformat() if rule.evaluated_until else None
    return data
