"""FastAPI dependencies shared by every router: the database session, and the integer range guard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from cxloop.db import session_factory


def get_db_session() -> Iterator[Session]:
    """One session per request, committed by the service that writes, closed afterwards."""
    session = session_factory()()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db_session)]


#: What a database integer column holds (BIGINT / SQLite INTEGER).
DB_INT_MIN, DB_INT_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"[+-]?\d+")


def db_int_ranges(request: Request) -> None:
    """Refuse path and query integers that no database column can hold, before any handler runs.

    Mounted on every router by ``create_app``, so a new route is covered without thinking of it:
    an id of 2**64 is a 422 naming the parameter, never the driver's OverflowError (a 500).
    """
    for where, params in (("path", request.path_params), ("query", request.query_params)):
        for name, value in params.items():
            if not isinstance(value, str) or len(value) < 19 or not _INTEGER.fullmatch(value):
                continue
            if not DB_INT_MIN <= int(value) <= DB_INT_MAX:
                raise HTTPException(
                    422,
                    detail=[
                        {
                            "loc": [where, name],
                            "msg": f"{name} is out of range (expected a whole number from {DB_INT_MIN} to "
                            f"{DB_INT_MAX}) / {name} 超出范围",
                            "type": "value_error.out_of_range",
                        }
                    ],
                )
