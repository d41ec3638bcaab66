"""Journey files: parsed, checked as a whole (file, line, what was expected) and compiled to instructions.

A journey is a trigger, optional audience conditions, exit conditions checked before every action, a
goal for the control-group comparison, and steps (waits, actions, ``if``/``then``/``else`` branches,
``repeat``). Steps compile to a flat list of instructions; a run keeps the index of the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cxloop.messaging.templates import GLOBAL_VARIABLES, registry
from cxloop.messaging.yamlspan import ConfigFileError, Spanned, load_spanned

#: Event kinds a journey may start on, with the template variables each one provides.
ORDER_VARS = (
    "order",
    "amount",
    "product",
    "products",
    "placed_date",
    "shipped_date",
    "delivered_date",
    "promised_date",
    "carrier",
    "link",
    "pay_link",
    "tips",
)
TRIGGERS: dict[str, tuple[str, ...]] = {
    "order.placed": ORDER_VARS,
    "order.paid": ORDER_VARS,
    "order.shipped": ORDER_VARS,
    "order.delivered": ORDER_VARS,
    "order.cancelled": ORDER_VARS,
    "order.late_risk": (*ORDER_VARS, "expected_date"),
    "cart.added": ("product", "cart_link", "link"),
    "customer.created": ("link",),
    "feedback.received": ("link",),
    "chat.awaiting_reply": ("question", "link"),
    "chat.ended": ("link",),
    "case.opened": ("case", "link"),
    "case.resolved": ("case", "link"),
    "survey.answered": ("link",),
    "calendar.festival": ("festival", "festival_date"),
    "calendar.quarterly": ("link",),
}
#: Kinds a wait or an exit may name besides the triggers.
OTHER_EVENTS = ("chat.replied", "customer.ordered", "survey.sent", "customer.unsubscribed")
EVENT_KINDS = (*TRIGGERS, *OTHER_EVENTS)

#: Festivals from the `holidays` library's Chinese calendar (lunar dates computed there, not typed here).
FESTIVALS: dict[str, str] = {
    "new_year": "New Year's Day",
    "spring_festival": "Chinese New Year (Spring Festival)",
    "qingming": "Tomb-Sweeping Day",
    "labor_day": "Labor Day",
    "dragon_boat": "Dragon Boat Festival",
    "mid_autumn": "Mid-Autumn Festival",
    "national_day": "National Day",
}

CONDITIONS: dict[str, str] = {
    "customer": "'new' or 'returning' (orders placed before this one)",
    "tier": "a tier or list of tiers (new, returning, vip)",
    "amount_at_least": "a number (order amount, CNY)",
    "amount_below": "a number (order amount, CNY)",
    "region": "a region or list of regions",
    "channel": "a sales channel or list of them",
    "preferred_channel": "a contact channel or list (sms, email, wechat, app, phone)",
    "marketing_consent": "true or false",
    "products": "a list of product ids (external)",
    "categories": "a list of product categories",
    "open_case": "true or false",
    "high_value": "true or false (VIP or spend above journeys high-value amount)",
    "tag": "a customer tag",
    "timed_out": "true or false (the last wait for an event timed out)",
    "any": "a list of conditions, one must hold",
    "not": "a condition that must not hold",
}
EXITS = (
    "order.paid",
    "order.cancelled",
    "order.shipped",
    "order.delivered",
    "customer.ordered",
    "case.resolved",
    "customer.unsubscribed",
    "survey.answered",
    "chat.replied",
)
GOALS = (
    "order.paid",
    "order.shipped",
    "order.delivered",
    "customer.ordered",
    "survey.answered",
    "chat.replied",
)
ACTIONS = ("send", "create_task", "create_case", "tag", "start_journey", "send_survey")
STEP_KEYS = (*ACTIONS, "wait", "if", "repeat", "stop")
TOP_KEYS = (
    "key",
    "name",
    "description",
    "enabled",
    "trigger",
    "audience",
    "reentry",
    "control_group",
    "goal",
    "exit_when",
    "steps",
)
DEPARTMENT_FROM_EVENT = "from_event"

_UNITS = {
    "second": 1,
    "seconds": 1,
    "s": 1,
    "秒": 1,
    "minute": 60,
    "minutes": 60,
    "min": 60,
    "m": 60,
    "分钟": 60,
    "hour": 3600,
    "hours": 3600,
    "h": 3600,
    "小时": 3600,
    "day": 86400,
    "days": 86400,
    "d": 86400,
    "天": 86400,
    "week": 604800,
    "weeks": 604800,
    "w": 604800,
    "周": 604800,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z\u4e00-\u9fff]+)\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_duration(value: Any) -> timedelta | None:
    """``15 minutes``, ``1 day``, ``2 weeks``, ``24h``, ``15分钟`` as a timedelta; None if not one."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    if not match or match.group(2).lower() not in _UNITS:
        return None
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass
class _Ctx:
    doc: Spanned
    problems: list[str]
    trigger_vars: set[str]
    journey_key: str

    def bad(self, path: tuple[Any, ...], text: str) -> None:
        self.problems.append(f"{self.doc.where(path)}: journey {self.journey_key!r}: {text}")


def _names(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return [str(v) for v in value]
    return None


def _check_condition(ctx: _Ctx, cond: Any, path: tuple[Any, ...]) -> dict[str, Any]:
    if not isinstance(cond, dict) or not cond:
        ctx.bad(path, f"a condition is a mapping of {', '.join(CONDITIONS)}")
        return {}
    out: dict[str, Any] = {}
    for name, value in cond.items():
        here = (*path, name)
        if name not in CONDITIONS:
            ctx.bad(here, f"unknown condition {name!r}; expected one of {', '.join(CONDITIONS)}")
            continue
        if name == "customer" and value not in ("new", "returning"):
            ctx.bad(here, "customer: expected 'new' or 'returning'")
        elif name in ("amount_at_least", "amount_below") and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            ctx.bad(here, f"{name}: expected a number")
        elif name in ("marketing_consent", "open_case", "high_value", "timed_out") and not isinstance(
            value, bool
        ):
            ctx.bad(here, f"{name}: expected true or false")
        elif name in ("tier", "region", "channel", "preferred_channel", "products", "categories", "tag"):
            names = _names(value)
            if names is None:
                ctx.bad(here, f"{name}: expected {CONDITIONS[name]}")
            else:
                value = names
        elif name == "any":
            if not isinstance(value, list) or not value:
                ctx.bad(here, "any: expected a list of conditions")
                continue
            value = [_check_condition(ctx, c, (*here, i)) for i, c in enumerate(value)]
        elif name == "not":
            value = _check_condition(ctx, value, here)
        out[name] = value
    return out


def _duration(ctx: _Ctx, value: Any, path: tuple[Any, ...], what: str) -> float:
    found = parse_duration(value)
    if found is None or found.total_seconds() <= 0:
        ctx.bad(path, f"{what}: expected a duration like '15 minutes', '1 day' or '2 weeks', got {value!r}")
        return 0.0
    return found.total_seconds()


def _text(ctx: _Ctx, value: Any, path: tuple[Any, ...], what: str) -> dict[str, str]:
    if isinstance(value, str) and value.strip():
        return {"zh": value, "en": value}
    if isinstance(value, dict) and isinstance(value.get("zh"), str) and isinstance(value.get("en"), str):
        return {"zh": value["zh"], "en": value["en"]}
    ctx.bad(path, f"{what}: expected a text or {{zh: ..., en: ...}}")
    return {"zh": "", "en": ""}


def _keyed_args(
    ctx: _Ctx, here: tuple[Any, ...], args: Any, key: str, optional: tuple[str, ...]
) -> dict[str, Any] | None:
    """An action's arguments as a mapping with the string ``key`` (a bare string is that key alone);
    None when they are not, and each unknown field reported."""
    kind = here[-1]
    if isinstance(args, str):
        args = {key: args}
    if not isinstance(args, dict) or not isinstance(args.get(key), str):
        wanted = ", ".join(f"{name}?" for name in optional)
        ctx.bad(here, f"{kind}: expected {{{key}: <key>, {wanted}}}")
        return None
    for name in sorted(set(args) - {key, *optional}):
        ctx.bad((*here, name), f"{kind}: unknown field {name!r}; expected {', '.join((key, *optional))}")
    return args


def _check_action(ctx: _Ctx, kind: str, args: Any, path: tuple[Any, ...]) -> dict[str, Any]:
    here = (*path, kind)
    if kind == "send":
        args = _keyed_args(ctx, here, args, "template", ("channel", "vars", "purpose"))
        if args is None:
            return {}
        template = registry().get(args["template"])
        if template is None:
            ctx.bad(
                (*here, "template"),
                f"unknown message template {args['template']!r}; expected one of "
                f"{', '.join(sorted(registry()))}",
            )
            return {}
        given = args.get("vars") or {}
        if not isinstance(given, dict):
            ctx.bad((*here, "vars"), "vars: expected a mapping of template variables")
            given = {}
        available = ctx.trigger_vars | set(given) | set(GLOBAL_VARIABLES)
        for var in template.variables:
            if var not in available:
                ctx.bad(
                    (*here, "template"),
                    f"template {template.key!r} needs variable {var!r}, which this "
                    f"journey's trigger does not provide; expected one of {', '.join(sorted(available))} "
                    f"or a value under vars",
                )
        purpose = args.get("purpose", template.purpose)
        if purpose not in ("service", "marketing"):
            ctx.bad((*here, "purpose"), "purpose: expected service or marketing")
        if template.purpose == "marketing" and purpose == "service":
            ctx.bad(
                (*here, "purpose"), f"template {template.key!r} is marketing; it cannot be sent as service"
            )
        channel = args.get("channel")
        if channel is not None and channel not in ("sms", "email", "webhook"):
            ctx.bad((*here, "channel"), "channel: expected sms, email or webhook")
        return {
            "template": template.key,
            "purpose": purpose,
            "channel": channel,
            "vars": {str(k): str(v) for k, v in given.items()},
        }
    if kind in ("create_task", "create_case"):
        if not isinstance(args, dict):
            ctx.bad(here, f"{kind}: expected a mapping with title and department")
            return {}
        allowed = {"title", "department", "severity", "priority", "description", "due", "assign"}
        for name in sorted(set(args) - allowed):
            ctx.bad(
                (*here, name), f"{kind}: unknown field {name!r}; expected one of {', '.join(sorted(allowed))}"
            )
        out: dict[str, Any] = {"title": _text(ctx, args.get("title"), (*here, "title"), "title")}
        out["department"] = str(args.get("department") or "customer_service")
        out["severity"] = str(args.get("severity") or args.get("priority") or "medium")
        if out["severity"] not in ("low", "medium", "high", "critical"):
            ctx.bad((*here, "severity"), "severity: expected low, medium, high or critical")
        if "description" in args:
            out["description"] = _text(ctx, args["description"], (*here, "description"), "description")
        if "due" in args:
            out["due_s"] = _duration(ctx, args["due"], (*here, "due"), "due")
        assign = args.get("assign", "department")
        if assign not in ("department", "owner"):
            ctx.bad((*here, "assign"), "assign: expected department or owner")
        out["assign"] = assign
        return out
    if kind == "tag":
        if not isinstance(args, str) or not args.strip():
            ctx.bad(here, "tag: expected a tag name")
        return {"tag": str(args)}
    if kind == "start_journey":
        if not isinstance(args, str):
            ctx.bad(here, "start_journey: expected a journey key")
        return {"journey": str(args)}
    if kind == "send_survey":
        args = _keyed_args(ctx, here, args, "survey", ("reminder",))
        if args is None:
            return {}
        return {"survey": args["survey"], "reminder": bool(args.get("reminder", False))}
    return {}


def _compile_steps(
    ctx: _Ctx, steps: Any, path: tuple[Any, ...], out: list[dict[str, Any]], depth: int = 0
) -> None:
    if not isinstance(steps, list) or not steps:
        ctx.bad(path, "steps: expected a non-empty list")
        return
    for index, step in enumerate(steps):
        here = (*path, index)
        if not isinstance(step, dict):
            ctx.bad(here, f"a step is a mapping with one of {', '.join(STEP_KEYS)}")
            continue
        kinds = [k for k in step if k in STEP_KEYS]
        for name in step:
            if name not in STEP_KEYS and name not in ("when", "then", "else", "times", "steps", "name"):
                ctx.bad((*here, name), f"unknown step field {name!r}; expected one of {', '.join(STEP_KEYS)}")
        if len(kinds) != 1:
            ctx.bad(here, f"a step needs exactly one of {', '.join(STEP_KEYS)}, found {kinds or 'none'}")
            continue
        kind = kinds[0]
        line = ctx.doc.lines.get(here, 0)
        when = _check_condition(ctx, step["when"], (*here, "when")) if "when" in step else None
        if kind == "wait":
            out.append(_compile_wait(ctx, step["wait"], (*here, "wait")) | {"line": line})
        elif kind == "stop":
            out.append({"op": "stop", "line": line})
        elif kind == "if":
            cond = _check_condition(ctx, step["if"], (*here, "if"))
            branch = {"op": "branch", "cond": cond, "else": -1, "line": line}
            out.append(branch)
            _compile_steps(ctx, step.get("then"), (*here, "then"), out, depth + 1)
            if "else" in step:
                jump = {"op": "jump", "to": -1, "line": line}
                out.append(jump)
                branch["else"] = len(out)
                _compile_steps(ctx, step["else"], (*here, "else"), out, depth + 1)
                jump["to"] = len(out)
            else:
                branch["else"] = len(out)
        elif kind == "repeat":
            times = step.get("times")
            if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 52:
                ctx.bad((*here, "times"), "repeat: expected times between 1 and 52")
                continue
            for _ in range(times):
                _compile_steps(ctx, step.get("steps"), (*here, "steps"), out, depth + 1)
        else:
            args = _check_action(ctx, kind, step[kind], here)
            out.append({"op": "action", "type": kind, "args": args, "when": when, "line": line})


def _compile_wait(ctx: _Ctx, value: Any, path: tuple[Any, ...]) -> dict[str, Any]:
    if isinstance(value, str):
        return {"op": "wait", "delay_s": _duration(ctx, value, path, "wait")}
    if not isinstance(value, dict):
        ctx.bad(path, "wait: expected a duration, {until: 'HH:MM'} or {event: <kind>, timeout: <duration>}")
        return {"op": "wait", "delay_s": 0}
    for name in sorted(set(value) - {"delay", "until", "event", "timeout", "match"}):
        ctx.bad((*path, name), f"wait: unknown field {name!r}; expected delay, until, event, timeout, match")
    if "until" in value:
        if not isinstance(value["until"], str) or not _CLOCK.match(value["until"]):
            ctx.bad((*path, "until"), "until: expected a time of day like '09:30'")
        return {"op": "wait", "until": str(value["until"])}
    if "event" in value:
        if value["event"] not in EVENT_KINDS:
            ctx.bad(
                (*path, "event"),
                f"unknown event {value['event']!r}; expected one of {', '.join(EVENT_KINDS)}",
            )
        match = value.get("match", "ref")
        if match not in ("ref", "customer"):
            ctx.bad((*path, "match"), "match: expected ref or customer")
        return {
            "op": "wait",
            "event": value["event"],
            "match": match,
            "timeout_s": _duration(ctx, value.get("timeout"), (*path, "timeout"), "timeout"),
        }
    return {"op": "wait", "delay_s": _duration(ctx, value.get("delay"), (*path, "delay"), "delay")}


def _compile_one(
    doc: Spanned, data: Any, path: tuple[Any, ...], problems: list[str]
) -> dict[str, Any] | None:
    key = data.get("key") if isinstance(data, dict) else None
    ctx = _Ctx(doc=doc, problems=problems, trigger_vars=set(), journey_key=str(key))
    if not isinstance(data, dict):
        problems.append(f"{doc.where(path)}: expected a journey (a mapping with key, trigger, steps)")
        return None
    for name in data:
        if name not in TOP_KEYS:
            ctx.bad((*path, name), f"unknown field {name!r}; expected one of {', '.join(TOP_KEYS)}")
    if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", key):
        ctx.bad((*path, "key"), "key: expected lower-case letters, digits and _ (e.g. unpaid_reminder)")
    name = _text(ctx, data.get("name", key), (*path, "name"), "name")
    trigger = data.get("trigger")
    compiled_trigger: dict[str, Any] = {}
    if isinstance(trigger, str):
        trigger = {"event": trigger}
    if not isinstance(trigger, dict) or not ({"event", "calendar"} & set(trigger)):
        ctx.bad(
            (*path, "trigger"),
            f"trigger: expected {{event: <kind>}} or {{calendar: ...}}; kinds: {', '.join(TRIGGERS)}",
        )
    elif "event" in trigger:
        if trigger["event"] not in TRIGGERS:
            ctx.bad(
                (*path, "trigger", "event"),
                f"unknown trigger {trigger['event']!r}; expected one of {', '.join(TRIGGERS)}",
            )
        else:
            ctx.trigger_vars = set(TRIGGERS[trigger["event"]])
        compiled_trigger = {"event": str(trigger["event"])}
    else:
        cal = trigger["calendar"]
        here = (*path, "trigger", "calendar")
        if not isinstance(cal, dict):
            ctx.bad(here, "calendar: expected {festivals: [...], days_before: N} or {every: quarter}")
            cal = {}
        if "festivals" in cal:
            names = _names(cal["festivals"]) or []
            for festival in names:
                if festival not in FESTIVALS:
                    ctx.bad(
                        (*here, "festivals"),
                        f"unknown festival {festival!r}; expected one of {', '.join(FESTIVALS)}",
                    )
            days = cal.get("days_before", 2)
            if not isinstance(days, int) or not 0 <= days <= 30:
                ctx.bad((*here, "days_before"), "days_before: expected a whole number of days 0..30")
            compiled_trigger = {"event": "calendar.festival", "festivals": names, "days_before": days}
            ctx.trigger_vars = set(TRIGGERS["calendar.festival"])
        elif cal.get("every") == "quarter":
            compiled_trigger = {"event": "calendar.quarterly"}
            ctx.trigger_vars = set(TRIGGERS["calendar.quarterly"])
        else:
            ctx.bad(here, "calendar: expected festivals: [...] or every: quarter")
    audience = _check_condition(ctx, data["audience"], (*path, "audience")) if "audience" in data else None
    reentry = data.get("reentry", "per_ref")
    reentry_s = None
    if reentry not in ("per_ref", "per_customer"):
        reentry_s = _duration(
            ctx, reentry, (*path, "reentry"), "reentry (per_ref, per_customer or a duration)"
        )
    share = data.get("control_group", 0)
    if isinstance(share, str) and share.endswith("%"):
        share = float(share[:-1]) / 100
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < 1:
        ctx.bad((*path, "control_group"), "control_group: expected a share like 0.1 or '10%'")
        share = 0
    exits = data.get("exit_when") or []
    if not isinstance(exits, list):
        exits = [exits]
    for i, item in enumerate(exits):
        if item not in EXITS:
            ctx.bad(
                (*path, "exit_when", i),
                f"unknown exit condition {item!r}; expected one of {', '.join(EXITS)}",
            )
    goal = data.get("goal")
    compiled_goal = None
    if goal is not None:
        if not isinstance(goal, dict) or goal.get("event") not in GOALS:
            ctx.bad(
                (*path, "goal"), f"goal: expected {{event: <one of {', '.join(GOALS)}>, within: <duration>}}"
            )
        else:
            compiled_goal = {
                "event": goal["event"],
                "within_s": _duration(ctx, goal.get("within"), (*path, "goal", "within"), "within"),
                "label": _text(ctx, goal.get("label", goal["event"]), (*path, "goal", "label"), "label"),
            }
    instructions: list[dict[str, Any]] = []
    _compile_steps(ctx, data.get("steps"), (*path, "steps"), instructions)
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        ctx.bad((*path, "enabled"), "enabled: expected true or false")
    return {
        "key": key,
        "name": name,
        "description": data.get("description") if isinstance(data.get("description"), dict) else None,
        "enabled": bool(enabled),
        "trigger": compiled_trigger,
        "audience": audience,
        "reentry": reentry if reentry_s is None else "window",
        "reentry_s": reentry_s,
        "control_group": float(share),
        "exit_when": [str(e) for e in exits],
        "goal": compiled_goal,
        "instructions": instructions,
        "line": doc.lines.get(path, 1),
    }


def started_journeys(definition: dict[str, Any]) -> set[str]:
    """Keys of the journeys a definition starts with ``start_journey``."""
    return {
        str(i["args"].get("journey"))
        for i in definition["instructions"]
        if i["op"] == "action" and i["type"] == "start_journey"
    }


def parse_journeys(
    text: str, file: str | Path, known: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every journey of a file, checked as a whole against each other and the ``known`` ones (by key).

    Raises ``ConfigFileError`` listing each problem with its file and line; nothing is half-accepted.
    """
    doc = load_spanned(text, file)
    problems: list[str] = []
    data = doc.data
    items: list[tuple[tuple[Any, ...], Any]]
    if isinstance(data, dict) and "journeys" in data:
        items = [(("journeys", i), j) for i, j in enumerate(data["journeys"] or [])]
    elif isinstance(data, dict):
        items = [((), data)]
    elif isinstance(data, list):
        items = [((i,), j) for i, j in enumerate(data)]
    else:
        raise ConfigFileError([f"{file}:1: expected a journey, a list of journeys or {{journeys: [...]}}"])
    out: list[dict[str, Any]] = []
    for path, item in items:
        compiled = _compile_one(doc, item, path, problems)
        if compiled is not None:
            out.append(compiled)
    keys = [j["key"] for j in out]
    for key in {k for k in keys if keys.count(k) > 1}:
        problems.append(f"{file}: journey {key!r} is defined twice")
    everything = {**(known or {}), **{j["key"]: j for j in out}}
    for journey in out:
        here = f"{doc.where(())}" if journey["line"] is None else f"{file}:{journey['line']}"
        for target in sorted(started_journeys(journey)):
            if target not in everything:
                problems.append(
                    f"{here}: journey {journey['key']!r} starts unknown journey {target!r}; "
                    f"expected one of {', '.join(sorted(everything))}"
                )
        cycle = _cycle_from(journey["key"], everything)
        if cycle:
            problems.append(
                f"{here}: journey {journey['key']!r} starts itself through "
                f"{' -> '.join(cycle)}; expected no cycle of start_journey"
            )
    if problems:
        raise ConfigFileError(problems)
    return out


def _cycle_from(start: str, journeys: dict[str, dict[str, Any]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        key, trail = stack.pop()
        for target in started_journeys(journeys[key]) if key in journeys else ():
            if target == start:
                return [*trail, target]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*trail, target]))
    return None
