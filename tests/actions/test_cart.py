"""Taking things out of the cart and checking out in the chat, against the real test shop."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions.cart import ActionCheckout, ActionPlaceOrder, ActionRemoveFromCart
from actions.replies import offer_name
from actions.runtime import Runtime
from actions.shop import ActionAddToCart, parse_quantity, quantity_change
from shopbot.db import repo
from shopbot.db.models import Event, Offer, OfferGrant, Order, Product
from tests.actions.conftest import make_tracker, slot_events, texts

SHOWN = [
    {"id": "s2", "title": "耐克 Revolution 跑鞋"},
    {"id": "c1", "title": "膳魔师 保温杯 500ml"},
    {"id": "e2", "title": "华为 FreeBuds 5"},
]


def fill_cart(shop: Runtime, *items: tuple[str, int]) -> None:
    with shop.session_factory.begin() as session:
        for product_id, quantity in items:
            repo.cart_add(session, "shopper-1", product_id, quantity)


def cart(shop: Runtime) -> dict[str, int]:
    with shop.session_factory() as session:
        return {i.product_id: i.quantity for i in repo.cart_items(session, "shopper-1")}


def after(action: str) -> list[dict[str, Any]]:
    """Events that make `action` the bot's answer to the shopper's previous message."""
    return [
        {"event": "user", "text": "…", "parse_data": {}},
        {"event": "action", "name": "action_validate_slot_mappings"},
        {"event": "action", "name": action},
        {"event": "action", "name": "action_listen"},
    ]


async def say(
    action: Action, text: str, intent: str, **kw: Any
) -> tuple[str, list[dict[str, Any]], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(text, intent, **kw), {})
    return texts(dispatcher), events, dispatcher


def titles(dispatcher: CollectingDispatcher) -> list[str]:
    return [b["title"] for m in dispatcher.messages for b in m.get("buttons") or []]


# --- remove ----------------------------------------------------------------------------------


async def test_an_ordinal_after_the_cart_listing_means_that_cart_line(shop: Runtime) -> None:
    fill_cart(shop, ("c1", 1), ("s2", 1), ("e2", 1))
    said, events, dispatcher = await say(
        ActionRemoveFromCart(),
        "第二个不要了",
        "remove_from_cart",
        slots={"shown_items": SHOWN},
        past_slot_events=after("action_view_cart"),
    )
    # The cart's second line is the shoes, although the second item shown was the cup.
    assert cart(shop) == {"c1": 1, "e2": 1}
    assert said.startswith("已从购物车删掉「耐克 Revolution 跑鞋」。还剩2件")
    assert "合计¥1098" in said
    undo = dispatcher.messages[0]["buttons"][0]
    assert undo == {"title": "放回去", "payload": '/add_to_cart{"product_id": "s2"}'}
    assert slot_events(events) == {"checkout_cart": None}
    with shop.session_factory() as session:
        kinds = [e.type for e in session.query(Event).filter_by(shopper_id="shopper-1")]
    assert kinds.count("remove_from_cart") == 1  # the recommender and offers see it


async def test_an_ordinal_after_search_results_means_that_shown_item(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 1))
    said, _, _ = await say(
        ActionRemoveFromCart(),
        "第二个不要了",
        "remove_from_cart",
        slots={"shown_items": SHOWN},
        past_slot_events=after("action_search_products"),
    )
    assert cart(shop) == {"s2": 1}
    assert "膳魔师 保温杯 500ml" in said


async def test_a_shown_item_that_is_not_in_the_cart_is_turned_down(shop: Runtime) -> None:
    # 第三个不要了 about a result: nothing else leaves the cart in its place.
    fill_cart(shop, ("s2", 1), ("c1", 1))
    said, events, dispatcher = await say(
        ActionRemoveFromCart(),
        "第三个不要了",
        "remove_from_cart",
        slots={"shown_items": SHOWN},
        past_slot_events=after("action_search_products"),
    )
    assert cart(shop) == {"s2": 1, "c1": 1}
    assert said == "好的，「华为 FreeBuds 5」不考虑了～说「换一批」给你看别的。"
    assert dispatcher.messages[0]["buttons"] == [{"title": "换一批", "payload": "/refine_search"}]
    assert events == []


async def test_turning_down_a_result_with_an_empty_cart_is_not_about_the_cart(
    shop: Runtime,
) -> None:
    said, _, _ = await say(
        ActionRemoveFromCart(),
        "第一个不要了",
        "remove_from_cart",
        slots={"shown_items": SHOWN},
        past_slot_events=after("action_search_products"),
    )
    assert said.startswith("好的，「耐克 Revolution 跑鞋」不考虑了")


async def test_a_button_for_an_item_not_in_the_cart_shows_the_cart(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 1))
    said, _, dispatcher = await say(
        ActionRemoveFromCart(),
        '/remove_from_cart{"product_id": "e1"}',
        "remove_from_cart",
        entities=[{"entity": "product_id", "value": "e1"}],
    )
    assert cart(shop) == {"s2": 1, "c1": 1}
    assert said.startswith("它不在购物车里哦～购物车里现在是：")
    assert titles(dispatcher) == ["删掉1", "删掉2"]


async def test_a_cart_line_past_the_end_is_asked_about(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1))
    said, _, _ = await say(
        ActionRemoveFromCart(),
        "第五个删掉",
        "remove_from_cart",
        past_slot_events=after("action_view_cart"),
    )
    assert cart(shop) == {"s2": 1}
    assert said.startswith("购物车里只有1样哦")


async def test_a_named_category_removes_its_lines(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("e2", 1), ("e1", 1))
    said, _, _ = await say(
        ActionRemoveFromCart(),
        "购物车里的耳机不要了",
        "remove_from_cart",
        entities=[{"entity": "category", "value": "耳机", "text": "耳机"}],
    )
    assert cart(shop) == {"s2": 1}
    assert said.startswith("已从购物车删掉2件商品。还剩1件")


async def test_all_of_a_category_is_not_the_whole_cart(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("e2", 1), ("e1", 1))
    await say(
        ActionRemoveFromCart(),
        "耳机都不要了",
        "remove_from_cart",
        entities=[{"entity": "category", "value": "耳机", "text": "耳机"}],
    )
    assert cart(shop) == {"s2": 1}


async def test_a_bare_removal_takes_the_item_just_added(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 1))
    said, _, _ = await say(
        ActionRemoveFromCart(), "加错了", "remove_from_cart", slots={"focus_item": "c1"}
    )
    assert cart(shop) == {"s2": 1}
    assert "膳魔师 保温杯 500ml" in said


async def test_a_bare_removal_with_nothing_in_focus_asks_which(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 1))
    said, _, dispatcher = await say(ActionRemoveFromCart(), "删掉", "remove_from_cart")
    assert cart(shop) == {"s2": 1, "c1": 1}
    assert said.startswith("要删掉哪一个呢？")
    assert dispatcher.messages[0]["buttons"][1]["payload"] == (
        '/remove_from_cart{"product_id": "c1"}'
    )


async def test_one_fewer_of_a_line_keeps_the_rest_of_it(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 3))
    said, events, _ = await say(
        ActionRemoveFromCart(),
        "保温杯少要一个",
        "remove_from_cart",
        entities=[{"entity": "category", "value": "保温杯", "text": "保温杯"}],
    )
    assert cart(shop) == {"s2": 1, "c1": 2}
    assert said.startswith("好的，「膳魔师 保温杯 500ml」改成2件了。购物车共3件")
    assert slot_events(events) == {"checkout_cart": None}  # the summary is no longer the cart
    # Fewer is not a turn against the product: no removal for the recommender to learn from.
    with shop.session_factory() as session:
        assert not session.query(Event).filter_by(type="remove_from_cart").count()
    await say(
        ActionRemoveFromCart(), "只要一个就行", "remove_from_cart", slots={"focus_item": "c1"}
    )
    assert cart(shop) == {"s2": 1, "c1": 1}
    # Taking away as many as there are takes the line away.
    said, _, _ = await say(
        ActionRemoveFromCart(), "删掉一个", "remove_from_cart", slots={"focus_item": "c1"}
    )
    assert cart(shop) == {"s2": 1}
    assert said.startswith("已从购物车删掉「膳魔师 保温杯 500ml」")


async def test_one_fewer_of_a_kind_with_two_lines_asks_which(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("e2", 2), ("e1", 1))
    said, _, dispatcher = await say(
        ActionRemoveFromCart(),
        "耳机删掉一个",
        "remove_from_cart",
        entities=[{"entity": "category", "value": "耳机", "text": "耳机"}],
    )
    assert cart(shop) == {"s2": 1, "e2": 2, "e1": 1}
    assert said.startswith("要减哪一个呢？")
    assert len(dispatcher.messages[0]["buttons"]) == 2


async def test_setting_the_count_of_what_is_in_the_cart_does_not_add_to_it(
    shop: Runtime,
) -> None:
    fill_cart(shop, ("c1", 1))
    said, _, _ = await say(
        ActionAddToCart(), "保温杯改成3个", "add_to_cart", slots={"focus_item": "c1"}
    )
    assert cart(shop) == {"c1": 3}
    assert said.startswith("好的，「膳魔师 保温杯 500ml」改成3件了")
    said, _, _ = await say(ActionAddToCart(), "来3个", "add_to_cart", slots={"focus_item": "c1"})
    assert cart(shop) == {"c1": 6}  # no 改成 / 只要: three more
    # 少要一个 read as adding (the words are close) still takes one away, and never adds.
    said, _, _ = await say(ActionAddToCart(), "少要一个", "add_to_cart", slots={"focus_item": "c1"})
    assert cart(shop) == {"c1": 5}
    said, _, _ = await say(ActionAddToCart(), "少要5个", "add_to_cart", slots={"focus_item": "c1"})
    assert cart(shop) == {}
    assert said.startswith("已从购物车删掉「膳魔师 保温杯 500ml」。购物车空了")
    said, _, _ = await say(ActionAddToCart(), "少要一个", "add_to_cart", slots={"focus_item": "c1"})
    assert cart(shop) == {}
    assert said.startswith("「膳魔师 保温杯 500ml」还不在购物车里哦")


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ("少要一个", ("fewer", 1)),
        ("耳机删掉两件", ("fewer", 2)),
        ("只要一个", ("keep", 1)),
        ("数量改成3", None),  # no measure word: not sure it is a count
        ("改成3个", ("keep", 3)),
        ("改成0个", ("keep", 0)),
        ("两个就够了", ("keep", 2)),
        ("删掉第一个", None),  # a position
        ("第一个不要了", None),
        ("清空购物车", None),
    ],
)
def test_quantity_changes_are_read(text: str, change: tuple[str, int] | None) -> None:
    assert quantity_change(text) == change


async def test_clearing_the_cart_empties_it(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 2))
    said, _, _ = await say(ActionRemoveFromCart(), "清空购物车", "remove_from_cart")
    assert cart(shop) == {}
    assert said.startswith("已从购物车删掉2件商品，购物车空了")


async def test_removing_from_an_empty_cart_says_so(shop: Runtime) -> None:
    said, _, _ = await say(ActionRemoveFromCart(), "第一个不要了", "remove_from_cart")
    assert said == "购物车本来就是空的～想买点什么？"


# --- checkout --------------------------------------------------------------------------------


async def test_checkout_shows_the_cart_and_asks_before_ordering(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 2))
    said, events, dispatcher = await say(ActionCheckout(), "去结算", "checkout")
    assert said.startswith("确认下单吗？共3件：\n1. 耐克 Revolution 跑鞋 ×1 ¥299")
    assert said.endswith("合计¥697")
    assert titles(dispatcher) == ["确认下单", "再想想"]
    assert slot_events(events) == {"checkout_cart": "c1:2,s2:1"}
    with shop.session_factory() as session:
        assert session.query(Order).count() == 0  # nothing bought before the yes


async def test_checkout_quotes_the_coupon_checkout_will_redeem(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("s1", 1))
    with shop.session_factory.begin() as session:
        repo.ensure_shopper(session, "shopper-1")
        session.add(OfferGrant(offer_id="o-shoes", shopper_id="shopper-1"))
    said, _, _ = await say(ActionCheckout(), "结账", "checkout")
    assert said.endswith("合计¥758，用券「运动鞋满300减30」抵¥30，实付¥728")


async def test_confirming_places_the_order_and_empties_the_cart(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 2))
    _, events, _ = await say(ActionCheckout(), "去结算", "checkout")
    pending = slot_events(events)["checkout_cart"]
    said, events, _ = await say(
        ActionPlaceOrder(), "好的", "affirm", slots={"checkout_cart": pending}
    )
    with shop.session_factory() as session:
        order = session.query(Order).one()
        stock = {p.id: p.stock for p in session.query(Product).filter(Product.id.in_(["s2", "c1"]))}
        assert {i.product_id: i.quantity for i in order.items} == {"s2": 1, "c1": 2}
        assert order.channel == "rest"
    assert said.startswith(f"下单成功🎉 订单号{order.id}，共3件，实付¥697。")
    assert "48小时内发货" in said and "我的快递到哪了" in said
    assert cart(shop) == {}
    assert stock == {"s2": 7, "c1": 28}
    assert slot_events(events)["checkout_cart"] is None


async def test_a_typed_confirmation_after_the_summary_places_the_order(shop: Runtime) -> None:
    # 确认下单 reads as checkout; with the summary pending it is the yes.
    fill_cart(shop, ("c1", 1))
    said, _, _ = await say(
        ActionCheckout(), "确认下单", "checkout", slots={"checkout_cart": "c1:1"}
    )
    assert said.startswith("下单成功🎉")
    assert cart(shop) == {}


async def test_a_cart_changed_since_the_summary_is_confirmed_again(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 1))
    said, events, _ = await say(
        ActionPlaceOrder(), "好的", "affirm", slots={"checkout_cart": "s2:1"}
    )
    assert said.startswith("购物车刚刚有变化，再确认一下～\n确认下单吗？共2件")
    assert slot_events(events) == {"checkout_cart": "c1:1,s2:1"}
    with shop.session_factory() as session:
        assert session.query(Order).count() == 0


async def test_a_yes_without_a_summary_orders_nothing(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1))
    said, _, _ = await say(ActionPlaceOrder(), "好的", "affirm")
    assert "去结算" in said
    assert cart(shop) == {"s2": 1}


async def test_a_sold_out_item_blocks_checkout_with_a_way_out(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("s5", 2))
    with shop.session_factory.begin() as session:
        session.get(Product, "s5").stock = 1  # type: ignore[union-attr]
    said, events, dispatcher = await say(ActionCheckout(), "下单", "checkout")
    assert said == "「耐克 Air Zoom」只剩1件了😥 先把它从购物车拿掉，再下单？"
    assert dispatcher.messages[0]["buttons"][0]["payload"] == (
        '/remove_from_cart{"product_id": "s5"}'
    )
    assert slot_events(events) == {"checkout_cart": None}


async def test_stock_gone_between_summary_and_yes_is_a_polite_failure(shop: Runtime) -> None:
    fill_cart(shop, ("s2", 1), ("c1", 1))
    with shop.session_factory.begin() as session:
        session.get(Product, "c1").stock = 0  # type: ignore[union-attr]
    said, _, _ = await say(
        ActionPlaceOrder(), "确认", "affirm", slots={"checkout_cart": "c1:1,s2:1"}
    )
    assert said.startswith("下单没成功：有商品库存刚刚不够了")
    with shop.session_factory() as session:
        assert session.query(Order).count() == 0
        assert session.get(Product, "s2").stock == 8  # type: ignore[union-attr]
    assert cart(shop) == {"s2": 1, "c1": 1}  # nothing lost


async def test_ordering_with_an_empty_cart_takes_the_item_just_discussed(shop: Runtime) -> None:
    said, events, _ = await say(
        ActionCheckout(),
        "帮我下单",
        "checkout",
        slots={"focus_item": "e2", "shown_items": SHOWN},
        past_slot_events=after("action_product_detail"),
    )
    assert said.startswith("先把「华为 FreeBuds 5」放进购物车了～\n确认下单吗？共1件")
    assert slot_events(events) == {"checkout_cart": "e2:1"}


async def test_ordering_after_a_result_list_does_not_guess_the_item(shop: Runtime) -> None:
    said, _, dispatcher = await say(
        ActionCheckout(),
        "下单",
        "checkout",
        slots={"focus_item": "s2", "shown_items": SHOWN},
        past_slot_events=after("action_search_products"),
    )
    assert said == "购物车还是空的～要买上面哪一款？说「第几个」就行。"
    assert cart(shop) == {}


async def test_ordering_with_nothing_anywhere_suggests_browsing(shop: Runtime) -> None:
    said, _, dispatcher = await say(ActionCheckout(), "去结算", "checkout")
    assert said == "购物车还是空的～想买点什么？"
    assert titles(dispatcher) == ["随便逛逛"]


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("第二个加入购物车", 1),  # a position, not a quantity
        ("第2个加购", 1),
        ("第十二个加车", 1),
        ("最后一个加购", 1),
        ("买两件第一个", 2),
        ("第一个来3个", 3),
        ("给我来十二瓶", 12),
        ("加购", 1),
        ("来1000件", 99),
    ],
)
def test_quantities_are_read_but_positions_are_not(text: str, quantity: int) -> None:
    assert parse_quantity(text) == quantity


async def test_adding_the_second_item_adds_one_of_it(shop: Runtime) -> None:
    await say(ActionAddToCart(), "第二个加入购物车", "add_to_cart", slots={"shown_items": SHOWN})
    assert cart(shop) == {"c1": 1}


@pytest.mark.parametrize(
    ("title", "kind", "amount", "threshold", "said"),
    [
        ("全场满300减40", "threshold", 40, 300, "全场满300减40"),  # not 全场满300减40（满300减40）
        ("新品尝鲜 华为", "fixed", 30, 0, "新品尝鲜 华为（立减30元）"),
        ("运动鞋 9折", "percent", 10, 0, "运动鞋 9折"),
    ],
)
def test_offers_are_named_without_saying_their_terms_twice(
    title: str, kind: str, amount: float, threshold: float, said: str
) -> None:
    offer = Offer(title=title, kind=kind, amount=amount, threshold=threshold, scope="all")
    assert offer_name(offer) == said
