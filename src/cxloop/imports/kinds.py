"""What each import kind accepts: its columns, their types, references and header aliases.

The same specs drive the file import, the JSON endpoints, the CLI help and docs/imports.md, so a
column is described once. Field names are the CSV headers (matched case-insensitively); the Chinese
and alternative headers a source system writes are in the single :data:`HEADER_ALIASES` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from cxloop import vocab

#: Field types: ``str`` short trimmed text, ``text`` free text kept exactly, ``int``, ``decimal``
#: (amounts), ``float``, ``bool``, ``choice`` (a code from ``choices``), ``datetime``, and ``ref``
#: (the external id of another record, see :attr:`FieldSpec.ref`).
FIELD_TYPES: Final = ("str", "text", "int", "decimal", "float", "bool", "choice", "datetime", "ref")

#: What a ``ref`` field points at: the table of a dimension (created as an "inferred" record when
#: unknown), ``order`` (must exist, else the row is rejected) or ``order_soft`` (kept as ``order_ref``
#: and linked once the order is known).
REF_TABLES: Final = MappingProxyType(
    {
        "customer": "customers",
        "product": "products",
        "brand": "brands",
        "supplier": "suppliers",
        "warehouse": "warehouses",
        "carrier": "carriers",
        "person": "people",
        "department": "departments",
        "order": "orders",
        "order_soft": "orders",
    }
)


@dataclass(frozen=True)
class FieldSpec:
    """One importable column."""

    name: str
    type: str = "str"
    required: bool = False
    #: Database column; defaults to ``name`` (``<name>_id`` for references).
    column: str | None = None
    ref: str | None = None
    choices: tuple[str, ...] = ()
    #: Accepted spellings of the choices (lower-cased key -> code), e.g. 评价 -> review.
    aliases: Mapping[str, str] = field(default_factory=dict)
    max_len: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    #: Stored when the cell is empty and the column cannot be NULL (None: settings decide, or NULL).
    default: object = None
    doc: str = ""
    #: A date without a time of day means the end of that day (promises); the mapping can add fields.
    end_of_day: bool = False

    @property
    def db_column(self) -> str:
        """The database column the value lands in."""
        if self.column:
            return self.column
        return f"{self.name}_id" if self.type == "ref" else self.name


@dataclass(frozen=True)
class KindSpec:
    """One import kind: target table, columns and the key that identifies a record."""

    name: str
    table: str
    fields: tuple[FieldSpec, ...]
    #: Field names that identify a record in a file (re-import updates the record with this key).
    key: tuple[str, ...]
    doc: str
    doc_zh: str

    def field(self, name: str) -> FieldSpec:
        """The field called ``name`` (KeyError when the kind has none)."""
        return {spec.name: spec for spec in self.fields}[name]

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names of every field, in file order."""
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        """The names of the required fields."""
        return tuple(f.name for f in self.fields if f.required)


def _id(doc: str = "the source system's id of the record") -> FieldSpec:
    return FieldSpec("id", "str", required=True, column="external_id", max_len=128, doc=doc)


def _ref(name: str, target: str, doc: str, required: bool = False) -> FieldSpec:
    return FieldSpec(name, "ref", required=required, ref=target, max_len=128, doc=doc)


def _when(name: str, doc: str, required: bool = False) -> FieldSpec:
    return FieldSpec(name, "datetime", required=required, doc=doc)


# Chinese spellings of the codes, as exports and agents write them (keys compared lower-cased).
CHANNEL_ALIASES: Final = {
    "评价": "review",
    "评论": "review",
    "商品评价": "review",
    "在线客服": "chat",
    "聊天": "chat",
    "客服": "chat",
    "咨询": "chat",
    "工单": "ticket",
    "投诉": "ticket",
    "电话": "call",
    "来电": "call",
    "热线": "call",
    "社交": "social",
    "微博": "social",
    "小红书": "social",
    "抖音": "social",
    "问卷": "survey",
    "调查": "survey",
    "应用": "app",
    "应用内反馈": "app",
}
STAGE_ALIASES: Final = {
    "浏览": "browse",
    "购买": "purchase",
    "下单": "purchase",
    "等待": "wait",
    "配送": "wait",
    "物流": "wait",
    "到货": "arrival",
    "收货": "arrival",
    "签收": "arrival",
    "使用": "use",
    "售后": "after_sales",
}
TIER_ALIASES: Final = {
    "新客": "new",
    "新客户": "new",
    "老客": "returning",
    "老客户": "returning",
    "回头客": "returning",
    "贵宾": "vip",
    "会员": "vip",
}
CONTACT_ALIASES: Final = {
    "电话": "phone",
    "手机": "phone",
    "微信": "wechat",
    "邮件": "email",
    "邮箱": "email",
    "电子邮件": "email",
    "短信": "sms",
    "上门": "visit",
    "拜访": "visit",
    "应用": "app",
}
ORDER_EVENT_ALIASES: Final = {
    "下单": "placed",
    "付款": "paid",
    "支付": "paid",
    "已付款": "paid",
    "拣货": "picked",
    "分拣": "sorted",
    "发货": "shipped",
    "揽收": "shipped",
    "已发货": "shipped",
    "签收": "delivered",
    "妥投": "delivered",
    "已签收": "delivered",
    "配送失败": "delivery_failed",
    "投递失败": "delivery_failed",
    "破损": "damaged",
    "丢件": "lost",
    "丢失": "lost",
    "洒漏": "spilled",
    "漏液": "spilled",
    "退货": "returned",
    "申请退款": "refund_requested",
    "退款中": "refund_requested",
    "退款": "refunded",
    "已退款": "refunded",
    "取消": "cancelled",
    "已取消": "cancelled",
    "canceled": "cancelled",
}
CUSTOMER_EVENT_ALIASES: Final = {
    "浏览": "view",
    "搜索": "search",
    "加购": "add_to_cart",
    "加入购物车": "add_to_cart",
    "移出购物车": "remove_from_cart",
    "结算": "checkout",
}
SURVEY_KIND_ALIASES: Final = {"满意度": "csat", "净推荐值": "nps", "费力度": "ces", "开放题": "open"}

#: Score range of each survey kind (``open`` has no score).
SURVEY_SCORE_RANGES: Final = MappingProxyType({"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)})

#: The order's ``*_at`` column or flag each timeline event sets (one map, in vocab).
ORDER_EVENT_COLUMNS: Final = MappingProxyType(vocab.ORDER_EVENT_COLUMNS)


KINDS: Final[Mapping[str, KindSpec]] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            KindSpec(
                "departments",
                "departments",
                (
                    FieldSpec(
                        "code",
                        "str",
                        required=True,
                        max_len=64,
                        doc="department code, e.g. " + ", ".join(vocab.DEPARTMENTS),
                    ),
                    FieldSpec("name_zh", max_len=200, doc="Chinese name (default: the standard one)"),
                    FieldSpec("name_en", max_len=200, doc="English name (default: the standard one)"),
                    _ref("head", "person", "person id of the head of department"),
                ),
                key=("code",),
                doc="Departments (key: code).",
                doc_zh="部门（主键：code）。",
            ),
            KindSpec(
                "people",
                "people",
                (
                    _id("staff id"),
                    FieldSpec("name", required=True, max_len=200),
                    FieldSpec("email", max_len=320),
                    FieldSpec("phone", max_len=32),
                    _ref("department", "department", "department code"),
                    FieldSpec("shift", max_len=64, doc="work shift, e.g. 早班 / 晚班 / night"),
                    FieldSpec("is_head", "bool", default=False),
                    FieldSpec("active", "bool", default=True),
                ),
                key=("id",),
                doc="Staff: task assignees and customer-service agents.",
                doc_zh="员工：任务负责人与客服人员。",
            ),
            KindSpec(
                "brands",
                "brands",
                (
                    _id(),
                    FieldSpec("name", required=True, max_len=200),
                    FieldSpec("is_own", "bool", default=True, doc="false for competitors"),
                ),
                key=("id",),
                doc="Brands, own and competitors.",
                doc_zh="品牌（自有及竞品）。",
            ),
            KindSpec(
                "suppliers",
                "suppliers",
                (_id(), FieldSpec("name", required=True, max_len=200)),
                key=("id",),
                doc="Suppliers.",
                doc_zh="供应商。",
            ),
            KindSpec(
                "products",
                "products",
                (
                    _id("SKU"),
                    FieldSpec("name", required=True, max_len=300),
                    FieldSpec("category", max_len=200),
                    _ref("supplier", "supplier", "supplier id"),
                    _ref("brand", "brand", "brand id"),
                    FieldSpec("price", "decimal"),
                ),
                key=("id",),
                doc="Products (SKUs).",
                doc_zh="商品（SKU）。",
            ),
            KindSpec(
                "warehouses",
                "warehouses",
                (
                    _id(),
                    FieldSpec("name", required=True, max_len=200),
                    FieldSpec("region", max_len=64),
                ),
                key=("id",),
                doc="Warehouses.",
                doc_zh="仓库。",
            ),
            KindSpec(
                "carriers",
                "carriers",
                (_id(), FieldSpec("name", required=True, max_len=200)),
                key=("id",),
                doc="Carriers (快递公司).",
                doc_zh="快递公司。",
            ),
            KindSpec(
                "customers",
                "customers",
                (
                    _id("customer id"),
                    FieldSpec("name", max_len=200),
                    FieldSpec("phone", max_len=32),
                    FieldSpec("email", max_len=320),
                    FieldSpec("wechat", max_len=128),
                    FieldSpec(
                        "tier", "choice", choices=vocab.CUSTOMER_TIERS, aliases=TIER_ALIASES, default="new"
                    ),
                    FieldSpec(
                        "preferred_channel", "choice", choices=vocab.CONTACT_CHANNELS, aliases=CONTACT_ALIASES
                    ),
                    FieldSpec("consent_marketing", "bool", default=False),
                    FieldSpec("region", max_len=64),
                    FieldSpec("city", max_len=64),
                    _when("first_seen_at", "first seen / registered"),
                ),
                key=("id",),
                doc="Customer profiles.",
                doc_zh="客户档案。",
            ),
            KindSpec(
                "orders",
                "orders",
                (
                    _id("order number"),
                    _ref("customer", "customer", "customer id"),
                    _ref("brand", "brand", "brand id"),
                    _ref("warehouse", "warehouse", "warehouse id"),
                    _ref("carrier", "carrier", "carrier id"),
                    FieldSpec("sales_channel", max_len=64, doc="shop / platform, e.g. tmall, jd, own_app"),
                    FieldSpec("region", max_len=64),
                    FieldSpec("city", max_len=64),
                    FieldSpec("status", max_len=32, default="placed"),
                    FieldSpec("total_amount", "decimal"),
                    FieldSpec("currency", max_len=3, doc="ISO code (default: the CXLOOP_CURRENCY setting)"),
                    FieldSpec("weight_kg", "float"),
                    _when("placed_at", "order time", required=True),
                    FieldSpec(
                        "promised_delivery_at",
                        "datetime",
                        end_of_day=True,
                        doc="promised delivery; a date alone means the end of that day",
                    ),
                    *(
                        _when(f"{kind}_at", f"when the order was {kind.replace('_', ' ')}")
                        for kind in (
                            "paid",
                            "picked",
                            "sorted",
                            "shipped",
                            "delivered",
                            "delivery_failed",
                            "cancelled",
                            "refund_requested",
                            "refunded",
                            "returned",
                        )
                    ),
                    FieldSpec("damaged", "bool", default=False),
                    FieldSpec("lost", "bool", default=False),
                    FieldSpec("spilled", "bool", default=False),
                ),
                key=("id",),
                doc="Orders with their timeline as columns.",
                doc_zh="订单（时间线以列给出）。",
            ),
            KindSpec(
                "order_lines",
                "order_lines",
                (
                    _ref("order", "order", "order id (must be imported already)", required=True),
                    FieldSpec("line_no", "int", required=True, min_value=1),
                    _ref("product", "product", "product id (SKU)"),
                    FieldSpec("quantity", "int", min_value=0, default=1),
                    FieldSpec("unit_price", "decimal"),
                    FieldSpec("amount", "decimal"),
                    FieldSpec("stockout_qty", "int", min_value=0, default=0, doc="units out of stock"),
                ),
                key=("order", "line_no"),
                doc="Order lines (key: order + line_no).",
                doc_zh="订单明细（主键：订单 + 行号）。",
            ),
            KindSpec(
                "order_events",
                "order_events",
                (
                    _ref("order", "order", "order id (must be imported already)", required=True),
                    FieldSpec(
                        "kind",
                        "choice",
                        required=True,
                        choices=vocab.ORDER_EVENT_KINDS,
                        aliases=ORDER_EVENT_ALIASES,
                    ),
                    _when("occurred_at", "event time", required=True),
                    FieldSpec(
                        "id", "str", column="external_id", max_len=128, doc="event id, if the source has one"
                    ),
                    FieldSpec("location", max_len=200),
                    FieldSpec("note", max_len=1000),
                ),
                key=("order", "kind", "occurred_at"),
                doc="Order timeline events (key: order + kind + time); each also updates the order.",
                doc_zh="订单时间线事件（主键：订单 + 类型 + 时间），同时更新订单对应字段。",
            ),
            KindSpec(
                "customer_events",
                "customer_events",
                (
                    _id("event id"),
                    _ref("customer", "customer", "customer id"),
                    _ref("product", "product", "product id"),
                    FieldSpec(
                        "kind",
                        "choice",
                        required=True,
                        choices=vocab.CUSTOMER_EVENT_KINDS,
                        aliases=CUSTOMER_EVENT_ALIASES,
                    ),
                    _when("occurred_at", "event time", required=True),
                    FieldSpec("quantity", "int", min_value=0),
                    FieldSpec("page", max_len=300),
                    FieldSpec("load_ms", "int", min_value=0, doc="page load time in ms"),
                    FieldSpec("session_id", max_len=128),
                ),
                key=("id",),
                doc="Browse and cart events.",
                doc_zh="浏览与购物车事件。",
            ),
            KindSpec(
                "feedback",
                "feedback_items",
                (
                    _id("feedback id"),
                    FieldSpec(
                        "channel", "choice", required=True, choices=vocab.CHANNELS, aliases=CHANNEL_ALIASES
                    ),
                    FieldSpec("text", "text", default="", doc="the customer's words, kept exactly"),
                    FieldSpec("title", max_len=500),
                    FieldSpec("rating", "int", min_value=1, max_value=5),
                    FieldSpec("language", max_len=8, doc="zh or en (empty: detected later)"),
                    _when("occurred_at", "when it was written", required=True),
                    _ref("customer", "customer", "customer id"),
                    _ref("order", "order_soft", "order id (kept even when the order is not imported yet)"),
                    _ref("product", "product", "product id"),
                    _ref("brand", "brand", "brand id"),
                    FieldSpec("touchpoint", "choice", choices=vocab.STAGES, aliases=STAGE_ALIASES),
                    _ref("agent", "person", "person id of the agent who handled it"),
                    FieldSpec("shift", max_len=64, doc="agent's shift (default: the agent's shift)"),
                    _when("first_response_at", "agent's first answer"),
                    _when("resolved_at", "when it was resolved"),
                    FieldSpec("author", max_len=200),
                    FieldSpec("url", max_len=1000),
                ),
                key=("id",),
                doc="Feedback from every channel (reviews, chats, tickets, calls, app, social, surveys).",
                doc_zh="各渠道的客户反馈（评价、在线客服、工单、电话、App、社交媒体、问卷）。",
            ),
            KindSpec(
                "survey_responses",
                "survey_responses",
                (
                    _id("response id"),
                    FieldSpec("survey", max_len=128, default="default"),
                    FieldSpec(
                        "kind",
                        "choice",
                        required=True,
                        choices=vocab.SURVEY_KINDS,
                        aliases=SURVEY_KIND_ALIASES,
                    ),
                    FieldSpec("score", "int", doc="csat 1-5, nps 0-10, ces 1-7"),
                    FieldSpec("comment", "text"),
                    _when("responded_at", "answer time", required=True),
                    _ref("customer", "customer", "customer id"),
                    _ref("order", "order_soft", "order id"),
                    _ref("brand", "brand", "brand id"),
                    FieldSpec("touchpoint", "choice", choices=vocab.STAGES, aliases=STAGE_ALIASES),
                ),
                key=("id",),
                doc="Survey answers (CSAT, NPS, CES, open).",
                doc_zh="问卷答卷（CSAT、NPS、CES、开放题）。",
            ),
        )
    }
)

#: Alternative headers, one table for every kind: ``"*"`` applies to all kinds, a kind's own entry
#: wins over it (订单号 is the record id in an orders file but the order reference in a feedback file).
#: Matching is case-insensitive after trimming; the field's own name always matches.
HEADER_ALIASES: Final[Mapping[str, Mapping[str, tuple[str, ...]]]] = MappingProxyType(
    {
        "*": {
            "id": ("external_id", "编号", "ID"),
            "name": ("名称", "姓名"),
            "customer": ("customer_id", "客户", "客户ID", "客户编号", "买家", "买家ID", "会员ID", "用户ID"),
            "order": ("order_id", "order_ref", "订单", "订单号", "订单编号"),
            "product": ("product_id", "sku", "商品", "商品ID", "商品编号", "货号"),
            "brand": ("brand_id", "品牌", "品牌ID"),
            "supplier": ("supplier_id", "供应商", "供应商ID"),
            "warehouse": ("warehouse_id", "仓库", "仓库ID"),
            "carrier": ("carrier_id", "快递公司", "物流公司", "承运商"),
            "department": ("department_code", "部门", "部门代码"),
            "agent": ("agent_id", "客服", "客服ID", "客服工号", "处理人"),
            "phone": ("手机", "电话", "手机号", "联系电话"),
            "email": ("邮箱", "电子邮件"),
            "wechat": ("微信", "微信号"),
            "region": ("地区", "省份", "省"),
            "city": ("城市", "市"),
            "price": ("价格", "单价"),
            "category": ("类目", "品类", "分类"),
            "channel": ("渠道", "来源渠道", "来源"),
            "text": ("content", "内容", "评价内容", "反馈内容", "评论内容"),
            "title": ("标题",),
            "rating": ("评分", "星级", "评价星级"),
            "language": ("语言",),
            "occurred_at": ("时间", "发生时间", "评价时间", "反馈时间"),
            "touchpoint": ("触点", "环节"),
            "shift": ("班次",),
            "first_response_at": ("首次响应时间",),
            "resolved_at": ("解决时间",),
            "author": ("作者", "昵称", "买家昵称"),
            "url": ("链接",),
            "kind": ("类型", "事件类型"),
            "quantity": ("数量", "购买数量"),
            "score": ("分数", "得分", "评分"),
            "comment": ("留言", "意见", "评论"),
            "responded_at": ("答卷时间", "提交时间"),
            "survey": ("问卷", "问卷名称"),
            "tier": ("客户等级", "会员等级", "等级"),
            "line_no": ("行号", "序号"),
            "status": ("状态", "订单状态"),
            "total_amount": ("金额", "订单金额", "实付金额"),
            "placed_at": ("下单时间", "创建时间", "订单创建时间"),
            "paid_at": ("付款时间", "支付时间"),
            "shipped_at": ("发货时间",),
            "delivered_at": ("签收时间", "收货时间"),
            "promised_delivery_at": ("承诺送达时间", "预计送达时间"),
            "sales_channel": ("销售渠道", "店铺", "平台"),
            "stockout_qty": ("缺货数量",),
            "unit_price": ("单价",),
            "amount": ("小计",),
            "location": ("地点",),
            "note": ("备注",),
        },
        "orders": {"id": ("订单号", "订单编号", "order_id", "external_id")},
        "customers": {
            "id": ("客户ID", "客户编号", "会员ID", "customer_id", "external_id"),
            "name": ("姓名", "客户姓名"),
        },
        "products": {
            "id": ("商品ID", "商品编号", "sku", "product_id", "external_id"),
            "name": ("商品名称", "名称"),
        },
        "people": {"id": ("工号", "员工编号", "person_id", "external_id"), "name": ("姓名",)},
        "departments": {"code": ("部门代码", "代码"), "head": ("负责人", "部门负责人")},
        "feedback": {"id": ("评价ID", "反馈ID", "feedback_id", "external_id")},
        "survey_responses": {"id": ("答卷ID", "response_id", "external_id"), "kind": ("题型", "类型")},
        "order_events": {"occurred_at": ("时间", "发生时间", "事件时间")},
    }
)


def header_aliases(kind: str) -> dict[str, str]:
    """Lower-cased header -> field name for ``kind``: field names, then its own aliases, then common ones."""
    spec = KINDS[kind]
    names = set(spec.field_names)
    result: dict[str, str] = {}
    for table in (HEADER_ALIASES.get(kind, {}), HEADER_ALIASES["*"]):
        for field_name, aliases in table.items():
            if field_name not in names:
                continue
            for alias in aliases:
                result.setdefault(alias.strip().lower(), field_name)
    for name in spec.field_names:
        result[name] = name  # a field's own name always wins over another field's alias
    return result
