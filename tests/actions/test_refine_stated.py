"""A refinement that states a colour: red jackets first, including one already shown."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.replies import describe_query
from actions.runtime import Runtime
from actions.shop import ActionSearchProducts
from tests.actions.conftest import add_products, make_tracker, payloads, slot_events, texts

pytestmark = pytest.mark.asyncio

JACKETS = [
    {"id": "k1", "title": "中国红 女士羽绒服", "colors": ["红色"], "price": 799},
    {"id": "k2", "title": "墨绿 连帽羽绒服", "colors": ["绿色", "红色"], "price": 859},
    {"id": "k3", "title": "经典黑 长款羽绒服", "colors": ["黑色"], "price": 689},
    {"id": "k4", "title": "米白 短款面包服", "colors": ["白色"], "price": 459},
    {"id": "k5", "title": "雾粉 轻薄羽绒服", "colors": ["粉色"], "price": 559},
    {"id": "k6", "title": "藏青 极寒羽绒服", "colors": ["蓝色", "红色"], "price": 959},
    {"id": "k7", "title": "炭灰 户外羽绒服", "colors": ["灰色"], "price": 639},
]


@pytest.fixture
def jackets(shop: Runtime) -> Runtime:
    add_products(shop, [{**j, "category": "羽绒服"} for j in JACKETS])
    return shop


async def turn(
    text: str, intent: str, slots: dict[str, Any], entities: list[dict[str, Any]] | None = None
) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    before = [{"event": "slot", "name": k, "value": v} for k, v in slots.get("_before", {}).items()]
    tracker = make_tracker(
        text,
        intent,
        entities=entities,
        slots={k: v for k, v in slots.items() if k != "_before"},
        past_slot_events=before,
    )
    return dispatcher, await ActionSearchProducts().run(dispatcher, tracker, {})


async def first_page(shown_red: bool) -> list[dict[str, Any]]:
    """Search until the first page holds (or lacks) the jacket titled 中国红."""
    _, events = await turn("想买件羽绒服", "search_product", {"category": "羽绒服"})
    shown = slot_events(events)["shown_items"]
    assert ("k1" in [i["id"] for i in shown]) is shown_red
    return shown


async def test_stating_a_colour_keeps_the_shown_red_one_and_puts_red_titles_first(
    jackets: Runtime,
) -> None:
    shown = await first_page(shown_red=True)
    red = [{"entity": "color", "value": "红色", "text": "红色"}]
    dispatcher, _ = await turn(
        "有红色的吗",
        "refine_search",
        {"category": "羽绒服", "color": "红色", "shown_items": shown},
        red,
    )
    [payload] = payloads(dispatcher, "products")
    ids = [i["id"] for i in payload["items"]]
    assert ids[0] == "k1"  # titled red, and shown before: it answers the question best
    assert set(ids) == {"k1", "k2", "k6"}
    reasons = {i["id"]: i["reason"] for i in payload["items"]}
    assert reasons["k2"].startswith("有红色可选") and not reasons["k1"].startswith("有红色可选")
    assert "换了一批" not in texts(dispatcher)


async def test_more_of_the_same_colour_leaves_the_shown_ones_out(jackets: Runtime) -> None:
    red = [{"entity": "color", "value": "红色", "text": "红色"}]
    _, events = await turn(
        "要红色的羽绒服", "search_product", {"category": "羽绒服", "color": "红色"}, red
    )
    shown = slot_events(events)["shown_items"]
    assert {i["id"] for i in shown} == {"k1", "k2", "k6"}
    dispatcher, _ = await turn(
        "还有红色的吗",
        "refine_search",
        {"category": "羽绒服", "color": "红色", "shown_items": shown, "_before": {"color": "红色"}},
        red,
    )
    # Nothing red is left unseen: the colour is relaxed and said so, no red one repeated.
    [payload] = payloads(dispatcher, "products")
    assert not {i["id"] for i in payload["items"]} & {"k1", "k2", "k6"}
    assert "放宽了颜色" in texts(dispatcher)


PHONES = [
    {"id": "f1", "title": "星河 S1 8GB+256GB", "storage": "8GB+256GB", "price": 2999},
    {"id": "f2", "title": "星河 S1 8GB+128GB", "storage": "8GB+128GB", "price": 2499},
    {"id": "f3", "title": "星河 S2 12GB+256GB", "storage": "12GB+256GB", "price": 3999},
    {"id": "f4", "title": "星河 S2 12GB+512GB", "storage": "12GB+512GB", "price": 4999},
    {"id": "f5", "title": "星河 S3 16GB+1TB", "storage": "16GB+1TB", "price": 6999},
]


async def test_asking_for_256g_shows_phones_with_that_storage(shop: Runtime) -> None:
    add_products(
        shop,
        [
            {
                "id": p["id"],
                "title": p["title"],
                "category": "手机",
                "brand": "星河",
                "price": p["price"],
                "attributes": {"storage": p["storage"]},
            }
            for p in PHONES
        ],
    )
    _, events = await turn("星河手机", "search_product", {"category": "手机", "brand": "星河"})
    shown = slot_events(events)["shown_items"]
    dispatcher, _ = await turn(
        "有256G的吗",
        "refine_search",
        {"category": "手机", "brand": "星河", "size": "256GB", "shown_items": shown},
        [{"entity": "size", "value": "256G", "text": "256G"}],
    )
    [payload] = payloads(dispatcher, "products")
    assert {i["id"] for i in payload["items"]} == {"f1", "f3"}


async def test_brands_turned_down_are_not_restated_once_one_brand_is_asked_for() -> None:
    turned_down = {"category": "手机", "exclude_brands": ["荣耀", "苹果"]}
    assert describe_query(turned_down) == "手机 · 不要荣耀、苹果"
    assert describe_query({**turned_down, "brand": "华为"}) == "华为 · 手机"


LIPSTICKS = [
    {
        "id": pid,
        "title": f"{brand} {shade} 口红",
        "brand": brand,
        "colors": [colour],
        "price": price,
    }
    for pid, brand, shade, colour, price in [
        ("l1", "花西子", "豆沙粉", "粉色", 129),
        ("l2", "花西子", "正红", "红色", 129),
        ("l3", "花西子", "枫叶棕", "棕色", 139),
        ("l4", "花西子", "樱花粉", "粉色", 119),
        ("l5", "兰蔻", "正红", "红色", 329),
    ]
]
AFTER_DETAIL = [
    {"event": "user", "text": "第一个是什么颜色", "parse_data": {}},
    {"event": "action", "name": "action_product_detail"},
    {"event": "action", "name": "action_listen"},
]


async def test_other_shades_right_after_a_products_details_are_that_product_in_other_colours(
    shop: Runtime,
) -> None:
    add_products(shop, [{**row, "category": "口红"} for row in LIPSTICKS])
    shown = [{"id": r["id"], "title": r["title"], "category": "口红"} for r in LIPSTICKS[:3]]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "有别的色号吗",
        "refine_search",
        slots={"shown_items": shown, "focus_item": "l1", "category": "口红"},
        past_slot_events=AFTER_DETAIL,
    )
    events = await ActionSearchProducts().run(dispatcher, tracker, {})
    [payload] = payloads(dispatcher, "products")
    ids = [item["id"] for item in payload["items"]]
    # Its brand's other shades; nothing pink like the one asked about, no other brand.
    assert set(ids) == {"l2", "l3"}, ids
    assert texts(dispatcher).startswith("这款只有粉色～花西子口红里这些是别的颜色")
    assert {item["reason"] for item in payload["items"]} == {"还有红色可选", "还有棕色可选"}
    assert slot_events(events)["focus_item"] == "l1"
