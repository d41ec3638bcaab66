"""The fixed vocabularies: one code per idea, used alike in the database, API, CLI and UI."""

from __future__ import annotations

from typing import Final

#: Journey stages used for experience reporting (MISSION: browsing .. after-sales).
STAGES: Final = ("browse", "purchase", "wait", "arrival", "use", "after_sales")
#: Default influence of each stage on overall experience (seed 003); configuration may change it.
DEFAULT_STAGE_WEIGHTS: Final = {"browse": 0.10, "purchase": 0.10, "wait": 0.20, "arrival": 0.60}

#: Department codes; the taxonomy and indicators name owners by these.
DEPARTMENTS: Final = {
    "warehouse": ("仓储部", "Warehouse"),
    "logistics": ("物流部", "Logistics"),
    "quality": ("供应链与品控部", "Supply chain & quality"),
    "product": ("商品部", "Product"),
    "it": ("技术部", "IT"),
    "marketing": ("市场部", "Marketing"),
    "customer_service": ("客服部", "Customer service"),
}

#: Where a piece of feedback came from.
CHANNELS: Final = ("review", "chat", "ticket", "call", "app", "social", "survey")

CUSTOMER_TIERS: Final = ("new", "returning", "vip")
CONTACT_CHANNELS: Final = ("phone", "wechat", "email", "sms", "visit", "app")

#: Events on an order's timeline, in the order they normally happen.
ORDER_EVENT_KINDS: Final = (
    "placed",
    "paid",
    "picked",
    "sorted",
    "shipped",  # handed to the carrier
    "delivered",
    "delivery_failed",
    "damaged",
    "lost",
    "spilled",
    "returned",
    "refund_requested",
    "refunded",
    "cancelled",
)

#: The order column (a ``*_at`` time or a flag) each timeline event sets; orders mirror their timeline.
ORDER_EVENT_COLUMNS: Final = {
    "placed": "placed_at",
    "paid": "paid_at",
    "picked": "picked_at",
    "sorted": "sorted_at",
    "shipped": "shipped_at",
    "delivered": "delivered_at",
    "delivery_failed": "delivery_failed_at",
    "damaged": "damaged",
    "lost": "lost",
    "spilled": "spilled",
    "returned": "returned_at",
    "refund_requested": "refund_requested_at",
    "refunded": "refunded_at",
    "cancelled": "cancelled_at",
}

#: The fulfilment stages between two timeline events, for durations and root cause.
ORDER_STAGES: Final = {
    "payment": ("placed", "paid"),
    # Order processing: from payment until the parcel is handed to the carrier (picking, sorting and
    # handover together), so it never measures the same interval as picking alone.
    "processing": ("paid", "shipped"),
    "picking": ("paid", "picked"),
    "sorting": ("picked", "sorted"),
    "handover": ("sorted", "shipped"),
    "carrier": ("shipped", "delivered"),
}

#: Which department owns each fulfilment stage.
ORDER_STAGE_OWNERS: Final = {
    "payment": "it",
    "processing": "warehouse",
    "picking": "warehouse",
    "sorting": "warehouse",
    "handover": "warehouse",
    "carrier": "logistics",
}

CUSTOMER_EVENT_KINDS: Final = ("view", "search", "add_to_cart", "remove_from_cart", "checkout")

SENTIMENTS: Final = ("positive", "neutral", "negative")

SURVEY_KINDS: Final = ("csat", "nps", "ces", "open")

LANGUAGES: Final = ("zh", "en")
