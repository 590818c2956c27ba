"""The shopping actions against a real SQLite shop and the real recommender service."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.runtime import Runtime
from actions.shop import (
    ActionAddToCart,
    ActionBundle,
    ActionExplain,
    ActionForgetMe,
    ActionHandoff,
    ActionOffers,
    ActionProductDetail,
    ActionPushOffer,
    ActionSearchProducts,
    ActionSimilarItems,
    ActionViewCart,
)
from shopbot.db import repo
from shopbot.db.models import CartItem, Event, Handoff, OfferGrant, Product, Shopper
from tests.actions.conftest import CATALOG, make_tracker, payloads, slot_events, texts

pytestmark = pytest.mark.asyncio


async def run(action: Any, tracker: Any) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher, events


def products_of(shop: Runtime, ids: list[str]) -> dict[str, Product]:
    with shop.session_factory() as session:
        return repo.get_products(session, ids)


async def search(shop: Runtime, text: str, slots: dict[str, Any], intent: str = "search_product"):
    return await run(ActionSearchProducts(), make_tracker(text, intent, slots=slots))


async def test_search_shows_only_products_meeting_every_constraint(shop: Runtime) -> None:
    dispatcher, events = await search(
        shop, "想买双跑鞋 500以内", {"category": "运动鞋", "price_max": 500.0}
    )
    [payload] = payloads(dispatcher, "products")
    ids = [item["id"] for item in payload["items"]]
    assert ids, "expected products"
    assert payload["query"] == {"category": "运动鞋", "price_max": 500.0}
    for product in products_of(shop, ids).values():
        assert product.category == "运动鞋" and float(product.price) <= 500 and product.stock > 0
    assert "s7" not in ids  # sold out
    item = payload["items"][0]
    assert set(item) == {"id", "title", "price", "list_price", "image", "reason", "offer"}
    # Plain text for channels without cards, plus quick replies.
    message = next(m for m in dispatcher.messages if m.get("text"))
    assert "1. " in message["text"] and "¥" in message["text"]
    assert [b["title"] for b in message["buttons"]] == ["加入购物车", "看相似", "换一批"]
    slots = slot_events(events)
    assert [i["id"] for i in slots["shown_items"]] == ids
    assert slots["focus_item"] == ids[0]
    with shop.session_factory() as session:
        kinds = session.execute(
            select(Event.type, func.count())
            .where(Event.shopper_id == "shopper-1")
            .group_by(Event.type)
        ).all()
    assert dict(kinds) == {"search": 1, "view": len(ids)}


async def test_shoe_offer_is_shown_on_the_card(shop: Runtime) -> None:
    dispatcher, _ = await search(shop, "跑鞋", {"category": "运动鞋", "price_min": 300.0})
    [payload] = payloads(dispatcher, "products")
    for item in payload["items"]:
        # the better of 满300减30 and the store-wide 95折 for this price
        assert item["offer"] == ("满300减30" if item["price"] * 0.05 < 30 else "9.5折")


async def test_vague_request_asks_for_the_category_once(shop: Runtime) -> None:
    dispatcher, events = await search(shop, "我想买点东西", {})
    assert "哪一类" in texts(dispatcher)
    assert not payloads(dispatcher, "products")
    assert slot_events(events)["asked"] == ["category"]
    # Asked already: the next vague turn recommends instead of asking again.
    dispatcher, events = await search(shop, "随便", {"asked": ["category"]})
    assert "哪一类" not in texts(dispatcher)
    assert payloads(dispatcher, "products")


async def test_gift_without_budget_asks_the_budget_then_recommends(shop: Runtime) -> None:
    dispatcher, events = await search(
        shop, "给妈妈挑个礼物", {"recipient": "妈妈"}, "ask_recommendation"
    )
    assert "预算" in texts(dispatcher)
    dispatcher, _ = await search(
        shop,
        "200以内",
        {"recipient": "妈妈", "price_max": 200.0, "asked": ["budget"]},
        "refine_search",
    )
    [payload] = payloads(dispatcher, "products")
    assert payload["items"] and all(item["price"] <= 200 for item in payload["items"])
    assert "妈妈" in texts(dispatcher)


async def test_cheaper_refines_relative_to_what_was_shown(shop: Runtime) -> None:
    dispatcher, events = await search(shop, "跑鞋", {"category": "运动鞋"})
    shown = slot_events(events)["shown_items"]
    median = sorted(i["price"] for i in shown)[len(shown) // 2]
    dispatcher, events = await search(
        shop, "有没有便宜点的", {"shown_items": shown}, "refine_search"
    )
    [payload] = payloads(dispatcher, "products")
    assert payload["query"]["category"] == "运动鞋"
    assert all(item["price"] < median for item in payload["items"])
    assert slot_events(events)["price_max"] < median


async def test_another_batch_shows_new_items(shop: Runtime) -> None:
    _, events = await search(shop, "跑鞋", {"category": "运动鞋"})
    first = {i["id"] for i in slot_events(events)["shown_items"]}
    dispatcher, events = await search(
        shop,
        "换一批",
        {"category": "运动鞋", "shown_items": slot_events(events)["shown_items"]},
        "refine_search",
    )
    second = {i["id"] for i in slot_events(events)["shown_items"]}
    assert second and not (first & second)


# A first page of running shoes: two of them (s6 ¥249, s2 ¥299) are within ¥300.
SHOES_SHOWN = [
    {"id": pid, "title": title, "price": price, "category": "运动鞋"}
    for pid, title, price in (
        ("s6", "阿迪达斯 Runfalcon", 249.0),
        ("s2", "耐克 Revolution 跑鞋", 299.0),
        ("s4", "阿迪达斯 Duramo", 359.0),
        ("s1", "耐克 Pegasus 跑鞋", 459.0),
        ("s8", "阿迪达斯 Adizero", 499.0),
    )
]


@pytest.fixture
def recommend_filters(shop: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The Filters of every recommend() call, in order."""
    seen: list[Any] = []
    real = shop.recommender.recommend

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["filters"])
        return real(*args, **kwargs)

    monkeypatch.setattr(shop.recommender, "recommend", spy)
    return seen


async def test_a_new_budget_keeps_shown_items_that_fit_it(
    shop: Runtime, recommend_filters: list[Any]
) -> None:
    # The validation action has already put the stated budget into price_max.
    slots = {"category": "运动鞋", "price_max": 300.0, "shown_items": SHOES_SHOWN}
    dispatcher, events = await search(shop, "有没有300以内的", slots, "refine_search")
    [payload] = payloads(dispatcher, "products")
    assert payload["items"] and all(item["price"] <= 300 for item in payload["items"])
    # Both shoes within budget were shown before; leaving them out left nothing to show but
    # alternatives over the budget.
    assert {item["id"] for item in payload["items"]} == {"s2", "s6"}
    assert "最接近的替代" not in texts(dispatcher) and "按新预算" in texts(dispatcher)
    [filters] = recommend_filters
    assert filters.exclude_items == frozenset() and filters.price_max == 300
    assert [i["id"] for i in slot_events(events)["shown_items"]] == [
        i["id"] for i in payload["items"]
    ]


@pytest.mark.parametrize(
    ("text", "budget", "leaves_out_shown"),
    [
        ("有没有300以内的", {"price_max": 300.0}, False),
        ("300以内的呢", {"price_max": 300.0}, False),
        ("200到400的有吗", {"price_min": 200.0, "price_max": 400.0}, False),
        ("便宜点，300以内", {"price_max": 300.0}, False),
        ("有没有便宜点的", {}, True),  # a lower ceiling, and other shoes first
        ("换一批", {}, True),
        ("还有吗", {}, True),
        ("换个颜色", {}, True),
        ("别的牌子", {}, True),
        ("换一批300以内的", {"price_max": 300.0}, True),  # asks for other items outright
    ],
)
async def test_which_refinements_leave_out_the_items_shown(
    shop: Runtime,
    recommend_filters: list[Any],
    text: str,
    budget: dict[str, float],
    leaves_out_shown: bool,
) -> None:
    slots = {"category": "运动鞋", "shown_items": SHOES_SHOWN, **budget}
    await search(shop, text, slots, "refine_search")
    # The first request decides; 便宜点 asks again without the exclusion if nothing unseen fits.
    filters = recommend_filters[0]
    shown_ids = frozenset(i["id"] for i in SHOES_SHOWN)
    assert filters.exclude_items == (shown_ids if leaves_out_shown else frozenset())


def shown_from_catalog(ids: tuple[str, ...]) -> list[dict[str, Any]]:
    prices = {pid: float(price) for pid, _, _, _, price, *_ in CATALOG}
    return [{"id": pid, "title": pid, "price": prices[pid], "category": "运动鞋"} for pid in ids]


async def test_cheaper_shows_other_cheaper_items_and_says_so(shop: Runtime) -> None:
    # Median ¥699, so the ceiling is ¥629: s8 (¥499) was shown and still fits.
    shown = shown_from_catalog(("s3", "s5", "s8"))
    dispatcher, events = await search(
        shop, "便宜点", {"category": "运动鞋", "shown_items": shown}, "refine_search"
    )
    [payload] = payloads(dispatcher, "products")
    ids = {item["id"] for item in payload["items"]}
    assert ids and "s8" not in ids and all(i["price"] <= 629 for i in payload["items"])
    assert "更实惠" in texts(dispatcher) and "换了一批" not in texts(dispatcher)
    assert slot_events(events)["price_max"] == 629.0


async def test_cheaper_with_nothing_unseen_brings_back_the_cheaper_shown_ones(
    shop: Runtime,
) -> None:
    # Ceiling ¥323 (median ¥359): no shoe in stock under it was left unshown.
    dispatcher, _ = await search(
        shop, "太贵了", {"category": "运动鞋", "shown_items": SHOES_SHOWN}, "refine_search"
    )
    [payload] = payloads(dispatcher, "products")
    assert {item["id"] for item in payload["items"]} == {"s2", "s6"}
    assert "最接近的替代" not in texts(dispatcher) and "换了一批" not in texts(dispatcher)


async def test_another_batch_never_repeats_a_shown_item(shop: Runtime) -> None:
    slots = {"category": "运动鞋", "shown_items": SHOES_SHOWN}
    dispatcher, _ = await search(shop, "换一批", slots, "refine_search")
    [payload] = payloads(dispatcher, "products")
    shown_ids = {i["id"] for i in SHOES_SHOWN}
    assert payload["items"] and not shown_ids & {item["id"] for item in payload["items"]}


async def test_excluded_brand_never_shown(shop: Runtime) -> None:
    dispatcher, _ = await search(
        shop, "不要耐克的", {"category": "运动鞋", "exclude_brands": ["耐克"]}, "refine_search"
    )
    [payload] = payloads(dispatcher, "products")
    brands = {p.brand for p in products_of(shop, [i["id"] for i in payload["items"]]).values()}
    assert brands == {"阿迪达斯"}


async def test_nothing_matches_offers_labelled_alternatives(shop: Runtime) -> None:
    dispatcher, _ = await search(shop, "50块以内的跑鞋", {"category": "运动鞋", "price_max": 50.0})
    [payload] = payloads(dispatcher, "products")
    assert payload["items"]
    assert "最接近的替代" in texts(dispatcher)


async def test_detail_by_ordinal_and_click_recorded(shop: Runtime) -> None:
    _, events = await search(shop, "跑鞋", {"category": "运动鞋"})
    shown = slot_events(events)["shown_items"]
    tracker = make_tracker("第二个多少钱", "ask_product_detail", slots={"shown_items": shown})
    dispatcher, events = await run(ActionProductDetail(), tracker)
    second = shown[1]
    assert second["title"] in texts(dispatcher)
    assert f"¥{second['price']:.0f}" in texts(dispatcher)
    assert slot_events(events)["focus_item"] == second["id"]
    with shop.session_factory() as session:
        clicks = session.scalars(select(Event.product_id).where(Event.type == "click")).all()
    assert clicks == [second["id"]]


async def test_ordinal_out_of_range_asks_which(shop: Runtime) -> None:
    shown = [{"id": "s1", "title": "x", "price": 1.0}]
    tracker = make_tracker("第五个多少钱", "ask_product_detail", slots={"shown_items": shown})
    dispatcher, events = await run(ActionProductDetail(), tracker)
    assert "第几个" in texts(dispatcher) and events == []


async def test_add_to_cart_then_view_cart(shop: Runtime) -> None:
    shown = [
        {"id": "s1", "title": "耐克 Pegasus 跑鞋", "price": 459.0},
        {"id": "s2", "title": "耐克 Revolution 跑鞋", "price": 299.0},
    ]
    tracker = make_tracker("第二个来两双", "add_to_cart", slots={"shown_items": shown})
    dispatcher, _ = await run(ActionAddToCart(), tracker)
    assert "已加入购物车" in texts(dispatcher) and "×2" in texts(dispatcher)
    with shop.session_factory() as session:
        [item] = session.scalars(select(CartItem)).all()
        assert (item.product_id, item.quantity) == ("s2", 2)
        assert session.scalar(select(func.count()).where(Event.type == "add_to_cart")) == 1
    dispatcher, _ = await run(ActionViewCart(), make_tracker("看看购物车", "view_cart"))
    assert "耐克 Revolution 跑鞋 ×2" in texts(dispatcher) and "¥598" in texts(dispatcher)


async def test_empty_cart_and_nothing_shown_get_polite_answers(shop: Runtime) -> None:
    dispatcher, _ = await run(ActionViewCart(), make_tracker("购物车", "view_cart"))
    assert "空的" in texts(dispatcher)
    dispatcher, _ = await run(ActionAddToCart(), make_tracker("加购", "add_to_cart"))
    assert "先搜" in texts(dispatcher)
    dispatcher, _ = await run(ActionExplain(), make_tracker("为什么", "ask_why"))
    assert "还没给你推荐" in texts(dispatcher)


async def test_similar_and_bundle_show_products_other_than_the_anchor(shop: Runtime) -> None:
    shown = [{"id": "p1", "title": "华为 Mate60 Pro", "price": 5999.0}]
    tracker = make_tracker(
        "有类似的吗", "ask_similar", slots={"shown_items": shown, "focus_item": "p1"}
    )
    dispatcher, events = await run(ActionSimilarItems(), tracker)
    [payload] = payloads(dispatcher, "products")
    ids = [i["id"] for i in payload["items"]]
    assert ids and "p1" not in ids
    assert "华为 Mate60 Pro" in texts(dispatcher)
    tracker = make_tracker(
        "搭配什么好", "ask_bundle", slots={"shown_items": shown, "focus_item": "p1"}
    )
    dispatcher, _ = await run(ActionBundle(), tracker)
    for payload in payloads(dispatcher, "products"):
        cats = {p.category for p in products_of(shop, [i["id"] for i in payload["items"]]).values()}
        assert "手机" not in cats  # complements, not more phones


async def test_explain_uses_the_recommendation_reason(shop: Runtime) -> None:
    shown = [{"id": "s1", "title": "耐克 Pegasus 跑鞋", "price": 459.0, "reason": "近期热卖"}]
    tracker = make_tracker(
        "为啥推荐这个",
        "ask_why",
        slots={"shown_items": shown, "category": "运动鞋", "price_max": 500.0},
    )
    dispatcher, _ = await run(ActionExplain(), tracker)
    assert "近期热卖" in texts(dispatcher) and "运动鞋" in texts(dispatcher)


async def test_offers_answer_with_a_real_offer(shop: Runtime) -> None:
    shown = [{"id": "s1", "title": "耐克 Pegasus 跑鞋", "price": 459.0}]
    tracker = make_tracker("有优惠吗", "ask_offers", slots={"shown_items": shown})
    dispatcher, _ = await run(ActionOffers(), tracker)
    assert "满300减30" in texts(dispatcher) or "全场95折" in texts(dispatcher)


async def test_the_coupon_just_given_is_not_listed_again_as_a_store_wide_offer(
    shop: Runtime,
) -> None:
    shown = [{"id": "c1", "title": "膳魔师 保温杯 500ml", "price": 199.0}]
    tracker = make_tracker("有优惠吗", "ask_offers", slots={"shown_items": shown})
    dispatcher, _ = await run(ActionOffers(), tracker)
    said = texts(dispatcher)
    # Only the store-wide 95折 applies to a cup: given, it is said once.
    assert said.startswith("给你领了一张券🎉") and said.count("全场95折") == 1, said


async def test_handoff_is_recorded_with_a_summary(shop: Runtime) -> None:
    tracker = make_tracker("转人工", "human_handoff", slots={"category": "运动鞋"})
    dispatcher, _ = await run(ActionHandoff(), tracker)
    with shop.session_factory() as session:
        [handoff] = session.scalars(select(Handoff)).all()
    assert handoff.shopper_id == "shopper-1" and "运动鞋" in (handoff.summary or "")
    assert f"#{handoff.id}" in texts(dispatcher)


async def test_forget_me_deletes_events_cart_and_profile(shop: Runtime) -> None:
    shown = [{"id": "s1", "title": "耐克 Pegasus 跑鞋", "price": 459.0}]
    await run(ActionAddToCart(), make_tracker("加购", "add_to_cart", slots={"shown_items": shown}))
    await search(shop, "跑鞋", {"category": "运动鞋"})
    dispatcher, events = await run(ActionForgetMe(), make_tracker("确定", "affirm"))
    assert events == [{"event": "reset_slots", "timestamp": None}]
    assert "已删除" in texts(dispatcher)
    with shop.session_factory() as session:
        assert session.get(Shopper, "shopper-1") is None
        assert session.scalar(select(func.count()).select_from(Event)) == 0
        assert session.scalar(select(func.count()).select_from(CartItem)) == 0


async def test_foreign_channel_sender_maps_to_one_shopper(shop: Runtime) -> None:
    for _ in range(2):
        await run(
            ActionSearchProducts(),
            make_tracker(
                "跑鞋",
                "search_product",
                slots={"category": "运动鞋"},
                sender="tg-12345",
                channel="telegram",
            ),
        )
    with shop.session_factory() as session:
        owners = set(session.scalars(select(Event.shopper_id)).all())
    assert len(owners) == 1 and owners != {"tg-12345"}


async def test_named_product_line_comes_first(shop: Runtime) -> None:
    dispatcher, _ = await search(shop, "华为Mate60多少钱", {"brand": "华为", "category": "手机"})
    [payload] = payloads(dispatcher, "products")
    assert payload["items"][0]["id"] == "p1"
    assert {i["id"] for i in payload["items"]} == {"p1", "p3"}


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("第一个有黑色吗", "有黑色✅"),
        ("第一个有白色的吗", "没有白色，颜色有：黑色"),
        ("第一个是网面的吗", "是网面的✅"),
        ("第一个有42码吗", "有42✅"),
    ],
)
async def test_attribute_questions_answered_from_the_product(
    shop: Runtime, text: str, answer: str
) -> None:
    shown = [{"id": "s1", "title": "耐克 Pegasus 跑鞋", "price": 459.0}]
    tracker = make_tracker(text, "ask_product_detail", slots={"shown_items": shown})
    dispatcher, _ = await run(ActionProductDetail(), tracker)
    assert answer in texts(dispatcher)


async def test_detail_lists_specs_in_chinese(shop: Runtime) -> None:
    shown = [{"id": "s1", "title": "耐克 Pegasus 跑鞋", "price": 459.0}]
    tracker = make_tracker("介绍下第一个", "ask_product_detail", slots={"shown_items": shown})
    dispatcher, _ = await run(ActionProductDetail(), tracker)
    assert "颜色：黑色" in texts(dispatcher) and "尺码：41、42、43" in texts(dispatcher)


def grant(shop: Runtime, shopper_id: str, offer_id: str = "o-shoes") -> int:
    with shop.session_factory() as session:
        repo.ensure_shopper(session, shopper_id)
        row = OfferGrant(
            offer_id=offer_id, shopper_id=shopper_id, product_id="s1", channel="socketio"
        )
        session.add(row)
        session.commit()
        return row.id


def offer_push(grant_id: Any, sender: str = "shopper-1") -> Any:
    entities = [
        {"entity": "offer_id", "value": "o-shoes"},
        {"entity": "offer_text", "value": "「运动鞋满300减30」：下单立减30元"},
        {"entity": "grant_id", "value": grant_id},
        {"entity": "product_id", "value": "s1"},
        {"entity": "offer_trigger", "value": "repeat_views"},
    ]
    for ent in entities:
        ent.update(start=0, end=0)
    return make_tracker(
        "EXTERNAL: EXTERNAL_offer",
        "EXTERNAL_offer",
        entities=entities,
        sender=sender,
        channel="socketio",
    )


async def test_pushed_offer_is_shown_as_an_offer_card(shop: Runtime) -> None:
    grant_id = grant(shop, "shopper-1")
    dispatcher, events = await run(ActionPushOffer(), offer_push(grant_id))
    [card] = payloads(dispatcher, "offer")
    assert card["title"] == "运动鞋满300减30" and card["grant_id"] == grant_id
    assert "立减30元" in texts(dispatcher)
    assert slot_events(events)["focus_item"] == "s1"  # 这款 now means the offered product


@pytest.mark.parametrize("whose", ["someone-else", "garbage"])
async def test_push_of_a_grant_that_is_not_the_shoppers_stays_silent(
    shop: Runtime, whose: str
) -> None:
    grant_id: Any = grant(shop, "shopper-2") if whose == "someone-else" else "12; DROP TABLE x"
    dispatcher, events = await run(ActionPushOffer(), offer_push(grant_id))
    assert dispatcher.messages == [] and events == []


async def test_explain_does_not_claim_a_relaxed_alternative_meets_the_request(
    shop: Runtime,
) -> None:
    # s3 (¥899, 黑色) was shown as the closest alternative to 红色 under ¥500.
    shown = [{"id": "s3", "title": "阿迪达斯 Ultraboost", "price": 899.0, "reason": "近期热卖"}]
    tracker = make_tracker(
        "为啥推荐这个",
        "ask_why",
        slots={"shown_items": shown, "category": "运动鞋", "price_max": 500.0, "color": "红色"},
    )
    dispatcher, _ = await run(ActionExplain(), tracker)
    said = texts(dispatcher)
    assert "也符合你说的" not in said
    assert "不过它比预算高¥399、不是红色，是没有完全符合「" in said
