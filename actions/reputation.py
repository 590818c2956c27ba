"""销量怎么样 / 口碑好吗 / 回头客多吗 about a shown product, answered from the store's own orders.

The store keeps no reviews or ratings, so a review question is told so plainly and answered with
what the orders do show: units sold, buyers, the place in the category, refunds and repeat buyers.
A product that sold little is described as such, never praised.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from shopbot.db import repo
from shopbot.db.models import Product, utcnow

WINDOW_DAYS = 30
# When a whole category sold nothing in WINDOW_DAYS the figures are older than the window (a demo
# store whose simulated history ended weeks ago): a longer window, named in the reply, still says
# something true.
WIDE_WINDOW_DAYS = 90
# Below this many settled orders one refund swings the rate by tens of percent: counts are said
# instead of a rate.
MIN_SETTLED_FOR_RATE = 10
# Below this many products a percentile is coarse: "排第2" says more than "前40%".
MIN_PRODUCTS_FOR_PERCENT = 10

_REVIEWS = (
    r"评价|好评|差评|中评|评分|评论|口碑|风评|打分|几颗?星|星级|买家秀"
    r"|大家(?:都)?(?:觉得|说|评)|用过的(?:人)?(?:都)?(?:怎么|说|觉得)|买过的(?:人)?(?:都)?(?:怎么|说|觉得)"
)
_SALES = (
    r"销量|销售量|销售额|月销|卖了多少(?!钱)|卖出(?:去)?多少(?!钱)|卖了几|卖出(?:去)?几"
    r"|卖[得的](?:怎么样|怎样|咋样|如何|好|火|多(?!少))|好卖|卖得动|卖不动"
    r"|(?:热门|热销|爆款|畅销|爆品)(?:款|单品|商品|产品)?(?:吗|么|嘛|不)|是不是(?:热门|热销|爆款|畅销)"
    r"|受欢迎|(?<![上防点])火(?:吗|么|不火|爆)|[很挺超蛮]火|人气"
    r"|买的人|买过的人(?:多|少)|多少人买|几个?人买|有人买|有没有人买"
    r"|退货率|退款率|退[货款换]?的(?:人|多|少)|退[货款换](?:的人)?(?:多|少)(?:吗|么|不|嘛)|退得多"
)
_REPEAT = r"回购|复购|回头客|回头率"
_ASKS = re.compile("|".join((_REVIEWS, _SALES, _REPEAT)), re.IGNORECASE)
_ASKS_REVIEWS = re.compile(_REVIEWS)
_ASKS_REPEAT = re.compile(_REPEAT)


def asks_reputation(text: str | None) -> bool:
    """Whether a message about a product asks how it sells or what people think of it."""
    return bool(_ASKS.search(text or ""))


def store_sales(
    session: Session, product_id: str, *, now: datetime | None = None
) -> repo.ProductSales:
    """The product's sales over WINDOW_DAYS, or WIDE_WINDOW_DAYS when its category sold nothing
    in the shorter one; `now` is naive UTC like the schema's timestamps."""
    now = now or utcnow()
    sales = repo.product_sales(session, product_id, since=now - timedelta(days=WINDOW_DAYS))
    if sales.category_units == 0:
        sales = repo.product_sales(
            session, product_id, since=now - timedelta(days=WIDE_WINDOW_DAYS)
        )
    return sales


def reputation_reply(
    session: Session,
    product: Product,
    question: str,
    *,
    name: str | None = None,
    now: datetime | None = None,
) -> str:
    """reputation_text for `product` with its figures read from the database."""
    now = now or utcnow()
    sales = store_sales(session, product.id, now=now)
    return reputation_text(product, sales, question=question, name=name, now=now)


def reputation_text(
    product: Product,
    sales: repo.ProductSales,
    *,
    question: str = "",
    name: str | None = None,
    now: datetime | None = None,
) -> str:
    """The reply to 销量怎么样 / 好评多吗 for `product`, from `sales` (its window ends at `now`).

    `name` is how the reply names the product (a short model name); the title by default."""
    now = now or utcnow()
    days = max(1, round((now - sales.since).total_seconds() / 86400))
    window = f"近{days}天"
    named = f"「{name or product.title}」"
    fresh = product.created_at is not None and product.created_at >= sales.since
    clauses: list[str] = []
    tail = ""
    if sales.units == 0:
        if fresh:
            clauses.append(f"{named}是新品，上架不久，{window}还没有成交，暂时没有销量可参考")
        else:
            clauses.append(f"{named}{window}还没有卖出，暂时没有销量可参考")
            tail = "想挑大家常买的，可以点「看相似」看看同类～"
    else:
        sold = f"{named}{'上架不久，' if fresh else ''}{window}卖出{sales.units}件"
        if sales.buyers < sales.units:
            sold += f"（{sales.buyers}人买）"
        clauses.append(sold + standing(sales))
        refunds = refund_clause(sales)
        if refunds:
            clauses.append(refunds)
    if sales.repeat_buyers:
        clauses.append(f"有{sales.repeat_buyers}位顾客买过不止一次")
    elif _ASKS_REPEAT.search(question or "") and sales.units:
        clauses.append("暂时还没有回购的顾客")
    intro = "评价我这里看不到，说说销量吧：" if _ASKS_REVIEWS.search(question or "") else ""
    return intro + "；".join(clauses) + "。" + tail


def standing(sales: repo.ProductSales) -> str:
    """'，在运动鞋里排前10%': the product's place among its category by units sold."""
    rank, total = sales.rank, sales.category_products
    if rank is None or total < 2:
        return ""
    if rank == 1:
        return f"，在{sales.category}里销量第一"
    if total < MIN_PRODUCTS_FOR_PERCENT:
        return f"，在{total}款{sales.category}里排第{rank}"
    top = math.ceil(100 * rank / total)
    if top > 50:
        return f"，在{sales.category}里不算热门"
    return f"，在{sales.category}里排前{top}%"


def refund_clause(sales: repo.ProductSales) -> str:
    """Refunds among settled orders, against the category's when there are enough to compare."""
    if sales.settled_orders == 0:
        return ""  # every order is still on its way: nothing could have been sent back yet
    others = sales.category_settled > sales.settled_orders
    category_rate = sales.category_refund_rate
    if sales.settled_orders < MIN_SETTLED_FOR_RATE:
        if sales.refunded_orders == 0:
            return "目前没有退款"
        return f"有{sales.refunded_orders}单退款"
    rate = sales.refund_rate or 0.0
    text = f"退款率{percent(rate)}" if rate else "没有退款"
    if not others or category_rate is None:
        return text
    if not rate:
        return (text + f"，同类退款率{percent(category_rate)}") if category_rate else text
    # Within one refund of what the category's rate predicts for this many orders, a difference
    # is chance (1 of 13 is 8%, the category's 2% predicts 0.3): the reply gives the counts, not
    # two rates that look far apart.
    if abs(sales.refunded_orders - category_rate * sales.settled_orders) < 1:
        return f"已完成的{sales.settled_orders}单里有{sales.refunded_orders}单退款，和同类差不多"
    relation = "低于" if rate < category_rate else "高于"
    return text + f"，{relation}同类的{percent(category_rate)}"


def percent(rate: float) -> str:
    if rate == 0:
        return "0"
    if rate < 0.01:
        return "不到1%"
    return f"{round(rate * 100)}%"
