"""Every API route, read from the app's OpenAPI schema, fuzzed by schemathesis on a copy of the demo store.

No answer may be a 5xx, and every answer must match the schema: a documented status code, the
documented body, and timestamps that carry their offset. Routes merged later are covered without
touching this file. Bounded: a few derandomized examples per operation, well under two minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.app import create_app
from cxloop.auth.models import User
from cxloop.auth.service import create_token
from cxloop.db import get_engine
from tests.conftest import DemoStore

EXAMPLES_PER_OPERATION = 5
#: What the API promises: no 5xx, only documented status codes, bodies and headers as documented
#: (date-times with their offset). Not "every schema-valid value is accepted": free-form parameters
#: such as ``month`` are checked by the services and refused with a documented 4xx.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(params=["admin", "department_member"])
def api_app(demo_store: DemoStore, request: pytest.FixtureRequest) -> Iterator[FastAPI]:
    """The whole app on a private copy of the demo store, with a token of the role for every call: an
    admin reaches every operation, a department member meets the policy's refusals and narrowing."""
    with Session(get_engine(demo_store.url)) as session:
        caller = session.scalars(select(User).where(User.role == request.param).order_by(User.id)).first()
        assert caller is not None, f"the demo store has a {request.param} account"
        secret = create_token(db_session=session, user=caller, name="schemathesis").secret
        session.commit()
    app = create_app(migrate_on_start=False)
    app.state.fuzz_headers = {"Authorization": f"Bearer {secret}"}
    yield app


def test_every_api_operation_conforms_to_its_schema(api_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api_app).include(path_regex=r"^/api/v1/")
    headers = api_app.state.fuzz_headers
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20, "the schema lists the app's routes"
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except (
            Exception,
            BaseExceptionGroup,
        ) as exc:  # collected, so one run reports every operation that fails
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
