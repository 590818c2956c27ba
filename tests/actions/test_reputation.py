"""销量怎么样 / 好评多吗 about a shown product: answered from the shop's real orders, honestly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, update

from actions.reputation import asks_reputation, reputation_reply, reputation_text
from actions.runtime import Runtime
from actions.shop import ActionProductDetail
from actions.store_policy import ActionStorePolicy
from shopbot.db import repo
from shopbot.db.models import Event, Product, utcnow
from tests.actions.conftest import make_tracker, slot_events, texts
from tests.support.orders import add_order
from tests.support.sqlcount import count_statements

SHOWN = [
    {"id": "s1", "title": "耐克 Pegasus 跑鞋", "price": 459.0, "category": "运动鞋"},
    {"id": "s2", "title": "耐克 Revolution 跑鞋", "price": 299.0, "category": "运动鞋"},
    {"id": "s3", "title": "阿迪达斯 Ultraboost", "price": 899.0, "category": "运动鞋"},
]


def buy(
    shop: Runtime,
    shopper: str,
    items: dict[str, int],
    *,
    days_ago: float,
    status: str = "delivered",
    times: int = 1,
) -> None:
    """`times` orders of `items` by `shopper`, `days_ago` days ago, now in `status`."""
    with shop.session_factory() as session:
        for _ in range(times):
            created_at = utcnow() - timedelta(days=days_ago)
            add_order(session, shopper, items, created_at=created_at, status=status, unit_price=1)
        session.commit()


def listed_long_ago(shop: Runtime, ids: Sequence[str]) -> None:
    with shop.session_factory() as session:
        session.execute(
            update(Product)
            .where(Product.id.in_(list(ids)))
            .values(created_at=utcnow() - timedelta(days=200))
        )
        session.commit()


async def ask(text: str) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, "ask_product_detail", slots={"shown_items": SHOWN})
    events = await ActionProductDetail().run(dispatcher, tracker, {})
    return dispatcher, events


@pytest.mark.parametrize(
    "text",
    [
        "第二个销量怎么样",
        "口碑好吗",
        "好评多吗",
        "评价怎么样",
        "卖得好吗",
        "买的人多吗",
        "回头客多吗",
        "这款火吗",
        "第一个卖了多少",
        "差评多不多",
        "评分高吗",
        "卖的怎么样",
        "受欢迎吗",
        "回购率高吗",
        "火不火",
        "是爆款吗",
        "大家觉得怎么样",
        "退货率高不高",
        "月销多少",
        "退货的人多吗",
        "退货多不多",
        "退的多吗",
    ],
)
def test_sales_and_reputation_questions_are_recognised(text: str) -> None:
    assert asks_reputation(text)


@pytest.mark.parametrize(
    "text",
    [
        "有42码吗",
        "多少钱",
        "是纯棉的吗",
        "这个卖多少钱",
        "这个卖的多少钱",
        "吃了上火吗",
        "怎么退货",
        "第二个保修多久",
        "什么时候发货",
        "有货吗",
        "卖完了吗",
        "老顾客有优惠吗",
        "介绍下第一个",
        "退货运费谁出",
        "可以退货吗",
        "",
    ],
)
def test_other_product_questions_are_not(text: str) -> None:
    assert not asks_reputation(text)


async def test_sales_of_the_second_item_come_from_its_orders(shop: Runtime) -> None:
    buy(shop, "u1", {"s2": 2}, days_ago=3)
    buy(shop, "u2", {"s2": 1, "s1": 1}, days_ago=10)
    buy(shop, "u3", {"s2": 3}, days_ago=20, status="shipped")
    buy(shop, "u4", {"s2": 20}, days_ago=2, status="cancelled")
    buy(shop, "u5", {"s2": 9}, days_ago=45)  # older than the window
    listed_long_ago(shop, ["s1", "s2"])

    dispatcher, events = await ask("第二个销量怎么样")

    reply = texts(dispatcher)
    assert reply.startswith("「耐克 Revolution 跑鞋」近30天卖出6件（3人买）"), reply
    assert "在运动鞋里销量第一" in reply
    assert "耐克 Pegasus" not in reply and "材质" not in reply  # not the spec sheet
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["加入购物车", "看相似"]
    assert slot_events(events)["focus_item"] == "s2"
    with shop.session_factory() as session:
        clicks = session.scalars(select(Event.product_id).where(Event.type == "click")).all()
    assert clicks == ["s2"]


async def test_cancelled_orders_are_no_sales(shop: Runtime) -> None:
    buy(shop, "u1", {"s1": 4}, days_ago=1)
    buy(shop, "u2", {"s2": 5}, days_ago=1, status="cancelled")
    listed_long_ago(shop, ["s2"])

    dispatcher, _ = await ask("第二个卖得好吗")

    reply = texts(dispatcher)
    assert "「耐克 Revolution 跑鞋」近30天还没有卖出，暂时没有销量可参考" in reply, reply
    assert "5件" not in reply and "第一" not in reply


async def test_a_new_item_without_sales_is_called_new_not_praised(shop: Runtime) -> None:
    buy(shop, "u1", {"s1": 4}, days_ago=1)

    dispatcher, _ = await ask("第三个买的人多吗")

    reply = texts(dispatcher)
    assert reply.startswith("「阿迪达斯 Ultraboost」是新品，上架不久"), reply
    assert "热" not in reply and "排" not in reply


async def test_review_questions_are_told_reviews_are_not_shown(shop: Runtime) -> None:
    buy(shop, "u1", {"s2": 2}, days_ago=3)

    dispatcher, _ = await ask("第二个好评多吗")

    reply = texts(dispatcher)
    assert reply.startswith("评价我这里看不到，说说销量吧："), reply
    assert "近30天卖出2件" in reply


async def test_refund_rate_is_set_against_the_category(shop: Runtime) -> None:
    buy(shop, "u1", {"s1": 1}, days_ago=5, times=9)
    buy(shop, "u2", {"s1": 1}, days_ago=5, status="refunded", times=3)
    buy(shop, "u3", {"s2": 1}, days_ago=5, times=48)
    buy(shop, "u4", {"s3": 1}, days_ago=5, times=9)
    buy(shop, "u5", {"s3": 1}, days_ago=5, status="refunded")
    buy(shop, "u6", {"s1": 1}, days_ago=1, status="paid", times=5)  # not delivered yet

    first, _ = await ask("第一个退款率高吗")
    second, _ = await ask("第二个销量怎么样")
    third, _ = await ask("第三个卖得怎么样")

    # Delivered or refunded orders: s1 3 refunded of 12, s2 none of 48, s3 1 of 10; category 4 of 70.
    assert "退款率25%，高于同类的6%" in texts(first), texts(first)
    assert "没有退款，同类退款率6%" in texts(second), texts(second)
    # One refund in ten against 6% is as expected: no worse than the others.
    assert "已完成的10单里有1单退款，和同类差不多" in texts(third), texts(third)


async def test_asking_whether_many_return_it_is_about_the_product_not_the_terms(
    shop: Runtime,
) -> None:
    buy(shop, "u1", {"s1": 1}, days_ago=5, times=9)
    buy(shop, "u2", {"s1": 1}, days_ago=5, status="refunded", times=3)
    buy(shop, "u3", {"s2": 1}, days_ago=5, times=20)
    dispatcher = CollectingDispatcher()
    # Read as a service question, as the NLU may: the product in focus still answers it.
    tracker = make_tracker(
        "退货的人多吗", "ask_policy", slots={"shown_items": SHOWN, "focus_item": "s1"}
    )
    events = await ActionStorePolicy().run(dispatcher, tracker, {})
    assert "「耐克 Pegasus 跑鞋」" in texts(dispatcher) and "退款率25%" in texts(dispatcher)
    assert slot_events(events)["focus_item"] == "s1"
    # With nothing in hand it is the return terms.
    dispatcher = CollectingDispatcher()
    await ActionStorePolicy().run(dispatcher, make_tracker("退货的人多吗", "ask_policy"), {})
    assert "退款率" not in texts(dispatcher) and "退" in texts(dispatcher)


async def test_repeat_buyers_are_counted(shop: Runtime) -> None:
    buy(shop, "regular", {"s2": 1}, days_ago=60)
    buy(shop, "regular", {"s2": 1}, days_ago=3)
    buy(shop, "once", {"s2": 1}, days_ago=3)

    dispatcher, _ = await ask("第二个回头客多吗")

    assert "有1位顾客买过不止一次" in texts(dispatcher), texts(dispatcher)


async def test_stale_sales_widen_the_window_and_say_so(shop: Runtime) -> None:
    buy(shop, "u1", {"s2": 3}, days_ago=50)
    buy(shop, "u2", {"s1": 1}, days_ago=70)

    with shop.session_factory() as session:
        product = session.get(Product, "s2")
        reply = reputation_reply(session, product, "销量怎么样", now=utcnow())

    assert "近90天卖出3件" in reply, reply


async def test_the_figures_take_one_statement_however_many_orders(shop: Runtime) -> None:
    buy(shop, "u1", {"s2": 1, "s1": 2}, days_ago=3, times=40)
    engine = shop.session_factory.kw["bind"]
    await ask("第二个销量怎么样")  # the shopper exists from now on

    with count_statements(engine) as log:
        await ask("第二个销量怎么样")
    with count_statements(engine) as detail:
        await ask("第二个多少钱")

    assert len(log) == len(detail) + 1, log.summary()


def test_a_rate_well_under_the_category_is_called_lower() -> None:
    now = utcnow()
    product = Product(id="k1", title="膳魔师 保温杯 500ml", created_at=now - timedelta(days=300))
    sales = repo.ProductSales(
        product_id="k1",
        category="保温杯",
        since=now - timedelta(days=30),
        units=60,
        buyers=55,
        orders=50,
        settled_orders=50,
        refunded_orders=1,
        repeat_buyers=0,
        category_products=30,
        category_units=400,
        outsold_by=2,
        category_settled=300,
        category_refunded=30,
    )

    reply = reputation_text(product, sales, question="口碑好吗", name="膳魔师保温杯", now=now)

    assert reply == (
        "评价我这里看不到，说说销量吧：「膳魔师保温杯」近30天卖出60件（55人买），"
        "在保温杯里排前10%；退款率2%，低于同类的10%。"
    )
