"""Aspect -> (names, journey stage, department), from cxloop.text's taxonomy when it is installed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class AspectInfo:
    """What metrics needs to know about one aspect of the taxonomy."""

    id: str
    name_zh: str
    name_en: str
    stage: str
    department: str


# Used only while cxloop.text (the owner of the taxonomy) is absent, so metrics keeps working alone;
# the ids, stages and departments follow the default e-commerce taxonomy's published list.
_FALLBACK: tuple[AspectInfo, ...] = (
    AspectInfo("product_quality", "商品质量", "Product quality", "use", "quality"),
    AspectInfo("description_match", "描述相符", "Matches description", "use", "product"),
    AspectInfo("price_value", "价格价值", "Price / value", "purchase", "marketing"),
    AspectInfo("dispatch_speed", "发货速度", "Dispatch speed", "wait", "warehouse"),
    AspectInfo("delivery_speed", "配送速度", "Delivery speed", "wait", "logistics"),
    AspectInfo("packaging", "包装", "Packaging", "arrival", "warehouse"),
    AspectInfo("damage_loss", "破损丢件", "Damage / loss", "arrival", "logistics"),
    AspectInfo("wrong_missing_item", "错发漏发", "Wrong / missing item", "arrival", "warehouse"),
    AspectInfo("courier_service", "快递员服务", "Courier service", "arrival", "logistics"),
    AspectInfo("cs_attitude", "客服态度", "CS attitude", "after_sales", "customer_service"),
    AspectInfo("cs_response", "客服响应", "CS response", "after_sales", "customer_service"),
    AspectInfo("returns_refunds", "退换退款", "Returns / refunds", "after_sales", "customer_service"),
    AspectInfo("app_usability", "网站/App 体验", "Site / app usability", "browse", "it"),
    AspectInfo("payment", "支付", "Payment", "purchase", "it"),
    AspectInfo("taste", "口味", "Taste", "use", "product"),
    AspectInfo("freshness", "新鲜度", "Freshness", "arrival", "quality"),
)


def _text(value: Any, lang: str, default: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("zh") or value.get("en") or default)
    return str(value or default)


@lru_cache(maxsize=1)
def aspects() -> dict[str, AspectInfo]:
    """Every aspect of the default taxonomy by id (the fallback list when cxloop.text is absent)."""
    import cxloop.text as text

    loader = getattr(text, "default_taxonomy", None)
    if loader is not None:
        try:
            taxonomy = loader()
            found = {}
            for aspect in getattr(taxonomy, "aspects", ()):
                name = getattr(aspect, "name", {})
                found[aspect.id] = AspectInfo(
                    id=aspect.id,
                    name_zh=_text(name, "zh", aspect.id),
                    name_en=_text(name, "en", aspect.id),
                    stage=str(getattr(aspect, "stage", "") or "use"),
                    department=str(getattr(aspect, "department", "") or "customer_service"),
                )
            if found:
                return found
        except Exception:  # a broken taxonomy file must not take the dashboards down with it
            pass
    return {a.id: a for a in _FALLBACK}


def aspect_info(aspect: str) -> AspectInfo:
    """The info of ``aspect``, or a neutral placeholder for an id the taxonomy no longer has."""
    return aspects().get(aspect) or AspectInfo(aspect, aspect, aspect, "use", "customer_service")
