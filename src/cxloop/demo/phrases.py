"""Text pieces the demo generator combines into reviews, chats, tickets, calls, posts and comments.

Every aspect snippet uses the words the default taxonomy recognises for that aspect (see the aspect list
in docs/demo.md), and avoids the words of other aspects, so the planted problems show up in the aspect
Pareto. Slots: ``{p}`` product word, ``{d}`` days, ``{h}`` hours, ``{m}`` minutes, ``{carrier}`` carrier
short name, ``{order}`` order id.

The snippets themselves are data, in ``phrases.yaml`` beside this module (one table per name below,
in the same order); this module reads them once and gives each table its type.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any, Final

import yaml


def _frozen(value: Any) -> Any:
    """Lists as tuples, all the way down: the tables are constants."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


_TABLES: Final[dict[str, Any]] = _frozen(
    yaml.safe_load(files("cxloop.demo").joinpath("phrases.yaml").read_text(encoding="utf-8"))
)

Snippets = dict[str, tuple[str, ...]]
#: (aspect, sentiment, text) of a one-line text: app feedback, social posts.
Planted = tuple[tuple[str, str, str], ...]

# --- aspect snippets ---------------------------------------------------------------------------------
NEG: Final[Snippets] = _TABLES["NEG"]
POS: Final[Snippets] = _TABLES["POS"]
#: Product-specific breakage for the defective supplier's products (quality aspect).
DEFECT: Final[tuple[str, ...]] = _TABLES["DEFECT"]
EN_NEG: Final[Snippets] = _TABLES["EN_NEG"]
EN_POS: Final[Snippets] = _TABLES["EN_POS"]
EN_OPENINGS: Final[tuple[str, ...]] = _TABLES["EN_OPENINGS"]
#: English customer messages in chats and tickets, by scenario.
EN_CHAT: Final[Snippets] = _TABLES["EN_CHAT"]
EN_WAITING: Final[tuple[str, ...]] = _TABLES["EN_WAITING"]
EN_CLOSINGS: Final[tuple[str, ...]] = _TABLES["EN_CLOSINGS"]

# --- glue --------------------------------------------------------------------------------------------
OPENINGS: Final[tuple[str, ...]] = _TABLES["OPENINGS"]
BUT: Final[tuple[str, ...]] = _TABLES["BUT"]
ALSO: Final[tuple[str, ...]] = _TABLES["ALSO"]
CLOSINGS_POS: Final[tuple[str, ...]] = _TABLES["CLOSINGS_POS"]
CLOSINGS_NEG: Final[tuple[str, ...]] = _TABLES["CLOSINGS_NEG"]
CLOSINGS_MIXED: Final[tuple[str, ...]] = _TABLES["CLOSINGS_MIXED"]
PARTICLES: Final[tuple[str, ...]] = _TABLES["PARTICLES"]
EMOJI_POS: Final[tuple[str, ...]] = _TABLES["EMOJI_POS"]
EMOJI_NEG: Final[tuple[str, ...]] = _TABLES["EMOJI_NEG"]
#: Everyday typos and web slang, applied to filler words only so aspect keywords stay intact.
TYPOS: Final[tuple[tuple[str, str], ...]] = _TABLES["TYPOS"]
NEUTRAL_REVIEWS: Final[tuple[str, ...]] = _TABLES["NEUTRAL_REVIEWS"]
FOLLOW_UPS: Final[tuple[str, ...]] = _TABLES["FOLLOW_UPS"]

# --- chats, tickets, calls, posts, surveys -------------------------------------------------------------
CHAT: Final[Snippets] = _TABLES["CHAT"]
#: What a customer adds when nobody has answered for a while.
CHAT_WAITING: Final[tuple[str, ...]] = _TABLES["CHAT_WAITING"]
CHAT_THANKS: Final[tuple[str, ...]] = _TABLES["CHAT_THANKS"]
TICKET_TITLES: Final[Snippets] = _TABLES["TICKET_TITLES"]
CALL_NOTES: Final[Snippets] = _TABLES["CALL_NOTES"]
APP_FEEDBACK: Final[Planted] = _TABLES["APP_FEEDBACK"]
SOCIAL_OWN: Final[Planted] = _TABLES["SOCIAL_OWN"]
SOCIAL_COMP: Final[Planted] = _TABLES["SOCIAL_COMP"]
#: Survey open comments by mood.
SURVEY_POS: Final[tuple[str, ...]] = _TABLES["SURVEY_POS"]
SURVEY_NEG_EXTRA: Final[tuple[str, ...]] = _TABLES["SURVEY_NEG_EXTRA"]

#: Snippets that say more than their table's aspect: the other complaints their words carry, which the
#: truth counts like the snippet's own ("not worth the price" is a price complaint as well).
ALSO_PLANTS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "质量一般，跟价格不太匹配": (("price_value", "negative"),),
    "能不能换货？尺码不对": (("description_match", "negative"),),
    "付款页面打不开": (("app_usability", "negative"),),
}
#: Chat lines that only ask (no complaint word): the scenario's aspect is not a complaint in them.
ENQUIRIES: Final = frozenset({"请问订单{order}今天能发货吗？"})
