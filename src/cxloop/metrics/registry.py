"""The indicator registry: code, names, unit, direction, owner, scopes, formula and default targets."""

from __future__ import annotations

from dataclasses import dataclass, field

from cxloop.metrics.taxonomy import AspectInfo, aspects
from cxloop.vocab import ORDER_STAGE_OWNERS, ORDER_STAGES

# Which scope kinds each data source can be cut by (see rollup.py for how each key is found).
ORDER_SCOPES = ("warehouse", "carrier", "region", "channel", "brand", "tier")
LINE_SCOPES = (*ORDER_SCOPES, "product", "supplier")
FEEDBACK_SCOPES = (
    "channel",
    "brand",
    "product",
    "supplier",
    "region",
    "tier",
    "warehouse",
    "carrier",
    "shift",
)
ASPECT_SCOPES = (*FEEDBACK_SCOPES, "department")
SURVEY_SCOPES = ("brand", "region", "tier")

HIGHER = "higher_better"
LOWER = "lower_better"


@dataclass(frozen=True)
class Indicator:
    """One indicator: value = factor × Σnum / Σden of daily components (or a histogram percentile)."""

    code: str
    name_zh: str
    name_en: str
    unit: str
    direction: str
    owner: str
    scopes: tuple[str, ...]
    target: float
    amber: float
    red: float
    num: tuple[str, ...] = ()
    den: tuple[str, ...] = ()
    factor: float = 1.0
    #: For page-load percentiles: the percentile (0..100) read from the ``load_b:`` histogram.
    percentile: float | None = None
    description: str = ""
    group: str = field(default="operational")

    @property
    def components(self) -> tuple[str, ...]:
        """Every rollup component the formula reads (signs stripped)."""
        return tuple(c.lstrip("-") for c in (*self.num, *self.den))

    def name(self, lang: str = "zh") -> str:
        """The display name in ``lang``."""
        return self.name_en if lang == "en" else self.name_zh


_STAGE_NAMES = {
    "payment": ("支付时长", "Payment time", 0.5, 2.0),
    "processing": ("订单处理时长", "Order processing time", 12.0, 24.0),
    "picking": ("拣货时长", "Picking time", 8.0, 16.0),
    "sorting": ("分拣时长", "Sorting time", 4.0, 8.0),
    "handover": ("交接揽收时长", "Handover time", 4.0, 8.0),
    "carrier": ("承运配送时长", "Carrier transit time", 48.0, 72.0),
}


def _build() -> dict[str, Indicator]:
    items: list[Indicator] = [
        Indicator(
            "on_time_rate",
            "准时交付率",
            "On-time delivery rate",
            "%",
            HIGHER,
            "logistics",
            ORDER_SCOPES,
            95.0,
            95.0,
            90.0,
            ("on_time",),
            ("promised_n",),
            100.0,
            description="Orders delivered by the promised time / orders with a promise whose outcome is known (delivered, failed or lost).",
        ),
        Indicator(
            "delivery_success_rate",
            "妥投成功率",
            "Delivery success rate",
            "%",
            HIGHER,
            "logistics",
            ORDER_SCOPES,
            98.0,
            98.0,
            95.0,
            ("delivered_ok",),
            ("outcome_n",),
            100.0,
            description="Shipped orders delivered / shipped orders that were delivered, failed or lost.",
        ),
        Indicator(
            "damage_rate",
            "破损率",
            "Damage rate",
            "%",
            LOWER,
            "logistics",
            ORDER_SCOPES,
            0.5,
            0.5,
            1.5,
            ("damaged",),
            ("shipped",),
            100.0,
            description="Orders flagged damaged / orders handed to a carrier.",
        ),
        Indicator(
            "loss_rate",
            "丢件率",
            "Loss rate",
            "%",
            LOWER,
            "logistics",
            ORDER_SCOPES,
            0.2,
            0.2,
            0.5,
            ("lost",),
            ("shipped",),
            100.0,
            description="Orders flagged lost / orders handed to a carrier.",
        ),
        Indicator(
            "spill_rate",
            "泄漏率",
            "Spill / leak rate",
            "%",
            LOWER,
            "warehouse",
            ORDER_SCOPES,
            0.3,
            0.3,
            1.0,
            ("spilled",),
            ("shipped",),
            100.0,
            description="Orders flagged spilled or leaking / orders handed to a carrier.",
        ),
    ]
    for stage, (zh, en, target, red) in _STAGE_NAMES.items():
        start, end = ORDER_STAGES[stage]
        items.append(
            Indicator(
                f"{stage}_hours",
                zh,
                en,
                "h",
                LOWER,
                ORDER_STAGE_OWNERS[stage],
                ORDER_SCOPES,
                target,
                target,
                red,
                (f"dur_sum:{stage}",),
                (f"dur_n:{stage}",),
                description=f"Mean hours from '{start}' to '{end}' over orders that have both times.",
            )
        )
    items += [
        Indicator(
            "cs_first_response_minutes",
            "客服首次响应时长",
            "CS first response time",
            "min",
            LOWER,
            "customer_service",
            FEEDBACK_SCOPES,
            3.0,
            3.0,
            10.0,
            ("frt_sum",),
            ("frt_n",),
            description="Mean minutes from a chat, ticket or call to the agent's first answer.",
        ),
        Indicator(
            "cs_resolution_hours",
            "客服解决时长",
            "CS resolution time",
            "h",
            LOWER,
            "customer_service",
            FEEDBACK_SCOPES,
            24.0,
            24.0,
            48.0,
            ("res_sum",),
            ("res_n",),
            description="Mean hours from a chat, ticket or call to its resolution.",
        ),
        Indicator(
            "refund_hours",
            "退款时长",
            "Refund time",
            "h",
            LOWER,
            "customer_service",
            ORDER_SCOPES,
            24.0,
            24.0,
            72.0,
            ("refund_sum",),
            ("refund_n",),
            description="Mean hours from refund request to refund.",
        ),
        Indicator(
            "stockout_rate",
            "缺货率（按需求加权）",
            "Stock-out rate (demand-weighted)",
            "%",
            LOWER,
            "quality",
            LINE_SCOPES,
            2.0,
            2.0,
            5.0,
            ("stockout",),
            ("qty",),
            100.0,
            description="Σ stock-out quantity / Σ ordered quantity of order lines.",
        ),
        Indicator(
            "page_load_p50_ms",
            "页面加载时间 P50",
            "Page load time p50",
            "ms",
            LOWER,
            "it",
            (),
            800.0,
            800.0,
            1500.0,
            percentile=50.0,
            description="Median page load time of browse events (50 ms histogram buckets, interpolated).",
        ),
        Indicator(
            "page_load_p90_ms",
            "页面加载时间 P90",
            "Page load time p90",
            "ms",
            LOWER,
            "it",
            (),
            2000.0,
            2000.0,
            4000.0,
            percentile=90.0,
            description="90th percentile page load time of browse events.",
        ),
        # Experience
        Indicator(
            "csat",
            "满意度 CSAT",
            "CSAT",
            "%",
            HIGHER,
            "customer_service",
            SURVEY_SCOPES,
            85.0,
            85.0,
            75.0,
            ("csat_pos",),
            ("csat_n",),
            100.0,
            group="experience",
            description="Share of CSAT answers (1..5) that are 4 or 5.",
        ),
        Indicator(
            "nps",
            "净推荐值 NPS",
            "NPS",
            "pt",
            HIGHER,
            "marketing",
            SURVEY_SCOPES,
            30.0,
            30.0,
            10.0,
            ("nps_pro", "-nps_det"),
            ("nps_n",),
            100.0,
            group="experience",
            description="% promoters (9-10) minus % detractors (0-6) of NPS answers.",
        ),
        Indicator(
            "ces",
            "费力度 CES",
            "Customer effort (CES)",
            "1-7",
            LOWER,
            "customer_service",
            SURVEY_SCOPES,
            3.0,
            3.0,
            4.0,
            ("ces_sum",),
            ("ces_n",),
            group="experience",
            description="Mean CES answer, 1 = very easy .. 7 = very hard.",
        ),
        Indicator(
            "negative_share",
            "负面声量占比",
            "Negative feedback share",
            "%",
            LOWER,
            "customer_service",
            FEEDBACK_SCOPES,
            15.0,
            15.0,
            25.0,
            ("fb_neg",),
            ("fb_n",),
            100.0,
            group="experience",
            description="Analysed feedback items (own brands) with negative sentiment / all analysed items.",
        ),
        Indicator(
            "positive_share",
            "正面声量占比",
            "Positive feedback share",
            "%",
            HIGHER,
            "marketing",
            FEEDBACK_SCOPES,
            60.0,
            60.0,
            45.0,
            ("fb_pos",),
            ("fb_n",),
            100.0,
            group="experience",
            description="Analysed feedback items with positive sentiment / all analysed items.",
        ),
        Indicator(
            "rating_mean",
            "平均评分",
            "Mean rating",
            "1-5",
            HIGHER,
            "product",
            FEEDBACK_SCOPES,
            4.5,
            4.5,
            4.0,
            ("rating_sum",),
            ("rating_n",),
            group="experience",
            description="Mean star rating (1..5) of rated feedback.",
        ),
        Indicator(
            "aspect_negative_share",
            "方面负面提及占比",
            "Negative aspect mentions share",
            "%",
            LOWER,
            "customer_service",
            ASPECT_SCOPES,
            20.0,
            20.0,
            35.0,
            ("asp_neg",),
            ("asp_n",),
            100.0,
            group="experience",
            description="Negative aspect mentions / all aspect mentions; the department scope counts the aspects it owns.",
        ),
        Indicator(
            "satisfaction_hours",
            "满意度（体验−期望）",
            "Satisfaction (experience − expectation)",
            "h",
            HIGHER,
            "logistics",
            ORDER_SCOPES,
            0.0,
            0.0,
            -12.0,
            ("sat_sum",),
            ("sat_n",),
            group="experience",
            description="Mean of (promised − actual) delivery hours per delivered order: > 0 beat the promise.",
        ),
        Indicator(
            "surprise_rate",
            "惊喜率（感知−预期）",
            "Surprise rate (perceived − expected)",
            "%",
            HIGHER,
            "logistics",
            ORDER_SCOPES,
            20.0,
            20.0,
            10.0,
            ("early_n",),
            ("sat_n",),
            100.0,
            group="experience",
            description="Delivered orders that arrived earlier than promised by at least 20% of the promised lead time / delivered orders with a promise.",
        ),
    ]
    for info in aspects().values():
        items.append(
            Indicator(
                f"aspect_neg:{info.id}",
                f"{info.name_zh}负面占比",
                f"{info.name_en} negative share",
                "%",
                LOWER,
                info.department,
                tuple(s for s in FEEDBACK_SCOPES if s != "product"),
                20.0,
                20.0,
                35.0,
                (f"asp_neg:{info.id}",),
                (f"asp_n:{info.id}",),
                100.0,
                group="aspect",
                description=f"Negative mentions of '{info.id}' / all its mentions (own brands).",
            )
        )
    return {i.code: i for i in items}


_REGISTRY: tuple[dict[str, AspectInfo], dict[str, Indicator]] | None = None


def registry() -> dict[str, Indicator]:
    """Every indicator by code (rebuilt when the active taxonomy changes: aspect indicators follow it)."""
    global _REGISTRY
    current = aspects()
    if _REGISTRY is None or _REGISTRY[0] is not current:
        _REGISTRY = (current, _build())
    return _REGISTRY[1]


def get_indicator(code: str) -> Indicator:
    """The indicator ``code``; KeyError with the known codes when it does not exist."""
    try:
        return registry()[code]
    except KeyError:
        raise KeyError(f"unknown indicator {code!r}") from None


def status_of(value: float | None, *, direction: str, amber: float, red: float) -> str:
    """green when at least as good as ``amber``, red when worse than ``red``, amber between; grey: no data."""
    if value is None:
        return "grey"
    if direction == HIGHER:
        return "green" if value >= amber else ("amber" if value >= red else "red")
    return "green" if value <= amber else ("amber" if value <= red else "red")
