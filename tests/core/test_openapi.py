"""Every JSON API route declares a typed response, so the OpenAPI schema describes what it returns."""

from __future__ import annotations

from typing import Any

from cxloop.app import create_app

#: Routes without a typed JSON response, with the reason. Remove entries as they are typed.
UNTYPED: dict[str, str] = {}


def _untyped(schema: dict[str, Any] | None) -> bool:
    """A schema that says nothing about the fields: absent, {} or an object of anything."""
    if schema is None or schema == {}:
        return True
    if "$ref" in schema or "anyOf" in schema:
        return False
    if schema.get("type") == "array":
        return _untyped(schema.get("items"))
    if schema.get("type") == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties", True)
        return extra is True or extra == {}
    return False


def test_every_api_route_has_a_typed_response() -> None:
    paths = create_app(migrate_on_start=False).openapi()["paths"]
    found = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation.get("responses", {})
            codes = [code for code in responses if code.startswith("2")]
            if codes == ["204"]:
                continue
            schema = None
            for code in codes:
                content = responses[code].get("content", {})
                schema = content.get("application/json", {}).get("schema")
                if schema is None and content:  # a file download: typed by its media types
                    schema = next(iter(content.values())).get("schema")
            if _untyped(schema):
                found.append(f"{method} {path}")
    assert sorted(set(found) - set(UNTYPED)) == [], "give these routes a response_model"
    assert sorted(set(UNTYPED) - set(found)) == [], "typed now: remove from UNTYPED"
