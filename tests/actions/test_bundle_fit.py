"""Bundles show accessories made for the product: no Mate 60 Pro case for an iPhone."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.lexicon import catalog_lexicon
from actions.runtime import Runtime, set_runtime
from actions.shop import ActionBundle, ActionSearchProducts
from shopbot.db import repo
from shopbot.db.engine import session_scope
from tests.actions.conftest import add_products, make_tracker, payloads


def product(title: str, category: str, brand: str) -> SimpleNamespace:
    return SimpleNamespace(title=title, category=category, brand=brand)


ULTRA = product("小米 14 Ultra 8GB+128GB 松影绿 徕卡影像 拍照手机", "手机", "小米")
MI14 = product("小米 14 12GB+256GB 黑色 拍照手机", "手机", "小米")
WATCH = product("苹果 Apple Watch Series 9 45mm 午夜色 智能手表", "智能手表", "苹果")


@pytest.mark.parametrize(
    ("anchor", "item", "fits"),
    [
        (ULTRA, product("华为 Mate 60 Pro 原装保护壳 透明白", "手机壳", "华为"), False),
        (ULTRA, product("小米14 原装保护壳 黑色 全包", "手机壳", "小米"), False),
        (MI14, product("小米14 原装保护壳 黑色 全包", "手机壳", "小米"), True),
        (MI14, product("绿联 适用小米14 高清 全屏钢化膜", "钢化膜", "绿联"), True),
        (MI14, product("倍思 适用iPhone 15 黑色 防摔 保护壳", "手机壳", "倍思"), False),
        (ULTRA, product("倍思 通用款 樱花粉 亲肤 保护壳", "手机壳", "倍思"), True),
        (ULTRA, product("苹果 Apple Watch 运动型表带 星光色", "表带", "苹果"), False),
        (ULTRA, product("小米快充套装 33W 黑色 充电器", "充电器", "小米"), True),
        (WATCH, product("苹果 Apple Watch 运动型表带 星光色", "表带", "苹果"), True),
        (WATCH, product("小米手环 8 腕带 星光色 快拆 运动表带", "表带", "小米"), False),
        (WATCH, product("绿联 米兰尼斯 浅粉 磁吸 表带", "表带", "绿联"), True),
    ],
)
def test_an_accessory_fits_the_model_it_names_or_its_own_brand(
    anchor: SimpleNamespace, item: SimpleNamespace, fits: bool
) -> None:
    assert catalog_lexicon().fits(anchor, item) is fits


CASES = [
    {"id": "m1", "title": "华为 Mate 60 Pro 原装保护壳", "category": "手机壳", "brand": "华为"},
    {"id": "m2", "title": "苹果 iPhone 15 硅胶保护壳", "category": "手机壳", "brand": "苹果"},
    {"id": "m3", "title": "倍思 通用款 透明保护壳", "category": "手机壳", "brand": "倍思"},
    {"id": "m4", "title": "倍思 适用iPhone 15 防摔保护壳", "category": "手机壳", "brand": "倍思"},
]


async def test_bundle_for_a_phone_leaves_out_cases_for_other_models(shop: Runtime) -> None:
    add_products(shop, [{**c, "price": 59} for c in CASES])
    # Every case sells with both phones, so only fit can tell them apart.
    with session_scope(shop.session_factory) as session:
        for n, (phone, case) in enumerate((p, c["id"]) for p in ("p1", "p2") for c in CASES):
            repo.record_event(session, f"buyer-{n}", "purchase", product_id=phone)
            repo.record_event(session, f"buyer-{n}", "purchase", product_id=case)
    shop.recommender.refresh(force=True)  # purchases alone do not change the catalogue key
    set_runtime(
        replace(shop, lexicon=replace(shop.lexicon, fitted_accessories={"手机壳": ["手机"]}))
    )
    try:
        ids: dict[str, list[str]] = {}
        for anchor in ("p1", "p2"):  # 华为 Mate60 Pro, 苹果 iPhone 15
            dispatcher = CollectingDispatcher()
            tracker = make_tracker("配什么壳", "ask_bundle", slots={"focus_item": anchor})
            await ActionBundle().run(dispatcher, tracker, {})
            [payload] = payloads(dispatcher, "products")
            ids[anchor] = [i["id"] for i in payload["items"]]
    finally:
        set_runtime(shop)
    cases = {c["id"] for c in CASES}
    # Each phone gets its own case; the other model's cases never appear.
    assert "m1" in ids["p1"] and not set(ids["p1"]) & {"m2", "m4"}, ids
    assert "m2" in ids["p2"] and "m1" not in ids["p2"], ids
    assert set(ids["p1"]) & cases and set(ids["p2"]) & cases


async def search_cases(shop: Runtime, text: str, **kw: object) -> tuple[str, list[str]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, "search_product", slots={"category": "手机壳"}, **kw)  # type: ignore[arg-type]
    await ActionSearchProducts().run(dispatcher, tracker, {})
    [payload] = payloads(dispatcher, "products")
    return dispatcher.messages[0]["text"], [i["id"] for i in payload["items"]]


@pytest.fixture
def case_shop(shop: Runtime):
    add_products(shop, [{**c, "price": 59} for c in CASES])
    fitted = replace(shop, lexicon=replace(shop.lexicon, fitted_accessories={"手机壳": ["手机"]}))
    set_runtime(fitted)
    yield fitted
    set_runtime(shop)


async def test_a_case_search_with_a_phone_in_the_cart_shows_cases_that_fit_it(
    case_shop: Runtime,
) -> None:
    with session_scope(case_shop.session_factory) as session:
        repo.cart_add(session, "shopper-1", "p2", 1)  # 苹果 iPhone 15
    intro, ids = await search_cases(case_shop, "还要个手机壳")
    assert intro.startswith("适合你的「苹果 iPhone 15」的手机壳")  # the model, not the title
    assert set(ids) == {"m2", "m3", "m4"}  # never the Mate 60 Pro case


async def test_a_case_search_naming_a_model_is_for_that_model(case_shop: Runtime) -> None:
    with session_scope(case_shop.session_factory) as session:
        repo.cart_add(session, "shopper-1", "p2", 1)
    intro, ids = await search_cases(case_shop, "Mate 60 Pro的手机壳")
    assert "m1" in ids and not intro.startswith("适合你的")


async def test_the_first_result_of_a_page_is_not_taken_for_the_shoppers_phone(
    case_shop: Runtime,
) -> None:
    # Phones were listed (focus on the first) but none was chosen: no guess at a model.
    _, ids = await search_cases(
        case_shop,
        "想买个手机壳",
        past_slot_events=[
            {"event": "user", "text": "看看手机", "parse_data": {}},
            {"event": "action", "name": "action_search_products"},
            {"event": "slot", "name": "focus_item", "value": "p1"},
            {"event": "action", "name": "action_listen"},
        ],
    )
    assert "m2" in ids or "m4" in ids
