"""Service questions (包邮吗, 保修多久, 我的快递到哪了) against the real shop and policies.yml."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import Runtime
from actions.service_answers import order_text, topics_in
from actions.shop import ActionProductDetail
from actions.store_policy import ActionStorePolicy
from shopbot.db import repo
from shopbot.db.models import Order, OrderItem, Product
from shopbot.policies import load_policies
from tests.actions.conftest import add_products, make_tracker, slot_events, texts

SHOWN = [
    {"id": "p1", "title": "华为 Mate60 Pro"},
    {"id": "s2", "title": "耐克 Revolution 跑鞋"},
    {"id": "c1", "title": "膳魔师 保温杯 500ml"},
]


async def ask(text: str, slots: dict[str, Any] | None = None, **kw: Any):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, "ask_policy", slots=slots, **kw)
    events = await ActionStorePolicy().run(dispatcher, tracker, {})
    return texts(dispatcher), events, dispatcher


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("包邮吗", ["shipping"]),
        ("第二个几天能到", ["delivery"]),
        ("到上海要几天", ["delivery"]),
        ("保修多久", ["warranty"]),  # 多久 is not about delivery here
        ("退款多久到账", ["returns"]),
        ("退货运费谁出", ["returns"]),
        ("我的快递到哪了", ["order"]),
        ("怎么还没发货", ["order"]),
        ("能开发票吗", ["invoice"]),
        ("支持花呗分期吗", ["payment"]),
        ("这个是正品吗", ["authenticity"]),
        ("包邮吗，几天能到", ["shipping", "delivery"]),
        ("取消授权，删除我的数据", []),
        ("怎么申请售后", []),
        ("怎么修改收货地址", ["address"]),
        ("地址填错了能改吗", ["address"]),
        ("改一下送货地址", ["address"]),  # not a delivery-time question
        ("我的订单地址写错了", ["order", "address"]),
        ("换货地址是哪", ["returns"]),  # where to send an exchange, not a new address
        ("退货地址是哪", ["returns"]),
    ],
)
def test_topics_of_service_questions(text: str, topics: list[str]) -> None:
    assert topics_in(text) == topics


async def test_a_general_shipping_question_gets_the_stores_terms(shop: Runtime) -> None:
    said, events, _ = await ask("包邮吗")
    assert "满¥99包邮" in said and "¥8运费" in said
    assert events == []


async def test_shipping_for_a_shown_item_says_whether_it_ships_free(shop: Runtime) -> None:
    said, events, dispatcher = await ask("第三个包邮吗", {"shown_items": SHOWN})
    assert "「膳魔师 保温杯 500ml」¥199，单买就包邮" in said
    assert slot_events(events) == {"focus_item": "c1"}
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/add_to_cart"


async def test_a_cheap_item_says_how_much_is_missing_for_free_shipping(shop: Runtime) -> None:
    add_products(shop, [{"id": "k1", "title": "每日坚果 小袋装", "category": "零食", "price": 39}])
    said, _, _ = await ask("这个包邮吗", {"focus_item": "k1"})
    assert "「每日坚果 小袋装」¥39，满¥99包邮，再凑¥60就包邮啦，不凑的话运费¥8" in said


async def test_warranty_depends_on_the_items_category(shop: Runtime) -> None:
    phone, _, _ = await ask("第一个保修多久", {"shown_items": SHOWN})
    assert "「华为 Mate60 Pro」享受华为官方保修1年" in phone
    shoes, _, _ = await ask("第二个保修多久", {"shown_items": SHOWN})
    assert "没有保修期" in shoes and "30天内有质量问题免费换新" in shoes


async def test_opened_food_is_not_returnable_without_reason(shop: Runtime) -> None:
    add_products(shop, [{"id": "k1", "title": "每日坚果 小袋装", "category": "零食", "price": 39}])
    food, _, _ = await ask("这个能退吗", {"focus_item": "k1"})
    assert "属于食品，拆封后不支持7天无理由退货" in food
    shoes, _, _ = await ask("第二个能退吗", {"shown_items": SHOWN})
    assert "收货7天内支持无理由退货" in shoes and "不支持" not in shoes


async def test_who_pays_return_postage_is_answered(shop: Runtime) -> None:
    said, _, _ = await ask("退货运费谁出")
    assert "无理由退货的运费由买家承担" in said
    assert "满¥99包邮" not in said


async def test_instalments_for_an_expensive_item(shop: Runtime) -> None:
    said, _, _ = await ask("第一个能分期吗", {"shown_items": SHOWN})
    assert "「华为 Mate60 Pro」可以分期：12期每期约¥500，3、6期免息" in said
    cheap, _, _ = await ask("第三个能分期吗", {"shown_items": SHOWN})
    assert "¥199，不到¥600的分期门槛" in cheap


async def test_cash_on_delivery_is_declined_when_the_store_does_not_offer_it(shop: Runtime) -> None:
    said, _, _ = await ask("可以货到付款吗")
    assert said.startswith("暂不支持货到付款") and "微信支付" in said
    about_item, _, _ = await ask("第一个能货到付款吗", {"shown_items": SHOWN})
    assert "暂不支持货到付款" in about_item


async def test_two_topics_in_one_message_name_the_item_once(shop: Runtime) -> None:
    said, _, _ = await ask("第一个包邮吗，几天能到", {"shown_items": SHOWN})
    first, second = said.split("\n")
    assert first.startswith("「华为 Mate60 Pro」") and second.startswith("它有现货")


async def test_my_order_reports_the_latest_order(shop: Runtime) -> None:
    with shop.session_factory() as session:
        repo.place_order(session, "shopper-1", [("c1", 1), ("s2", 1)], channel="rest")
        session.commit()
    said, _, _ = await ask("我的快递到哪了")
    assert (
        "你最近的订单" in said and "等2件" in said and "已付款，最晚" in said and "点前发出" in said
    )


def test_a_paid_order_past_the_dispatch_promise_is_apologised_for() -> None:
    order = Order(id="o1", shopper_id="x", total=199, status="paid")
    order.created_at = datetime(2026, 12, 1, 2, 0)  # 10:00 on the 1st in Beijing
    order.items = [OrderItem(product_id="c1", quantity=1, unit_price=199)]
    policies = load_policies()
    on_time = order_text(policies, order, {}, now=datetime(2026, 12, 2, 2, 0))
    assert on_time.endswith("已付款，最晚12月3日10点前发出，发出后「我的订单」里能看到物流～")
    late = order_text(policies, order, {}, now=datetime(2026, 12, 4, 2, 0))
    assert "已付款但还没发出，超过了48小时发货的承诺" in late and "转人工" in late


CUP = Product(id="c1", title="膳魔师 保温杯 500ml", category="保温杯", brand="膳魔师", price=199)
SNACK = Product(id="f1", title="三只松鼠 每日坚果", category="零食", brand="三只松鼠", price=89)


def _order(status: str, *products: Product) -> Order:
    order = Order(id="o1", shopper_id="x", total=sum(p.price for p in products), status=status)
    order.created_at = datetime(2026, 12, 3, 17, 30)  # UTC: 01:30 on the 4th in Beijing
    order.items = [OrderItem(product_id=p.id, quantity=1, unit_price=p.price) for p in products]
    return order


def test_an_order_placed_late_at_night_china_time_shows_the_china_date() -> None:
    said = order_text(load_policies(), _order("shipped", CUP), {"c1": CUP})
    assert said.startswith("你最近的订单（12月4日下单，「膳魔师 保温杯 500ml」，实付¥199）已发货")


@pytest.mark.parametrize(
    ("status", "products", "expected"),
    [
        ("shipped", [CUP], "已发货，正在路上，一般2-4天送到"),
        ("delivered", [CUP], "已签收～用得还满意吗？不合适的话收货7天内可以无理由退货"),
        # Opened food cannot go back without a reason: no general promise for it.
        ("delivered", [CUP, SNACK], "已签收～用得还满意吗？有问题随时问我「怎么退货」～"),
        ("refunded", [CUP], "已退款，钱会在1-3个工作日内原路退回～"),
        ("cancelled", [CUP], "已取消，没有扣款"),
        ("on_hold", [CUP], "状态是「on_hold」"),
    ],
)
def test_an_order_past_payment_says_what_it_means_for_the_shopper(
    status: str, products: list[Product], expected: str
) -> None:
    order = _order(status, *products)
    said = order_text(load_policies(), order, {p.id: p for p in products})
    assert expected in said
    assert "已付款" not in said and "抱歉" not in said


def test_a_delivered_order_the_shopper_has_not_received_gets_help_not_a_survey() -> None:
    said = order_text(load_policies(), _order("delivered", CUP), {"c1": CUP}, text="快递还没收到")
    assert "显示已签收，但你还没收到" in said and "转人工" in said
    assert "满意" not in said


async def test_an_address_change_is_explained_with_the_order_it_is_for(shop: Runtime) -> None:
    with shop.session_factory() as session:
        repo.place_order(session, "shopper-1", [("c1", 1)], channel="rest")
        session.commit()
    said, _, _ = await ask("我的订单地址填错了，能改吗")
    order, address = said.split("\n")
    assert order.startswith("你最近的订单") and "已付款，最晚" in order
    assert address.startswith("还没发货的订单，在「我的订单」里点「修改地址」就能改")
    assert "转人工" in address


async def test_my_order_without_orders_says_so(shop: Runtime) -> None:
    said, _, _ = await ask("我的快递到哪了", sender="new-shopper")
    assert "还没查到你的订单" in said


async def test_an_unspecific_question_gets_the_overview_and_choices(shop: Runtime) -> None:
    said, _, dispatcher = await ask("怎么申请售后")
    assert "7天无理由退货" in said
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [
        "包邮吗",
        "几天能到",
        "怎么退货",
        "保修多久",
    ]


async def test_a_service_question_read_as_a_detail_question_is_still_answered(
    shop: Runtime,
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("第一个保修多久", "ask_product_detail", slots={"shown_items": SHOWN})
    await ActionProductDetail().run(dispatcher, tracker, {})
    assert "官方保修1年" in texts(dispatcher)


async def test_a_detail_question_about_a_date_stays_a_detail_question(shop: Runtime) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "第一个什么时候上市的", "ask_product_detail", slots={"shown_items": SHOWN}
    )
    await ActionProductDetail().run(dispatcher, tracker, {})
    assert "发货" not in texts(dispatcher) and "华为 Mate60 Pro" in texts(dispatcher)
