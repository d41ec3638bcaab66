"""Imports every domain's tables so that ``Base.metadata`` knows the whole schema."""

from __future__ import annotations

from cxloop.auth.models import ApiToken, User
from cxloop.catalog.models import Brand, Product, Supplier
from cxloop.customers.models import Customer, CustomerEvent, CustomerTag
from cxloop.db import Base
from cxloop.delivery import models as delivery_models
from cxloop.feedback.models import FeedbackAspect, FeedbackItem, SurveyResponse
from cxloop.imports.models import ImportReject, ImportRun
from cxloop.journeys import models as journeys_models
from cxloop.logistics.models import Carrier, Warehouse
from cxloop.loop import models as loop_models
from cxloop.messaging import models as messaging_models
from cxloop.metrics import models as metrics_models
from cxloop.orders.models import Order, OrderEvent, OrderLine
from cxloop.org.models import Department, Person
from cxloop.surveys.models import Survey, SurveyInvitation
from cxloop.system.models import AppState

#: Domains whose tables are not re-exported by name above; importing them registers their tables.
DOMAIN_MODEL_MODULES = (
    delivery_models,
    journeys_models,
    loop_models,
    messaging_models,
    metrics_models,
)

__all__ = [
    "ApiToken",
    "AppState",
    "Base",
    "Brand",
    "Carrier",
    "Customer",
    "CustomerEvent",
    "CustomerTag",
    "Department",
    "FeedbackAspect",
    "FeedbackItem",
    "ImportReject",
    "ImportRun",
    "Order",
    "OrderEvent",
    "OrderLine",
    "Person",
    "Product",
    "Supplier",
    "Survey",
    "SurveyInvitation",
    "SurveyResponse",
    "User",
    "Warehouse",
]
