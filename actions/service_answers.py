"""Answers to service questions (包邮吗, 几天能到, 怎么退货, 保修多久, 能开发票吗, 能分期吗).

The terms come from data/store/policies.yml (shopbot.policies). Answered for a product when the
question is about one: its price against the free-shipping threshold, its category's warranty and
return terms, its instalments. Pure text: the actions decide which product and which order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from actions import replies
from shopbot.db.models import Order, Product, utcnow
from shopbot.policies import StorePolicies, warranty_period

# Order matters: a message that asks about its own order ("我的快递到哪了") is about that order,
# not about delivery times in general, so `order` is tested first and masks `delivery` (as
# `address` does: 改送货地址).
TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "order",
        re.compile(
            r"(?:我的|我买的|我下的|刚买的|我那个)(?:订单|快递|包裹|单)"
            r"|(?:我买的|我下的|刚买的)(?:东西|货)"
            r"|(?:订单|快递|包裹|物流).{0,4}(?:到哪|在哪|进度|状态|信息|怎么查|查)"
            r"|查.{0,3}(?:订单|快递|物流)|单号|催.{0,3}(?:发货|单|快递)|还没(?:发货|到|收到)"
        ),
    ),
    (
        "address",
        re.compile(
            r"(?:改|修改|更改|填错|写错|填反|换个|换一下).{0,4}(?:地址|收件人|收货人)"
            r"|(?:地址|收件人|收货人).{0,4}(?:改|错|换)"
        ),
    ),
    ("shipping", re.compile(r"(?i)包邮|运费|邮费|免邮|邮资|baoyou")),
    (
        "delivery",
        re.compile(
            r"发货|快递|物流|配送|送货|送到|送达|到货|顺丰|次日达|当天发|发哪|从哪发"
            r"|(?:几天|多少天|多久|多长时间|什么时候|啥时候|哪天).{0,3}(?:到(?!账)|收到|能发)"
        ),
    ),
    (
        "returns",
        re.compile(
            r"退货|退换|换货|退款|无理由|退钱|(?:能|可以|可不可以|包)退|退吗|退不|不满意|不合适"
        ),
    ),
    ("warranty", re.compile(r"保修|质保|保固|联保|坏了|维修|返修|质量问题")),
    ("invoice", re.compile(r"发票|开票|专票|报销|抬头|税号")),
    (
        "payment",
        re.compile(r"付款|支付|花呗|分期|信用卡|微信付|白条|银联|怎么付|付钱|免息|刷卡"),
    ),
    (
        "authenticity",
        re.compile(r"正品|假货|假的|行货|官方正品|官方授权|授权的|山寨|水货|高仿|真货|保真"),
    ),
)
# How long / when: about delivery only when the message names no other topic (保修多久 is about
# the warranty, 退款多久到账 about the refund).
TIMING = re.compile(r"(?:几|多少)天|多久|多长时间|什么时候|啥时候|哪天|明天能|几号")
OVERVIEW_BUTTONS = [
    {"title": "包邮吗", "payload": "包邮吗"},
    {"title": "几天能到", "payload": "几天能到"},
    {"title": "怎么退货", "payload": "怎么退货"},
    {"title": "保修多久", "payload": "保修多久"},
]
MAX_TOPICS = 3
STORE_UTC_OFFSET = timedelta(hours=8)
_RETURN_POSTAGE = re.compile(r"运费|邮费|寄回")
_NOT_ARRIVED = re.compile(r"还没(?:到|收到)|没收到|收不到|没送到|丢了|找不到")


def topics_in(text: str, *, timing: bool = True) -> list[str]:
    """The service topics a message asks about, in the order of TOPICS.

    With `timing`, a bare 多久 / 什么时候 with no other topic is about delivery; a caller that
    already knows the message is about something else (a product detail) turns that off."""
    text = text or ""
    found = [name for name, pattern in TOPICS if pattern.search(text)]
    if ("order" in found or "address" in found) and "delivery" in found:
        # 改送货地址 asks about the address, not about delivery times.
        found.remove("delivery")
    if "returns" in found and "shipping" in found and not re.search(r"包邮|免邮", text):
        # 退货运费谁出 asks who pays for the return, which the returns answer says.
        found.remove("shipping")
    if timing and not found and TIMING.search(text):
        found.append("delivery")
    return found[:MAX_TOPICS]


def _join(names: Sequence[str]) -> str:
    return "、".join(names[:-1]) + "和" + names[-1] if len(names) > 1 else "".join(names)


def shipping_text(p: StorePolicies, product: Product | None, text: str = "") -> str:
    s = p.shipping
    remote = f"{'、'.join(s.remote_regions[:3])}等偏远地区加收{replies.yuan(s.remote_fee)}。"
    if product is None:
        return f"满{replies.yuan(s.free_over)}包邮，不满收{replies.yuan(s.fee)}运费；" + remote
    price = float(product.price)
    if price >= s.free_over:
        return f"「{product.title}」{replies.yuan(price)}，单买就包邮～" + remote
    gap = math.ceil((s.free_over - price) * 100) / 100
    return (
        f"「{product.title}」{replies.yuan(price)}，满{replies.yuan(s.free_over)}包邮，"
        f"再凑{replies.yuan(gap)}就包邮啦，不凑的话运费{replies.yuan(s.fee)}。"
    )


def delivery_text(p: StorePolicies, product: Product | None, text: str = "") -> str:
    d = p.delivery
    answer = (
        f"从{'/'.join(d.ships_from)}仓就近发货，付款后{d.dispatch_hours}小时内发出，"
        f"{d.same_day_cutoff}前付款当天发；走{'/'.join(d.carriers)}，一般{d.days}天送到，"
        f"偏远地区{d.remote_days}天。"
    )
    if product is None:
        return answer
    if product.stock <= 0:
        return (
            f"「{product.title}」暂时缺货，到货后才能发出哦；平时付款后{d.dispatch_hours}小时内"
            f"发货，一般{d.days}天送到。"
        )
    return f"「{product.title}」有现货，" + answer


def returns_text(p: StorePolicies, product: Product | None, text: str = "") -> str:
    r = p.returns
    general = (
        f"收货{r.no_reason_days}天内支持无理由退货，{r.exchange_days}天内质量问题包换；"
        f"寄回仓库后{r.refund_days}个工作日原路退款。"
    )
    if _RETURN_POSTAGE.search(text):
        general += r.return_shipping + "。"
    if product is None:
        return general
    kind = r.no_reason_excluded.get(product.category)
    if kind:
        return (
            f"「{product.title}」属于{kind}，拆封后不支持{r.no_reason_days}天无理由退货，"
            f"未拆封可以退；有质量问题{r.exchange_days}天内照样包退换。"
        )
    return f"「{product.title}」" + general


def warranty_text(p: StorePolicies, product: Product | None, text: str = "") -> str:
    w = p.warranty
    exchange = f"收货{w.quality_exchange_days}天内有质量问题免费换新"
    if product is not None:
        months = w.months.get(product.category)
        if months:
            return f"「{product.title}」享受{product.brand}官方保修{warranty_period(months)}，凭订单就能保修。"
        return f"「{product.title}」没有保修期，{exchange}。"
    by_months: dict[int, list[str]] = {}
    for category, months in w.months.items():
        by_months.setdefault(months, []).append(category)
    common = max(by_months, key=lambda m: len(by_months[m]))
    parts = [
        f"{'、'.join(by_months[common][:3])}等数码家电享受品牌官方保修{warranty_period(common)}"
    ]
    parts += [
        f"{'、'.join(cats)}保修{warranty_period(m)}" for m, cats in by_months.items() if m != common
    ]
    return "，".join(parts) + f"；其他商品{exchange}。"


def invoice_text(p: StorePolicies, product: Product | None, text: str = "") -> str:
    i = p.invoice
    return (
        f"可以开{_join(i.kinds)}，下单时填好抬头和税号就行，"
        f"收货后{i.issue_days}个工作日发到你的邮箱。"
    )


def payment_text(p: StorePolicies, product: Product | None, text: str = "") -> str:
    plans = p.payment.installments
    methods = _join(p.payment.methods)
    free = "、".join(map(str, plans.interest_free_periods))
    declined = "货到付款" in text and not p.payment.cash_on_delivery
    if product is None:
        periods = "/".join(map(str, plans.periods))
        answer = f"支持{methods}；满{replies.yuan(plans.min_total)}可分{periods}期"
        answer += f"，其中{free}期免息。" if free else "。"
        return ("暂不支持货到付款哦，" if declined else "") + answer
    price = float(product.price)
    pay = f"付款支持{methods}" + ("，暂不支持货到付款。" if declined else "。")
    if price < plans.min_total:
        return (
            f"「{product.title}」{replies.yuan(price)}，不到{replies.yuan(plans.min_total)}的"
            f"分期门槛；" + pay
        )
    longest = max(plans.periods)
    each = replies.yuan(math.ceil(price / longest))
    return (
        f"「{product.title}」可以分期：{longest}期每期约{each}"
        + (f"，{free}期免息" if free else "")
        + "；"
        + pay
    )


def address_text(p: StorePolicies, product: Product | None, text: str = "") -> str:
    return p.delivery.address_change + "～"


def authenticity_text(p: StorePolicies, product: Product | None, text: str = "") -> str:
    if product is not None:
        return f"「{product.title}」是{product.brand}{p.authenticity}，放心买～"
    return f"店里都是{p.authenticity}，放心买～"


ANSWERS: dict[str, Callable[[StorePolicies, Product | None, str], str]] = {
    "shipping": shipping_text,
    "delivery": delivery_text,
    "returns": returns_text,
    "warranty": warranty_text,
    "invoice": invoice_text,
    "payment": payment_text,
    "authenticity": authenticity_text,
    "address": address_text,
}


def overview_text(p: StorePolicies) -> str:
    return (
        f"我们的服务：满{replies.yuan(p.shipping.free_over)}包邮 · "
        f"{p.delivery.dispatch_hours}小时内发货 · {p.returns.no_reason_days}天无理由退货 · "
        "正品保障。想具体了解哪一项？"
    )


def order_text(
    p: StorePolicies,
    order: Order | None,
    products: Mapping[str, Product],
    now: datetime | None = None,
    text: str = "",
) -> str:
    """Where the shopper's order stands; `products` holds its items (a deleted one is unnamed)."""
    if order is None:
        return "还没查到你的订单哦～下单后可以问我「我的订单到哪了」。"
    named = [products[i.product_id].title for i in order.items if i.product_id in products]
    count = sum(i.quantity for i in order.items)
    what = f"「{named[0]}」" if named else "商品"
    if count > 1:
        what += f"等{count}件"
    # Stored in UTC; the shopper remembers days and hours in China time.
    day = order.created_at + STORE_UTC_OFFSET
    summary = f"你最近的订单（{day.month}月{day.day}日下单，{what}，实付{replies.yuan(float(order.total))}）"
    if order.status != "paid":
        categories = {
            products[i.product_id].category for i in order.items if i.product_id in products
        }
        return summary + _settled_text(p, order.status, categories, bool(_NOT_ARRIVED.search(text)))
    deadline = order.created_at + timedelta(hours=p.delivery.dispatch_hours)
    if (now or utcnow()) <= deadline:
        by = deadline + STORE_UTC_OFFSET
        return (
            summary
            + f"已付款，最晚{by.month}月{by.day}日{by.hour}点前发出，发出后「我的订单」里能看到物流～"
        )
    return (
        summary + f"已付款但还没发出，超过了{p.delivery.dispatch_hours}小时发货的承诺，抱歉！"
        "说「转人工」马上帮你催～"
    )


def _settled_text(p: StorePolicies, status: str, categories: set[str], missing: bool) -> str:
    """What an order past payment means for the shopper, and what they can do next."""
    if status == "delivered" and missing:
        return (
            "显示已签收，但你还没收到？可能放在快递柜或代收点了，看看取件短信；"
            "还是找不到的话说「转人工」，马上帮你联系快递～"
        )
    if status == "shipped":
        return f"已发货，正在路上，一般{p.delivery.days}天送到，物流进度在「我的订单」里能看到～"
    if status == "delivered":
        if categories & set(p.returns.no_reason_excluded):
            # Food or cosmetics opened cannot go back without a reason: promise nothing general.
            return "已签收～用得还满意吗？有问题随时问我「怎么退货」～"
        return (
            f"已签收～用得还满意吗？不合适的话收货{p.returns.no_reason_days}天内可以无理由退货，"
            "问我「怎么退货」就行～"
        )
    if status == "refunded":
        return f"已退款，钱会在{p.returns.refund_days}个工作日内原路退回～"
    if status == "cancelled":
        return "已取消，没有扣款；还想要的话可以重新下单～"
    # A status the store's order system added later: say it as it is rather than guess.
    return f"状态是「{status}」，详情在「我的订单」里能看到～"


def answer_lines(
    p: StorePolicies, topics: Sequence[str], product: Product | None, text: str
) -> list[str]:
    """One line per topic except `order`; only the first line names the product."""
    lines = [ANSWERS[t](p, product, text) for t in topics if t in ANSWERS]
    if product is not None:
        prefix = f"「{product.title}」"
        lines[1:] = ["它" + ln[len(prefix) :] if ln.startswith(prefix) else ln for ln in lines[1:]]
    return lines
