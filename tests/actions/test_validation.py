"""action_validate_slot_mappings: canonical slot values and context carried across turns."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import Runtime
from actions.validation import ValidateShopSlots
from tests.actions.conftest import make_tracker, slot_events

pytestmark = pytest.mark.asyncio

DOMAIN: dict[str, Any] = {
    "slots": {
        name: {"type": "text", "mappings": [{"type": "from_entity", "entity": name}]}
        for name in ("category", "brand", "color", "size", "recipient")
    }
    | {
        name: {"type": "float", "mappings": [{"type": "custom"}]}
        for name in ("price_min", "price_max")
    }
    | {"exclude_brands": {"type": "list", "mappings": [{"type": "custom"}]}},
}


def ent(entity: str, text: str) -> dict[str, Any]:
    return {"entity": entity, "value": text, "text": text}


async def validate(
    text: str,
    intent: str,
    entities: list[dict[str, Any]],
    *,
    before: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the validation action as Rasa does: entity slot values set by this message."""
    before = dict(before or {})
    slots = dict(before)
    mapped = [e for e in entities if e["entity"] in DOMAIN["slots"]]
    this_turn = [{"event": "slot", "name": e["entity"], "value": e["value"]} for e in mapped]
    slots.update({e["entity"]: e["value"] for e in mapped})
    past = [{"event": "slot", "name": k, "value": v} for k, v in before.items()]
    tracker = make_tracker(text, intent, entities=entities, slots=slots, past_slot_events=past)
    tracker.events.extend(this_turn)
    events = await ValidateShopSlots().run(CollectingDispatcher(), tracker, DOMAIN)
    return slot_events(events)


async def test_aliases_become_canonical(shop: Runtime) -> None:
    slots = await validate(
        "想买双Nike的跑步鞋，黑的，42码",
        "search_product",
        [ent("brand", "Nike"), ent("category", "跑步鞋"), ent("color", "黑"), ent("size", "42码")],
    )
    assert slots["brand"] == "耐克" and slots["category"] == "运动鞋"
    assert slots["color"] == "黑色" and slots["size"] == "42"


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("1k以内的耳机", None, 1000.0), ("两三百的", 200.0, 300.0), ("预算3000", None, 3000.0)],
)
async def test_prices_from_text(shop: Runtime, text: str, low: Any, high: Any) -> None:
    slots = await validate(text, "search_product", [])
    assert (slots["price_min"], slots["price_max"]) == (low, high)


async def test_price_entity_span_wins_over_model_numbers(shop: Runtime) -> None:
    slots = await validate("iPhone 15 五千以内", "search_product", [ent("price", "五千以内")])
    assert slots["price_max"] == 5000.0 and slots["price_min"] is None


async def test_new_price_replaces_the_old_range(shop: Runtime) -> None:
    slots = await validate(
        "500以内的呢", "refine_search", [], before={"price_min": 1000.0, "price_max": 2000.0}
    )
    assert (slots["price_min"], slots["price_max"]) == (None, 500.0)


async def test_price_not_read_from_non_product_turns(shop: Runtime) -> None:
    assert await validate("第二个500块吗", "ask_product_detail", []) == {}


async def test_new_category_drops_the_old_searchs_refinements(shop: Runtime) -> None:
    slots = await validate(
        "看看耳机",
        "search_product",
        [ent("category", "耳机")],
        before={"category": "运动鞋", "brand": "耐克", "color": "红色", "price_max": 500.0},
    )
    assert slots["category"] == "耳机"
    assert slots["brand"] is None and slots["color"] is None and slots["price_max"] is None


async def test_same_category_keeps_context(shop: Runtime) -> None:
    slots = await validate(
        "跑鞋有白色的吗",
        "refine_search",
        [ent("category", "跑鞋"), ent("color", "白色")],
        before={"category": "运动鞋", "brand": "耐克"},
    )
    assert slots["category"] == "运动鞋" and "brand" not in slots and slots["color"] == "白色"


async def test_brand_that_does_not_sell_the_category_drops_it(shop: Runtime) -> None:
    slots = await validate(
        "华为的呢", "refine_search", [ent("brand", "华为")], before={"category": "运动鞋"}
    )
    assert slots["brand"] == "华为" and slots["category"] is None


async def test_negated_brand_is_excluded_not_wanted(shop: Runtime) -> None:
    slots = await validate(
        "不要耐克的",
        "refine_search",
        [ent("brand", "耐克")],
        before={"category": "运动鞋", "brand": "耐克"},
    )
    assert slots["brand"] is None and slots["exclude_brands"] == ["耐克"]


async def test_other_brand_excludes_what_was_shown(shop: Runtime) -> None:
    shown = [{"id": "s1", "brand": "耐克"}, {"id": "s2", "brand": "耐克"}]
    slots = await validate("换个牌子", "refine_search", [], before={"shown_items": shown})
    assert slots["exclude_brands"] == ["耐克"]


async def test_unknown_category_is_not_kept(shop: Runtime) -> None:
    slots = await validate("想买冰箱", "search_product", [ent("category", "冰箱")])
    assert slots["category"] is None


async def test_product_line_names_brand_and_category(shop: Runtime) -> None:
    slots = await validate("想买 iphone 15 pro", "search_product", [])
    assert slots["brand"] == "苹果" and slots["category"] == "手机"
    slots = await validate("华为Mate60多少钱", "search_product", [ent("brand", "华为")])
    assert slots["brand"] == "华为" and slots["category"] == "手机"


async def test_category_word_missed_by_the_model_is_still_found(shop: Runtime) -> None:
    slots = await validate("有没有好看的跑鞋", "search_product", [])
    assert slots["category"] == "运动鞋"


async def test_overlapping_price_spans_count_once(shop: Runtime) -> None:
    text = "苹果手机 预算5000"
    tagged = [
        {"entity": "price", "value": "预算5000", "start": 5, "end": 11},
        {"entity": "price", "value": "5000", "start": 7, "end": 11},
    ]
    slots = await validate(text, "search_product", tagged)
    assert (slots["price_min"], slots["price_max"]) == (None, 5000.0)


async def test_gift_for_someone_new_starts_a_new_need(shop: Runtime) -> None:
    slots = await validate(
        "给我女票挑个礼物",
        "ask_recommendation",
        [ent("recipient", "女票")],
        before={"category": "运动鞋", "price_max": 300.0, "exclude_brands": ["耐克"]},
    )
    assert slots["recipient"] == "女朋友"
    assert slots["category"] is None and slots["price_max"] is None
    assert slots["exclude_brands"] is None


async def test_gift_flow_keeps_recipient_when_the_category_comes_next(shop: Runtime) -> None:
    slots = await validate(
        "保温杯吧", "search_product", [ent("category", "保温杯")], before={"recipient": "妈妈"}
    )
    assert slots["category"] == "保温杯" and "recipient" not in slots


async def test_refining_never_resets_the_need(shop: Runtime) -> None:
    slots = await validate(
        "有没有黑色的",
        "refine_search",
        [ent("color", "黑色")],
        before={"category": "运动鞋", "brand": "耐克", "price_max": 500.0},
    )
    assert slots == {"color": "黑色"}


async def test_new_category_after_products_were_shown_is_a_new_need(shop: Runtime) -> None:
    shown = [{"id": "s1", "brand": "耐克", "category": "运动鞋"}]
    slots = await validate(
        "想买 iphone 15 pro",
        "search_product",
        [ent("brand", "iphone 15 pro")],
        before={"recipient": "女朋友", "price_max": 1000.0, "shown_items": shown},
    )
    assert slots["brand"] == "苹果" and slots["category"] == "手机"
    assert (
        slots["price_max"] is None and slots["recipient"] is None and slots["shown_items"] is None
    )


async def test_naming_a_model_not_on_the_page_drops_the_old_budget(shop: Runtime) -> None:
    # Phones under ¥3000 were shown; the iPhone 15 Pro costs more and must not be hidden.
    phones = [{"id": "p3", "title": "华为 nova 12", "brand": "华为", "category": "手机"}]
    before = {
        "category": "手机",
        "price_max": 3000.0,
        "exclude_brands": ["华为"],
        "shown_items": phones,
    }
    slots = await validate("iphone 15 pro多少钱", "search_product", [], before=before)
    assert slots["brand"] == "苹果" and slots["category"] == "手机"
    assert slots["price_max"] is None and slots["exclude_brands"] is None
    # The model is on the page already: a question about it keeps the search as it was.
    on_page = [{"id": "p1", "title": "华为 Mate60 Pro", "brand": "华为", "category": "手机"}]
    slots = await validate(
        "mate 60 pro有黑色吗",
        "search_product",
        [ent("color", "黑色")],
        before={"category": "手机", "brand": "华为", "price_max": 8000.0, "shown_items": on_page},
    )
    assert "price_max" not in slots and slots["color"] == "黑色"
    # Nothing shown yet: the budget said just before belongs to this request.
    slots = await validate(
        "要iphone 15 pro", "search_product", [], before={"category": "手机", "price_max": 9000.0}
    )
    assert "price_max" not in slots


async def test_adding_a_brand_to_the_same_search_keeps_the_budget(shop: Runtime) -> None:
    shown = [{"id": "s3", "brand": "阿迪达斯", "category": "运动鞋"}]
    slots = await validate(
        "耐克的跑鞋呢",
        "search_product",
        [ent("brand", "耐克"), ent("category", "跑鞋")],
        before={"category": "运动鞋", "price_max": 500.0, "shown_items": shown},
    )
    assert slots["brand"] == "耐克" and "price_max" not in slots


async def test_budget_button_payload_sets_the_range(shop: Runtime) -> None:
    payload = '/refine_search{"price": "200到500"}'
    slots = await validate(payload, "refine_search", [{"entity": "price", "value": "200到500"}])
    assert (slots["price_min"], slots["price_max"]) == (200.0, 500.0)


@pytest.mark.parametrize(
    ("text", "span"),
    [("预算1e99的手机", "预算1"), ("预算1e99的手机", "1e99"), ("预算负五百的手机", "五百")],
)
async def test_a_span_of_an_impossible_budget_sets_no_price(
    shop: Runtime, text: str, span: str
) -> None:
    # The model tags part of "1e99" or "负五百" as a price; that part alone reads as ¥1 or ¥500.
    slots = await validate(text, "search_product", [ent("category", "手机"), ent("price", span)])
    assert slots.get("price_max") is None and slots.get("price_min") is None
    assert slots["category"] == "手机"
