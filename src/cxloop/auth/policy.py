"""The one authorization policy: which role may do what on which resource, in which department.

Every door asks this module: API views and pages through :func:`allow` (a FastAPI dependency that
also *declares* the route's policy, so a test can read it from the router), CLI commands and jobs that
act for a user through :func:`authorize` / :func:`can`, and services that narrow lists through
:func:`department_filter`. Personal data is masked by :func:`can_see_contact` and the ``mask_*``
helpers, which are part of the same decision.

Scope: a request is about ``own`` department (the caller's), ``other`` (someone else's) or ``none``
(no department named: the handler narrows the answer to what the caller may see).

Declaring a route (see docs/development.md, "Declaring a route's policy")::

    @router.get("/loop/tasks/{task_id}")
    def get_task(task_id: int, user: Annotated[User, allow("tasks", "read", scope=task_department)]): ...

Public routes (login, health) declare ``dependencies=[public()]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Depends, HTTPException, status

from cxloop.auth.models import ROLES, User

Reach = Literal["all", "own"]
Scope = Literal["none", "own", "other"]
SCOPES: tuple[Scope, ...] = ("none", "own", "other")

#: The department that talks to customers: members of it may see customers' contact details.
CONTACT_DEPARTMENT = "customer_service"

_MANAGERS: dict[str, Reach] = {"admin": "all", "cx_manager": "all"}
_EVERYONE: dict[str, Reach] = {
    "admin": "all",
    "cx_manager": "all",
    "analyst": "all",
    "department_member": "all",
}
_READERS_OWN: dict[str, Reach] = {
    "admin": "all",
    "cx_manager": "all",
    "analyst": "all",
    "department_member": "own",
}
_WORKERS_OWN: dict[str, Reach] = {"admin": "all", "cx_manager": "all", "department_member": "own"}

#: resource -> action -> role -> reach. A role missing from an action may not do it at all.
#: "own" means: only for the caller's own department (requests naming another one get 403; requests
#: naming none are narrowed by the handler with department_filter).
GRANTS: dict[str, dict[str, dict[str, Reach]]] = {
    # Routes anyone may call, logged in or not (login form, token exchange, health).
    "public": {"use": {**_EVERYONE, "anonymous": "all"}},
    # The caller's own account: profile, language, password, own tokens, own inbox.
    "account": {"use": _EVERYONE},
    "users": {"read": {"admin": "all"}, "write": {"admin": "all"}},
    # Imports: runs, rejects (customer rows), uploads and JSON feedback/events.
    "imports": {
        "read": {"admin": "all", "cx_manager": "all", "analyst": "all"},
        "write": {"admin": "all", "cx_manager": "all"},
    },
    # Dashboards and the metrics API: department members see their own department's numbers.
    "metrics": {"read": _READERS_OWN, "configure": _MANAGERS},
    "feedback": {"read": _EVERYONE},
    "orders": {"read": _EVERYONE},
    # Profiles are readable by all; the contact details are masked unless "contact" is allowed.
    "customers": {
        "read": _EVERYONE,
        "contact": {"admin": "all", "cx_manager": "all", "department_member": "own"},
    },
    "alerts": {"read": _READERS_OWN},
    "rules": {"read": {"admin": "all", "cx_manager": "all", "analyst": "all"}, "write": _MANAGERS},
    "tasks": {
        "read": _READERS_OWN,
        "write": _WORKERS_OWN,
        # Verified is the indicator's verdict; only managers may set it by hand.
        "verify": _MANAGERS,
    },
    "cases": {"read": _READERS_OWN, "write": _WORKERS_OWN},
    "webhooks": {"read": _MANAGERS, "write": _MANAGERS},
    # Messages to customers (cxloop.messaging): their contact details and texts, and sending.
    "messages": {"read": _MANAGERS, "write": _MANAGERS},
    "audit": {"read": _MANAGERS},
    # Journeys (automated customer care) and surveys: analysts read, managers change and send.
    "journeys": {"read": {"admin": "all", "cx_manager": "all", "analyst": "all"}, "write": _MANAGERS},
    "surveys": {"read": {"admin": "all", "cx_manager": "all", "analyst": "all"}, "write": _MANAGERS},
}


def decide(role: str, resource: str, action: str, scope: Scope) -> bool:
    """The policy's answer for ``role`` doing ``action`` on ``resource`` in ``scope``."""
    try:
        reach = GRANTS[resource][action].get(role)
    except KeyError:
        raise KeyError(f"no policy for {resource}:{action}") from None
    if reach is None:
        return False
    return reach == "all" or scope != "other"


def department_of(user: User) -> str | None:
    """The department code of ``user`` (None without one)."""
    from cxloop.auth.service import user_department_code

    return user_department_code(user)


def scope_for(user: User | None, department: str | None) -> Scope:
    """Whether ``department`` is the caller's own, another one, or none was named."""
    if department is None:
        return "none"
    if user is not None and department_of(user) == department:
        return "own"
    return "other"


def can(user: User | None, resource: str, action: str, department: str | None = None) -> bool:
    """Whether ``user`` may do ``action`` on ``resource`` of ``department`` (None: not scoped)."""
    role = user.role if user is not None and user.active else "anonymous"
    return decide(role, resource, action, scope_for(user, department))


def authorize(user: User | None, resource: str, action: str, department: str | None = None) -> None:
    """Raise 403 unless :func:`can` allows it (for handlers, CLI commands and jobs acting for a user)."""
    if not can(user, resource, action, department):
        where = f" of department {department!r}" if department else ""
        raise Forbidden(f"your role may not {action} {resource}{where}")


def department_filter(user: User, resource: str, action: str = "read") -> str | None:
    """The one department a list must be narrowed to for ``user``, or None for every department."""
    reach = GRANTS[resource][action].get(user.role)
    if reach == "own":
        return department_of(user) or ""  # a member without a department sees nothing, not everything
    return None


def roles_allowed(resource: str, action: str) -> tuple[str, ...]:
    """The roles that may do ``action`` on ``resource`` in some department (menus use this)."""
    return tuple(role for role in ROLES if role in GRANTS[resource][action])


class Forbidden(HTTPException):
    """403 from the policy; an HTTPException, so pages and API render it as they render any 403."""

    def __init__(self, detail: str) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, detail=detail)


# --- route declarations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutePolicy:
    """What a route declares: the resource and action, and how to find the department it is about."""

    resource: str
    action: str
    scoped: bool

    def decide(self, role: str, scope: Scope) -> bool:
        """The policy's answer for this route."""
        return decide(role, self.resource, self.action, scope if self.scoped else "none")


#: The attribute of a guard dependency that carries its RoutePolicy (read by route_policies()).
POLICY_ATTR = "cxloop_route_policy"


def allow(resource: str, action: str, *, scope: Callable[..., Any] | None = None) -> Any:
    """A dependency that lets the call through when the policy allows it, and returns the caller.

    ``scope`` is itself a FastAPI dependency that returns the department code the request is about
    (from a path parameter, the query or the loaded object); None declares an unscoped route.
    Unknown resources or actions fail here, when the module is imported, not at the first request.
    """
    if action not in GRANTS.get(resource, {}):
        raise KeyError(f"no policy for {resource}:{action}")
    from cxloop.auth.deps import authenticated_caller

    if scope is None:

        def guard(user: User = Depends(authenticated_caller)) -> User:
            authorize(user, resource, action)
            return user

    else:

        def guard(  # type: ignore[misc]
            user: User = Depends(authenticated_caller), department: str | None = Depends(scope)
        ) -> User:
            authorize(user, resource, action, department)
            return user

    setattr(guard, POLICY_ATTR, RoutePolicy(resource, action, scoped=scope is not None))
    guard.__name__ = f"allow_{resource}_{action}"
    return Depends(guard)


def public() -> Any:
    """Declares a route open to everybody (login, token exchange, health)."""

    def public_route() -> None:
        return None

    setattr(public_route, POLICY_ATTR, RoutePolicy("public", "use", scoped=False))
    return Depends(public_route)


def route_policies(dependant: Any) -> list[RoutePolicy]:
    """Every policy a route declares, found in its dependency tree (FastAPI ``route.dependant``)."""
    found: list[RoutePolicy] = []
    stack = [dependant]
    while stack:
        node = stack.pop()
        declared = getattr(node.call, POLICY_ATTR, None) if node.call is not None else None
        if isinstance(declared, RoutePolicy):
            found.append(declared)
        stack.extend(node.dependencies)
    return found


# --- scope resolvers shared by several domains ----------------------------------------------------


def department_query(department: str | None = None) -> str | None:
    """Scope from the ``?department=`` query parameter (absent: not scoped)."""
    return department or None


def department_path(code: str) -> str | None:
    """Scope from a ``{code}`` path parameter that is a department code."""
    return code


# --- personal data ----------------------------------------------------------------------------------


def can_see_contact(user: User | None) -> bool:
    """Whether ``user`` sees customers' names, phones, emails, addresses and WeChat ids unmasked."""
    return can(user, "customers", "contact", CONTACT_DEPARTMENT)


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


def redact_for(user: User | None, text: str | None) -> str | None:
    """``text`` as ``user`` may see it: unchanged for those who see contacts, else redacted."""
    return text if can_see_contact(user) else redact_text(text)


# --- the routes of an app and what they declare ------------------------------------------------------

#: Routes the framework adds (OpenAPI, Swagger UI, static files): public by nature, declared here.
FRAMEWORK_PATHS = frozenset({"/api/openapi.json", "/api/docs", "/docs/oauth2-redirect", "/static"})


@dataclass(frozen=True)
class DeclaredRoute:
    """One route of the app as the router has it, with the policies it declares."""

    methods: tuple[str, ...]
    path: str
    policies: tuple[RoutePolicy, ...]

    @property
    def is_api(self) -> bool:
        """An API route (JSON, token or session) rather than a page."""
        return self.path.startswith("/api/")

    def decide(self, role: str, scope: Scope) -> bool:
        """The policy's answer: every declared policy must allow it."""
        return bool(self.policies) and all(p.decide(role, scope) for p in self.policies)


def route_table(app: Any) -> tuple[list[DeclaredRoute], list[str]]:
    """Every FastAPI route of ``app`` with its declared policies, and the other routes' paths.

    Read from the router itself (``fastapi.routing.iter_route_contexts``), so a route added anywhere,
    by any domain, is listed without anyone registering it here.
    """
    from fastapi.routing import APIRoute, iter_route_contexts

    declared: list[DeclaredRoute] = []
    others: list[str] = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            methods = tuple(sorted((context.methods or set()) - {"HEAD"}))
            declared.append(
                DeclaredRoute(methods, str(context.path), tuple(route_policies(context.dependant)))
            )
        else:
            others.append(str(context.path))
    return declared, others


def undeclared_routes(app: Any) -> list[str]:
    """Routes of ``app`` that declare no policy: each is a door nobody decided about."""
    declared, others = route_table(app)
    missing = [f"{','.join(r.methods)} {r.path}" for r in declared if not r.policies]
    return missing + [f"* {path}" for path in others if path not in FRAMEWORK_PATHS]
