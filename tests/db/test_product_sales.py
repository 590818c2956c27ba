"""repo.product_sales: a product's sales and its category's, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from shopbot.db import repo
from shopbot.db.models import Product, utcnow
from tests.support.orders import add_order

NOW = utcnow().replace(microsecond=0)
SINCE = NOW - timedelta(days=30)


def add_products(session: Session, category: str, ids: Sequence[str]) -> None:
    for pid in ids:
        session.add(
            Product(
                id=pid,
                title=f"{category} {pid}",
                category=category,
                brand="测试",
                price=100,
                list_price=100,
                attributes={},
                tags=[],
                stock=10,
            )
        )
    session.flush()


def buy(
    session: Session,
    shopper: str,
    items: dict[str, int],
    *,
    days_ago: float,
    status: str = "delivered",
) -> None:
    """An order as checkout leaves it, `days_ago` days before NOW, now in `status`."""
    add_order(session, shopper, items, created_at=NOW - timedelta(days=days_ago), status=status)


@pytest.fixture
def shoes(session: Session) -> Session:
    add_products(session, "运动鞋", ["a", "b", "c", "d"])
    add_products(session, "手机", ["x"])
    return session


def test_window_counts_units_buyers_and_refunds_without_cancelled_orders(shoes: Session) -> None:
    buy(shoes, "u1", {"a": 2, "b": 1}, days_ago=1, status="paid")
    buy(shoes, "u1", {"a": 1}, days_ago=5)
    buy(shoes, "u2", {"a": 3}, days_ago=10, status="refunded")
    buy(shoes, "u3", {"a": 1}, days_ago=2, status="shipped")
    buy(shoes, "u4", {"a": 50}, days_ago=3, status="cancelled")
    buy(shoes, "u5", {"a": 7}, days_ago=45)  # before the window
    buy(shoes, "u6", {"x": 9}, days_ago=1)  # another category

    sales = repo.product_sales(shoes, "a", since=SINCE)

    assert (sales.units, sales.buyers, sales.orders) == (7, 3, 4)
    # Only delivered and refunded orders could have been sent back.
    assert (sales.settled_orders, sales.refunded_orders) == (2, 1)
    assert sales.refund_rate == 0.5
    assert (sales.category, sales.since) == ("运动鞋", SINCE)


def test_category_figures_rank_the_product_among_all_its_category(shoes: Session) -> None:
    buy(shoes, "u1", {"a": 5}, days_ago=1)
    buy(shoes, "u2", {"b": 9, "c": 1}, days_ago=2, status="refunded")
    buy(shoes, "u3", {"c": 4}, days_ago=3)
    buy(shoes, "u4", {"d": 40}, days_ago=3, status="cancelled")
    buy(shoes, "u5", {"x": 99}, days_ago=1)

    a = repo.product_sales(shoes, "a", since=SINCE)
    b = repo.product_sales(shoes, "b", since=SINCE)
    d = repo.product_sales(shoes, "d", since=SINCE)

    assert (a.category_products, a.category_units) == (4, 5 + 9 + 5)
    assert (a.outsold_by, a.rank) == (1, 2)  # b sold 9, c 5 (tied with a), d none
    assert (b.outsold_by, b.rank) == (0, 1)
    # Lines of settled orders in the category: a, b, c, c; refunded: b, c.
    assert (a.category_settled, a.category_refunded) == (4, 2)
    assert a.category_refund_rate == 0.5
    # Unsold: outsold by every product that sold, and no rank to speak of.
    assert (d.units, d.outsold_by, d.rank, d.refund_rate) == (0, 3, None, None)


def test_repeat_buyers_count_all_time_and_no_refunded_or_cancelled_order(shoes: Session) -> None:
    buy(shoes, "loyal", {"a": 1}, days_ago=200)
    buy(shoes, "loyal", {"a": 1, "b": 1}, days_ago=3)
    buy(shoes, "twice-in-window", {"a": 1}, days_ago=4)
    buy(shoes, "twice-in-window", {"a": 2}, days_ago=2, status="paid")
    buy(shoes, "sent-back", {"a": 1}, days_ago=20)
    buy(shoes, "sent-back", {"a": 1}, days_ago=10, status="refunded")
    buy(shoes, "changed-mind", {"a": 1}, days_ago=9)
    buy(shoes, "changed-mind", {"a": 1}, days_ago=8, status="cancelled")
    buy(shoes, "once", {"a": 1}, days_ago=1)

    assert repo.product_sales(shoes, "a", since=SINCE).repeat_buyers == 2
    assert repo.product_sales(shoes, "b", since=SINCE).repeat_buyers == 0


def test_an_order_at_the_window_start_counts(shoes: Session) -> None:
    buy(shoes, "u1", {"a": 2}, days_ago=30)

    assert repo.product_sales(shoes, "a", since=SINCE).units == 2
    later = repo.product_sales(shoes, "a", since=SINCE + timedelta(seconds=1))
    assert (later.units, later.category_units) == (0, 0)


def test_a_store_without_orders_reports_zeros(shoes: Session) -> None:
    sales = repo.product_sales(shoes, "x", since=SINCE)

    assert sales == repo.ProductSales(
        product_id="x",
        category="手机",
        since=SINCE,
        units=0,
        buyers=0,
        orders=0,
        settled_orders=0,
        refunded_orders=0,
        repeat_buyers=0,
        category_products=1,
        category_units=0,
        outsold_by=0,
        category_settled=0,
        category_refunded=0,
    )
    assert sales.category_refund_rate is None


def test_unknown_product_is_not_found(shoes: Session) -> None:
    with pytest.raises(repo.NotFound):
        repo.product_sales(shoes, "nope", since=datetime(2020, 1, 1))
