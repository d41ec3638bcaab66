"""Composes natural-looking customer texts from the snippets in :mod:`cxloop.demo.phrases`.

The composer is driven by one ``random.Random`` so the same seed writes the same words. It returns the
aspects it put into each text, which the generator counts as the ground truth of the demo's Pareto.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cxloop.demo import phrases

Mention = tuple[str, str]  # (aspect id, "positive" | "negative")


@dataclass
class Text:
    """A composed text, its language code and the aspect mentions it carries."""

    text: str
    language: str
    mentions: list[Mention] = field(default_factory=list)
    traditional: bool = False


class _S2T:
    """Lazy OpenCC converter: building it reads dictionaries, which a run without Traditional text skips."""

    _conv: Any = None

    @classmethod
    def convert(cls, text: str) -> str:
        if cls._conv is None:
            import opencc

            cls._conv = opencc.OpenCC("s2t")
        return str(cls._conv.convert(text))


class Composer:
    """Writes reviews, chats and comments; ``english`` and ``traditional`` are the shares of each script."""

    def __init__(self, rng: random.Random, *, english: float = 0.05, traditional: float = 0.05) -> None:
        self.rng = rng
        self.english = english
        self.traditional = traditional

    # -- helpers ---------------------------------------------------------------------------------------

    def _fill(self, template: str, slots: dict[str, Any]) -> str:
        return template.format(**slots)

    def _pick_language(self) -> str:
        r = self.rng.random()
        if r < self.english:
            return "en"
        if r < self.english + self.traditional:
            return "zh-Hant"
        return "zh"

    def _finish(self, body: str, mood: str, *, allow_emoji: bool = True) -> str:
        rng = self.rng
        if rng.random() < 0.05:
            # Typos only touch filler words listed in phrases.TYPOS, never aspect keywords.
            old, new = rng.choice(phrases.TYPOS)
            body = body.replace(old, new, 1)
        end = (
            rng.choice(("。", "。", "", "！", "~", "…", "!!"))
            if mood != "negative"
            else rng.choice(("。", "！", "！！", "", "。。。", "?!"))
        )
        if body and body[-1] in "。！？?!~…":
            end = ""  # the snippet already ends a sentence
        body = body + end
        if allow_emoji and mood != "mixed" and rng.random() < 0.12:
            body += rng.choice(phrases.EMOJI_NEG if mood == "negative" else phrases.EMOJI_POS)
        return body

    def _snippet(
        self, aspect: str, sentiment: str, slots: dict[str, Any], also: list[Mention], *, defect: bool = False
    ) -> str:
        """A snippet for one mention; the other complaints its words carry are added to ``also``."""
        if defect:
            return self._fill(self.rng.choice(phrases.DEFECT), slots)
        table = phrases.NEG if sentiment == "negative" else phrases.POS
        template = self.rng.choice(table[aspect])
        also.extend(phrases.ALSO_PLANTS.get(template, ()))
        snippet = self._fill(template, slots)
        if self.rng.random() < 0.15:
            snippet += self.rng.choice(phrases.PARTICLES)
        return snippet

    @staticmethod
    def _mood(mentions: list[Mention]) -> str:
        neg = any(s == "negative" for _, s in mentions)
        pos = any(s == "positive" for _, s in mentions)
        if neg and pos:
            return "mixed"
        return "negative" if neg else "positive"

    # -- public ----------------------------------------------------------------------------------------

    def review(
        self,
        mentions: list[Mention],
        slots: dict[str, Any],
        *,
        defect: bool = False,
        language: str | None = None,
    ) -> Text:
        """A product review mentioning ``mentions`` (the quality one as a defect story when ``defect``)."""
        rng = self.rng
        language = language or self._pick_language()
        if not mentions:
            body = rng.choice(phrases.NEUTRAL_REVIEWS)
            if language == "en":
                return Text(rng.choice(("It's OK.", "Fine.", "As expected.", "Not bad.")), "en")
            return self._script(Text(self._finish(body, "positive"), "zh"), language)
        if language == "en":
            return self._english(mentions, slots)
        neg = [m for m in mentions if m[1] == "negative"]
        pos = [m for m in mentions if m[1] == "positive"]
        also: list[Mention] = []
        neg_parts = [
            self._snippet(a, s, slots, also, defect=defect and a == "product_quality") for a, s in neg
        ]
        pos_parts = [self._snippet(a, s, slots, also) for a, s in pos]
        mood = self._mood(mentions)
        if pos_parts and neg_parts:
            if rng.random() < 0.6:
                body = "，".join(pos_parts) + "，" + rng.choice(phrases.BUT) + "，".join(neg_parts)
            else:
                body = (
                    "，".join(neg_parts)
                    + "。"
                    + rng.choice(("不过", "好在", "还好", "但"))
                    + "，".join(pos_parts)
                )
            body += rng.choice(phrases.CLOSINGS_MIXED)
        elif neg_parts:
            body = rng.choice(phrases.ALSO).join(neg_parts) + rng.choice(phrases.CLOSINGS_NEG)
        else:
            body = rng.choice(phrases.ALSO).join(pos_parts) + rng.choice(phrases.CLOSINGS_POS)
        body = self._fill(rng.choice(phrases.OPENINGS), slots) + body
        if rng.random() < 0.03:
            body = rng.choice(phrases.FOLLOW_UPS) + body
        return self._script(Text(self._finish(body, mood), "zh", _merge(mentions, also)), language)

    def _english(self, mentions: list[Mention], slots: dict[str, Any]) -> Text:
        rng = self.rng
        parts: list[str] = []
        kept: list[Mention] = []
        for aspect, sentiment in mentions:
            table = phrases.EN_NEG if sentiment == "negative" else phrases.EN_POS
            if aspect in table:
                parts.append(self._fill(rng.choice(table[aspect]), slots))
                kept.append((aspect, sentiment))
        if not parts:
            return Text("Received, it's OK.", "en")
        body = ", but ".join(parts) if self._mood(kept) == "mixed" else ", and ".join(parts)
        text = self._fill(rng.choice(phrases.EN_OPENINGS), slots) + body[0].upper() + body[1:] + "."
        text += rng.choice(phrases.EN_CLOSINGS)
        return Text(text, "en", kept)

    def _script(self, text: Text, language: str) -> Text:
        if language == "zh-Hant":
            # Traditional Chinese is still language "zh" (vocab.LANGUAGES); only the script differs.
            return Text(_S2T.convert(text.text), "zh", text.mentions, traditional=True)
        return text

    def chat(self, scenario: str, slots: dict[str, Any], *, waited: bool) -> Text:
        """A customer's side of a chat about ``scenario``; ``waited`` adds a complaint about no answer."""
        rng = self.rng
        templates = [rng.choice(phrases.CHAT[scenario])]
        if rng.random() < 0.3:
            extra = rng.choice(phrases.CHAT[scenario])
            if self._fill(extra, slots) != self._fill(templates[0], slots):
                templates.append(extra)
        lines = [self._fill(t, slots) for t in templates]
        mentions: list[Mention] = []
        aspect = SCENARIO_ASPECT.get(scenario)
        # A chat that only asks ("请问今天能发货吗？") complains about nothing, whatever made the customer ask.
        if aspect and not all(t in phrases.ENQUIRIES for t in templates):
            mentions.append((aspect, "negative"))
        for template in templates:
            mentions = _merge(mentions, phrases.ALSO_PLANTS.get(template, ()))
        if waited:
            lines.append(self._fill(rng.choice(phrases.CHAT_WAITING), slots))
            mentions.append(("cs_response", "negative"))
        if rng.random() < 0.4:
            thanks = rng.choice(phrases.CHAT_THANKS)
            lines.append(thanks)
            if "客服态度" in thanks:
                mentions.append(("cs_attitude", "positive"))
        language = self._pick_language()
        if language == "en":
            en_lines = [self._fill(rng.choice(phrases.EN_CHAT[scenario]), slots)]
            if waited:
                en_lines.append(self._fill(rng.choice(phrases.EN_WAITING), slots))
            # The English lines replace the Chinese ones: they complain about the scenario, no more.
            kept: list[Mention] = [(aspect, "negative")] if aspect else []
            if waited:
                kept.append(("cs_response", "negative"))
            return Text("\n".join(en_lines), "en", kept)
        return self._script(Text("\n".join(lines), "zh", mentions), language)

    def call_note(self, scenario: str, slots: dict[str, Any]) -> Text:
        """An agent's note of a phone call (always Simplified Chinese: agents write it)."""
        note = self._fill(self.rng.choice(phrases.CALL_NOTES[scenario]), slots)
        aspect = SCENARIO_ASPECT.get(scenario)
        return Text(note, "zh", [(aspect, "negative")] if aspect else [])

    def ticket_title(self, scenario: str) -> str:
        """A short ticket title for ``scenario``."""
        return self.rng.choice(phrases.TICKET_TITLES.get(scenario, ("咨询",)))

    def fixed(self, text: str, mentions: list[Mention], slots: dict[str, Any]) -> Text:
        """A one-line text (app feedback, social post) with an optional script change."""
        mood = self._mood(mentions) if mentions else "positive"
        body = self._finish(self._fill(text, slots), mood)
        language = self._pick_language()
        if language == "en":
            return self._english(mentions, slots)
        return self._script(Text(body, "zh", _merge(mentions, phrases.ALSO_PLANTS.get(text, ()))), language)


#: Slot values for a snippet written without an order at hand (a survey answer's comment).
GENERIC_SLOTS: dict[str, Any] = {"p": "商品", "d": 3, "h": 24, "m": 20, "carrier": "快递", "order": ""}


def fill_generic(template: str) -> str:
    """``template`` with the generic slot values: no "{d}" is ever left in a customer's text."""
    return template.format(**GENERIC_SLOTS)


def _merge(mentions: Iterable[Mention], more: Iterable[Mention]) -> list[Mention]:
    """``mentions`` then ``more``, each (aspect, sentiment) once: a text names a complaint once however often."""
    return list(dict.fromkeys([*mentions, *more]))


#: Which aspect a chat/ticket/call scenario complains about (presale questions are neutral).
SCENARIO_ASPECT: dict[str, str] = {
    "dispatch": "dispatch_speed",
    "where": "delivery_speed",
    "damaged": "damage_loss",
    "lost": "damage_loss",
    "defect": "product_quality",
    "refund": "returns_refunds",
    "courier": "courier_service",
    "wrong": "wrong_missing_item",
    "payment": "payment",
}
