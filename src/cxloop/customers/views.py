"""JSON API over customer profiles."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException

from cxloop.auth.models import User
from cxloop.auth.policy import allow, can_see_contact, mask_email, mask_name, mask_phone, mask_wechat
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
    found = service.profile(db_session=db_session, customer=customer)
    c = found.customer
    full = can_see_contact(user)
    return ProfileRead(
        external_id=c.external_id,
        name=c.name if full else mask_name(c.name),
        phone=c.phone if full else mask_phone(c.phone),
        email=c.email if full else mask_email(c.email),
        wechat=c.wechat if full else mask_wechat(c.wechat),
        tier=c.tier,
        preferred_channel=c.preferred_channel,
        consent_marketing=c.consent_marketing,
        region=c.region,
        city=c.city,
        orders=found.orders,
        spend=found.spend,
        first_order_at=found.first_order_at,
        last_order_at=found.last_order_at,
        feedback=found.feedback,
        negative_feedback=found.negative_feedback,
        lifetime_value=asdict(found.lifetime_value) if found.lifetime_value else None,
    )
