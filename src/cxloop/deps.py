"""FastAPI dependencies shared by every router: the database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
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
