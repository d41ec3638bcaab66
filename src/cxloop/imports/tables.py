"""The tables an import writes, by name: the models of every domain that data arrives for.

Explicit imports, so the importer depends on exactly the domains it fills (``kinds.KINDS`` names
these tables), not on the wiring of the whole schema.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from sqlalchemy import Table

from cxloop.catalog.models import Brand, Product, Supplier
from cxloop.customers.models import Customer, CustomerEvent
from cxloop.db import Base
from cxloop.feedback.models import FeedbackItem, SurveyResponse
from cxloop.imports.models import ImportReject
from cxloop.logistics.models import Carrier, Warehouse
from cxloop.orders.models import Order, OrderEvent, OrderLine
from cxloop.org.models import Department, Person

_MODELS = (
    Brand,
    Carrier,
    Customer,
    CustomerEvent,
    Department,
    FeedbackItem,
    ImportReject,
    Order,
    OrderEvent,
    OrderLine,
    Person,
    Product,
    Supplier,
    SurveyResponse,
    Warehouse,
)

#: Table name -> table, for every table an import may write.
TABLES: Final[MappingProxyType[str, Table]] = MappingProxyType(
    {model.__tablename__: Base.metadata.tables[model.__tablename__] for model in _MODELS}
)
