"""Slot extraction and normalisation after every user message (action_validate_slot_mappings).

Every slot a product action reads is canonical by the time it runs: catalog names for category,
brand, colour, size and recipient, yuan for prices. Context carries across turns, except that
naming a different category starts a new search (brand, colour, size and budget of the old one
no longer apply unless repeated), and naming a brand that does not sell the current category
drops the category.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from actions.lexicon import Lexicon, fold
from actions.normalize import (
    drop_impossible_amounts,
    find_terms,
    normalize_size,
    normalize_term,
    parse_price,
)
from actions.runtime import get_runtime

PRODUCT_INTENTS = {"search_product", "ask_recommendation", "refine_search"}
# What describes one shopping need; all of it is dropped when the shopper starts another.
NEED_SLOTS = (
    "category", "brand", "color", "size", "price_min", "price_max", "exclude_brands", "recipient",
    "interest", "shown_items", "focus_item",
)  # fmt: skip
# What a gift search keeps when the shopper says what the person likes instead.
GIFT_SLOTS = ("recipient", "price_min", "price_max")
_SAME_PERSON = re.compile(r"[她他]")
_NEGATION = r"(?:不要|别要|不想要|不喜欢|除了|排除|别推|别给我|不考虑|不买)"
_OTHER_BRAND = re.compile(
    r"换个?(?:牌子|品牌)|别的(?:牌子|品牌)|其他(?:牌子|品牌)|不要这个(?:牌子|品牌)|不喜欢这个(?:牌子|品牌)"
)


def previous_value(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest user message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
            continue
        if seen_user and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def entity_texts(tracker: Tracker, entity: str, text: str | None = None) -> list[str]:
    """Texts of `entity` in the latest message; overlapping spans (regex + DIET) merged.

    `text` replaces the message when given: the same length, some of it blanked out."""
    text = text if text is not None else tracker.latest_message.get("text") or ""
    spans: list[list[int]] = []
    loose: list[str] = []
    for ent in tracker.latest_message.get("entities", []) or []:
        if ent.get("entity") != entity:
            continue
        start, end = ent.get("start"), ent.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            spans.append([start, end])
        elif ent.get("value") is not None:
            loose.append(str(ent["value"]))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [text[a:b] for a, b in merged] + loose


def _kept(tracker: Tracker, slots: tuple[str, ...]) -> dict[str, Any]:
    return {slot: tracker.get_slot(slot) for slot in slots if tracker.get_slot(slot) is not None}


def negated_brands(text: str, lexicon: Lexicon) -> list[str]:
    """Brands the shopper rules out: 不要耐克 / 除了苹果 / 不喜欢华为的."""
    out: list[str] = []
    for m in re.finditer(_NEGATION + r"(.{1,16}?)(?:的|了|，|,|。|$|\s|还|吧|啊|呢)", text):
        out.extend(find_terms("brands", m.group(1), lexicon))
    return list(dict.fromkeys(out))


class ValidateShopSlots(ValidationAction):
    def _lexicon(self) -> Lexicon:
        return get_runtime().lexicon

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        return events + self._new_need_resets(tracker, events)

    def _new_need_resets(self, tracker: Tracker, events: list[EventType]) -> list[EventType]:
        """A different category or brand, or a gift for someone new, starts a new need: what
        was said for the old one (colour, size, budget, excluded brands ...) no longer applies
        unless repeated in this message."""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        now = {e["name"]: e.get("value") for e in events if e.get("event") == "slot"}
        if intent == "refine_search" and self._interest_leaves_category(tracker, now):
            # 她其实更喜欢做饭 on a page of headphones: the same gift and budget, other things.
            return self._resets(tracker, now, same_person=True)
        if intent not in {"search_product", "ask_recommendation"}:
            return []
        # While we are asking (budget for a gift, say) the answer completes the same need.
        answering = bool(tracker.get_slot("asked"))
        shown_before = bool(tracker.get_slot("shown_items"))
        changed = False
        for key in ("category", "brand", "recipient", "interest"):
            value, before = now.get(key), previous_value(tracker, key)
            if not value or value == before:
                continue
            if before is not None and key != "recipient":
                changed = True  # 运动鞋 -> 耳机, 华为 -> 苹果
            elif key in ("category", "interest") and shown_before and not answering:
                changed = True  # products were shown for another need
            elif key == "recipient" and intent == "ask_recommendation":
                changed = True  # a gift for someone else
        if not changed and self._names_another_model(tracker):
            changed = True  # iphone 15 pro多少钱 after a page of phones under ¥3000
        if not changed and self._interest_leaves_category(tracker, now):
            changed = True  # 我妈喜欢做饭 after a search for phones
        if not changed:
            return []
        text = tracker.latest_message.get("text") or ""
        # 她喜欢做饭 / 他更想要耳机: another thing for the same person, within the same budget.
        same_person = "recipient" not in now and bool(_SAME_PERSON.search(text))
        return self._resets(tracker, now, same_person=same_person)

    def _resets(
        self, tracker: Tracker, now: dict[str, Any], *, same_person: bool = False
    ) -> list[EventType]:
        """Clear the old need's slots that this message does not set (and, for the same
        person, the recipient and budget neither)."""
        if same_person:
            now = {**now, **_kept(tracker, GIFT_SLOTS)}
        text = tracker.latest_message.get("text") or ""
        if not (negated_brands(text, self._lexicon()) or _OTHER_BRAND.search(text)):
            # validate_brand restates the exclusions with every brand; only 不要X says them.
            now.pop("exclude_brands", None)
        return [
            SlotSet(slot, None)
            for slot in NEED_SLOTS
            if slot not in now and tracker.get_slot(slot) not in (None, [], "")
        ]

    def _interest_leaves_category(self, tracker: Tracker, now: dict[str, Any]) -> bool:
        """A newly said interest that the carried category does not serve, no category named."""
        interest = now.get("interest")
        category = tracker.get_slot("category")
        if not interest or not category or now.get("category"):
            return False
        if interest == previous_value(tracker, "interest"):
            return False
        return category not in self._lexicon().interest_categories.get(interest, [])

    def _names_another_model(self, tracker: Tracker) -> bool:
        """The message names a model line that none of the shown products is: a request for
        that product, which the old need's budget or colour would hide."""
        line = self._lexicon().named_line(tracker.latest_message.get("text") or "")
        if line is None:
            return False
        wanted = fold(line)
        shown = tracker.get_slot("shown_items") or []
        # Nothing shown yet: 预算5000 then 要iphone 15 pro is one need told in two messages.
        return bool(shown) and not any(
            wanted in fold(str(item.get("title") or "")) for item in shown
        )

    @staticmethod
    def _product_turn(tracker: Tracker) -> bool:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return intent in PRODUCT_INTENTS

    # --- extraction of the custom slots ---------------------------------------------------------

    def _price(self, tracker: Tracker) -> Any:
        if not self._product_turn(tracker):
            return None
        # The model may tag part of an impossible amount ("预算1" of 预算1e99): cut spans out
        # of the message with those amounts blanked.
        message = tracker.latest_message.get("text") or ""
        spans = entity_texts(tracker, "price", drop_impossible_amounts(message))
        found = parse_price(" ".join(spans)) if spans else None
        if not found:
            found = parse_price(tracker.latest_message.get("text"))
        return found or None

    async def extract_price_min(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = self._price(tracker)
        return {"price_min": found.min} if found else {}

    async def extract_price_max(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = self._price(tracker)
        return {"price_max": found.max} if found else {}

    async def extract_interest(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """她平时喜欢做饭 / 我爸爱打游戏: what the catalog's interests say the message likes."""
        if not self._product_turn(tracker):
            return {}
        found = self._lexicon().find_interest(tracker.latest_message.get("text") or "")
        return {"interest": found} if found else {}

    async def extract_exclude_brands(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not self._product_turn(tracker):
            return {}
        text = tracker.latest_message.get("text") or ""
        current = list(tracker.get_slot("exclude_brands") or [])
        added = negated_brands(text, self._lexicon())
        if _OTHER_BRAND.search(text):
            # "换个牌子": rule out the brands just shown (or the one asked for).
            shown = [
                i.get("brand") for i in tracker.get_slot("shown_items") or [] if i.get("brand")
            ]
            added.extend(shown or [b for b in [tracker.get_slot("brand")] if b])
        if not added:
            return {}
        return {"exclude_brands": list(dict.fromkeys(current + added))}

    def _untagged(self, tracker: Tracker, kind: str, entity: str) -> str | None:
        """The message text when it is a product turn the model tagged no known `kind` in."""
        lexicon = self._lexicon()
        if not self._product_turn(tracker) or any(
            normalize_term(kind, v, lexicon) for v in entity_texts(tracker, entity)
        ):
            return None
        return tracker.latest_message.get("text") or ""

    async def extract_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The entity model may miss a catalog word or a product line; the lexicon does not."""
        text = self._untagged(tracker, "categories", "category")
        if not text:
            return {}
        found = find_terms("categories", text, self._lexicon())
        if found:
            return {"category": found[0]}
        line = self._lexicon().match_line(text)
        return {"category": line[1]} if line and line[1] else {}

    async def extract_brand(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = self._untagged(tracker, "brands", "brand")
        if not text or _OTHER_BRAND.search(text) or negated_brands(text, self._lexicon()):
            return {}
        line = self._lexicon().match_line(text)
        return {"brand": line[0]} if line else {}

    # --- validation ------------------------------------------------------------------------------

    def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"category": normalize_term("categories", value, self._lexicon())}

    def validate_brand(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        lexicon = self._lexicon()
        brand = normalize_term("brands", value, lexicon)
        text = tracker.latest_message.get("text") or ""
        if brand and brand in negated_brands(text, lexicon):
            return {
                "brand": previous_value(tracker, "brand")
                if previous_value(tracker, "brand") != brand
                else None
            }
        out: dict[str, Any] = {"brand": brand}
        if brand:
            excluded = [b for b in tracker.get_slot("exclude_brands") or [] if b != brand]
            out["exclude_brands"] = excluded or None
            category = tracker.get_slot("category")
            carried = lexicon.category_brands.get(category or "")
            if (
                category
                and carried
                and brand not in carried
                and "category" not in (tracker.slots_to_validate())
            ):
                out["category"] = None  # 华为的呢 while looking at 运动鞋: 华为 makes no shoes
        return out

    def validate_color(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"color": normalize_term("colors", value, self._lexicon())}

    def validate_size(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        raw = value[0] if isinstance(value, list) and value else value
        return {"size": normalize_size(str(raw) if raw is not None else None, self._lexicon())}

    def validate_recipient(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"recipient": normalize_term("recipients", value, self._lexicon())}

    def validate_price_min(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"price_min": _money(value)}

    def validate_price_max(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"price_max": _money(value)}


def _money(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        found = parse_price(str(value))
        number = found.max if found.max is not None else found.min  # type: ignore[assignment]
        if number is None:
            return None
    if number != number or number < 0 or number > 10_000_000:  # NaN or absurd
        return None
    return round(number, 2)
