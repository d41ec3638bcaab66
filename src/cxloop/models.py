"""Imports every domain's tables so that ``Base.metadata`` knows the whole schema."""

from __future__ import annotations

from cxloop.auth.models import ApiToken, User
from cxloop.catalog.models import Brand, Product, Supplier
from cxloop.customers.models import Customer, CustomerEvent
from cxloop.db import Base
from cxloop.feedback.models import FeedbackAspect, FeedbackItem
from cxloop.imports.models import ImportReject, ImportRun
from cxloop.logistics.models import Carrier, Warehouse
from cxloop.orders.models import Order, OrderEvent, OrderLine
from cxloop.org.models import Department, Person
from cxloop.plugins import optional_import
from cxloop.surveys.models import SurveyResponse
from cxloop.system.models import AppState

#: Domains whose models.py adds tables beyond the core above; each is imported when present.
EXTRA_MODEL_MODULES: tuple[str, ...] = ("cxloop.metrics.models", "cxloop.loop.models")
for _module in EXTRA_MODEL_MODULES:
    optional_import(_module)

__all__ = [
    "ApiToken",
    "AppState",
    "Base",
    "Brand",
    "Carrier",
    "Customer",
    "CustomerEvent",
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
    "SurveyResponse",
    "User",
    "Warehouse",
]
