"""JSON API over customer profiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException

from cxloop.auth.models import User
from cxloop.auth.policy import allow, can_see_contact
from cxloop.customers import service
from cxloop.customers.schemas import ProfileRead
from cxloop.deps import SessionDep

router = APIRouter(tags=["customers"])


@router.get("/customers/{external_id}", response_model=ProfileRead)
def get_customer(
    external_id: str, db_session: SessionDep, user: Annotated[User, allow("customers", "read")]
) -> ProfileRead:
    """A customer's profile by the source system's id; contact details are masked unless your role
    may contact customers (see docs/security.md)."""
    customer = service.get_by_external_id(db_session=db_session, external_id=external_id)
    if customer is None:
        raise HTTPException(404, f"no customer with id {external_id!r}")
    return service.profile(db_session=db_session, customer=customer, personal_data=can_see_contact(user))
