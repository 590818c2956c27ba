"""Gifts and interests: 送我妈的礼物 shows gifts for her (not infant formula), 她喜欢做饭 shows
kitchen things, and a named category always wins."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import Runtime, set_runtime
from actions.shop import ActionProductDetail, ActionSearchProducts, suited_categories
from actions.store_policy import ActionStorePolicy
from actions.validation import ValidateShopSlots
from tests.actions.conftest import add_products, make_tracker, payloads, slot_events, texts
from tests.actions.test_validation import DOMAIN

pytestmark = pytest.mark.asyncio

# (id, title, category, price): what a generic ¥200-400 page could hold.
GOODS = [
    ("t1", "乐高 城市组 生日礼物 儿童礼物", "玩具", 299),
    ("t2", "万代 高达 拼装模型", "玩具", 249),
    ("m1", "爱他美 配方奶粉 800g", "奶粉", 289),
    ("m2", "飞鹤 星飞帆 婴幼儿配方奶粉", "奶粉", 259),
    ("f1", "雅诗兰黛 修护保湿面霜", "面霜", 279),
    ("f2", "兰蔻 菁纯面霜", "面霜", 359),
    ("k1", "美的 双锅 空气炸锅", "空气炸锅", 259),
    ("k2", "九阳 IH 电饭煲", "电饭煲", 279),
    ("k3", "小米 可视 空气炸锅", "空气炸锅", 299),
]
GIFTS = {"妈妈": ["面霜", "空气炸锅", "电饭煲", "保温杯"]}
LIKES = {"做饭": ["空气炸锅", "电饭煲"], "跑步": ["运动鞋", "耳机"]}


@pytest.fixture
def store(shop: Runtime) -> Iterator[Runtime]:
    add_products(
        shop,
        [
            {"id": pid, "title": title, "category": category, "price": price}
            for pid, title, category, price in GOODS
        ],
    )
    lexicon = shop.lexicon
    runtime = replace(
        shop,
        lexicon=replace(
            lexicon,
            categories={**lexicon.categories, **{c: [] for *_, c, _ in GOODS}},
            recipient_gifts=GIFTS,
            recipient_uses={"宝宝": "给宝宝用"},
            interest_words={"做饭": ["下厨", "烧菜"], "跑步": ["慢跑", "马拉松"]},
            interest_categories=LIKES,
        ),
    )
    set_runtime(runtime)
    yield runtime
    set_runtime(shop)


async def page(text: str, slots: dict[str, Any], intent: str = "ask_recommendation") -> Any:
    dispatcher = CollectingDispatcher()
    events = await ActionSearchProducts().run(
        dispatcher, make_tracker(text, intent, slots=slots), {}
    )
    [payload] = payloads(dispatcher, "products")
    return [item["id"] for item in payload["items"]], texts(dispatcher), slot_events(events)


def categories_of_each(runtime: Runtime, ids: list[str]) -> list[str]:
    from shopbot.db import repo

    with runtime.session_factory() as session:
        products = repo.get_products(session, ids)
    return [products[i].category for i in ids]


def categories_of(runtime: Runtime, ids: list[str]) -> set[str]:
    from shopbot.db import repo

    with runtime.session_factory() as session:
        return {p.category for p in repo.get_products(session, ids).values()}


async def test_a_gift_for_mum_comes_from_her_gift_categories(store: Runtime) -> None:
    ids, text, _ = await page(
        "想给我妈买个生日礼物，三百块左右",
        {"recipient": "妈妈", "price_min": 240.0, "price_max": 360.0},
    )
    assert ids and categories_of(store, ids) <= set(GIFTS["妈妈"]), ids
    assert "送妈妈的话" in text and "奶粉" not in text and "乐高" not in text


async def test_what_she_likes_picks_the_categories_and_is_said_back(store: Runtime) -> None:
    ids, text, _ = await page(
        "她平时喜欢做饭", {"recipient": "妈妈", "interest": "做饭"}, "refine_search"
    )
    assert ids and categories_of(store, ids) == {"空气炸锅", "电饭煲"}
    assert "妈妈喜欢做饭的话" in text and "适合喜欢做饭的妈妈" in text


async def test_an_interest_without_a_recipient_needs_no_gift(store: Runtime) -> None:
    ids, text, _ = await page("我喜欢跑步，有什么推荐", {"interest": "跑步"})
    assert ids and categories_of(store, ids) <= {"运动鞋", "耳机"}
    assert "喜欢跑步的话" in text


async def test_a_page_for_an_interest_shows_more_than_one_kind(store: Runtime) -> None:
    ids, _, _ = await page("我喜欢跑步", {"interest": "跑步"})
    kinds = [c for c in categories_of_each(store, ids)]
    # The store has far more shoes than earphones; the page still offers both.
    assert set(kinds) == {"运动鞋", "耳机"} and max(kinds.count(k) for k in kinds) <= 3, kinds


async def test_a_baby_is_bought_for_not_given_a_gift(store: Runtime) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("给宝宝买点东西", "ask_recommendation", slots={"recipient": "宝宝"})
    await ActionSearchProducts().run(dispatcher, tracker, {})
    assert texts(dispatcher) == "给宝宝用的话，预算大概多少呢？"
    ids, text, _ = await page(
        "200以内", {"recipient": "宝宝", "price_max": 400.0, "asked": ["budget"]}
    )
    assert "给宝宝用的话" in text and "送宝宝" not in text


async def test_an_interest_puts_the_products_made_for_it_first_within_a_named_category(
    store: Runtime,
) -> None:
    headsets = [
        {"id": f"h{n}", "title": f"华为 蓝牙耳机 {n}代", "category": "耳机", "price": 399}
        for n in range(6)
    ] + [{"id": "hg", "title": "华为 电竞耳机", "category": "耳机", "price": 399, "tags": ["游戏"]}]
    add_products(store, headsets)
    lexicon = replace(
        store.lexicon,
        interest_words={**store.lexicon.interest_words, "打游戏": ["开黑"]},
        interest_categories={**store.lexicon.interest_categories, "打游戏": ["耳机"]},
        interest_tags={"打游戏": ["游戏"]},
    )
    set_runtime(replace(store, lexicon=lexicon))
    ids, _, _ = await page("我爱打游戏，推荐个耳机", {"category": "耳机", "interest": "打游戏"})
    assert ids[0] == "hg", ids


async def test_a_named_category_wins_over_the_gift_list(store: Runtime) -> None:
    ids, text, _ = await page("给我妈买个玩具", {"recipient": "妈妈", "category": "玩具"})
    assert ids and categories_of(store, ids) == {"玩具"}


async def test_where_to_look_without_a_category(store: Runtime) -> None:
    lexicon = store.lexicon
    assert suited_categories(lexicon, "妈妈", None) == tuple(GIFTS["妈妈"])
    assert suited_categories(lexicon, None, "跑步") == ("运动鞋", "耳机")
    # What she likes, as far as it makes a gift for her; all of it when none of it does.
    assert suited_categories(lexicon, "妈妈", "做饭") == ("空气炸锅", "电饭煲")
    assert suited_categories(lexicon, "妈妈", "跑步") == ("运动鞋", "耳机")
    assert suited_categories(lexicon, "女朋友", None) == ()  # no gift list: the whole shop
    assert suited_categories(lexicon, None, None) == ()


async def test_cheaper_than_a_rough_budget_drops_its_floor(store: Runtime) -> None:
    _, _, events = await page(
        "三百左右的", {"recipient": "妈妈", "price_min": 240.0, "price_max": 360.0}
    )
    shown = events["shown_items"]
    _, text, events = await page(
        "有没有更便宜的",
        {"recipient": "妈妈", "price_min": 240.0, "price_max": 360.0, "shown_items": shown},
        "refine_search",
    )
    median = sorted(i["price"] for i in shown)[len(shown) // 2]
    assert events["price_min"] is None and events["price_max"] < median
    assert all(i["price"] < median for i in events["shown_items"])


# --- slot extraction ------------------------------------------------------------------------

INTEREST_DOMAIN: dict[str, Any] = {
    "slots": {**DOMAIN["slots"], "interest": {"type": "text", "mappings": [{"type": "custom"}]}}
}


async def validate(text: str, intent: str, before: dict[str, Any]) -> dict[str, Any]:
    past = [{"event": "slot", "name": k, "value": v} for k, v in before.items()]
    tracker = make_tracker(text, intent, slots=dict(before), past_slot_events=past)
    events = await ValidateShopSlots().run(CollectingDispatcher(), tracker, INTEREST_DOMAIN)
    return slot_events(events)


async def test_the_interest_is_read_from_how_shoppers_say_it(store: Runtime) -> None:
    assert (await validate("她平时爱下厨", "refine_search", {}))["interest"] == "做饭"
    assert "interest" not in await validate("有42码吗", "refine_search", {})
    # Not on turns about something else: 我喜欢跑步 is no product request when asking 包邮吗.
    assert "interest" not in await validate("我喜欢跑步，包邮吗", "ask_policy", {})


async def test_an_interest_the_category_does_not_serve_replaces_it_but_keeps_the_gift(
    store: Runtime,
) -> None:
    before = {
        "category": "耳机",
        "recipient": "妈妈",
        "price_max": 400.0,
        "shown_items": [{"id": "e2", "category": "耳机", "price": 899.0}],
    }
    slots = await validate("她其实更喜欢做饭", "refine_search", before)
    assert slots["interest"] == "做饭" and slots["category"] is None
    assert slots["shown_items"] is None
    assert "recipient" not in slots and "price_max" not in slots  # kept as they were
    # An interest the category serves refines it and changes nothing else.
    slots = await validate("她喜欢慢跑", "refine_search", {**before, "category": "运动鞋"})
    assert slots == {"interest": "跑步"}


async def test_a_new_interest_after_a_page_starts_a_new_need_unless_said_of_the_same_person(
    store: Runtime,
) -> None:
    before = {
        "recipient": "宝宝",
        "interest": "做饭",
        "price_max": 200.0,
        "shown_items": [{"id": "k1", "category": "空气炸锅", "price": 259.0}],
    }
    slots = await validate("我喜欢马拉松，有什么推荐", "ask_recommendation", before)
    assert slots["interest"] == "跑步"
    assert slots["recipient"] is None and slots["price_max"] is None
    # Even read as a new request, 她 is the person the gift is for.
    slots = await validate("她平时喜欢慢跑", "ask_recommendation", before)
    assert slots["interest"] == "跑步" and slots["shown_items"] is None
    assert "recipient" not in slots and "price_max" not in slots


@pytest.mark.parametrize(
    ("item", "answer"),
    [
        ("g1", "「雷神 猎刃 游戏本」打游戏用挺合适，它是游戏本👍"),
        ("g2", "「联想 小新 轻薄笔记本」打游戏也用得上，不过不是专门为打游戏设计的款～"),
        ("g3", "「膳魔师 保温杯」不太适合打游戏😅 想打游戏用的话，更推荐看看键盘、鼠标、耳机。"),
    ],
)
@pytest.mark.parametrize(
    ("action", "intent"),
    [(ActionProductDetail, "ask_product_detail"), (ActionStorePolicy, "ask_policy")],
)
async def test_whether_a_product_suits_an_interest_is_answered_from_its_kind_and_title(
    shop: Runtime, item: str, answer: str, action: type[Action], intent: str
) -> None:
    rows = [
        ("g1", "雷神 猎刃 游戏本", "笔记本电脑"),
        ("g2", "联想 小新 轻薄笔记本", "笔记本电脑"),
        ("g3", "膳魔师 保温杯", "保温杯"),
    ]
    add_products(shop, [{"id": i, "title": t, "category": c, "price": 999} for i, t, c in rows])
    gaming = replace(
        shop.lexicon,
        interest_words={"打游戏": ["玩游戏", "电竞"]},
        interest_categories={"打游戏": ["键盘", "鼠标", "耳机", "笔记本电脑"]},
        interest_tags={"打游戏": ["游戏", "游戏本"]},
    )
    set_runtime(replace(shop, lexicon=gaming))
    try:
        dispatcher = CollectingDispatcher()
        # Read as a service question, as the NLU may, it is still about the product in hand.
        tracker = make_tracker("这个打游戏行吗", intent, slots={"focus_item": item})
        await action().run(dispatcher, tracker, {})
    finally:
        set_runtime(shop)
    assert texts(dispatcher) == answer
