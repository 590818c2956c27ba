"""Taking things out of the cart and checking out in the chat (第一个不要了, 清空购物车, 去结算).

Ordinals mean the list the shopper saw last: after the cart or the checkout summary (both
numbered), 第二个 is the cart's second line; otherwise it is the second product shown.
Checkout asks first and remembers what it showed (`checkout_cart`); the order is placed only
if the cart still holds exactly that when the shopper confirms.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions import replies
from actions.normalize import parse_ordinal
from actions.runtime import Runtime
from actions.shop import (
    ITEM_REPLIES,
    ShopAction,
    cart_lines,
    cart_summary,
    channel_of,
    last_listing,
    parse_quantity,
    quantity_change,
    quantity_wanted,
    set_cart_quantity,
    shopper_of,
    shown,
    target_item,
    unit_of_work,
)
from shopbot.db import repo
from shopbot.db.models import CartItem
from shopbot.policies import store_policies

logger = logging.getLogger(__name__)

# Actions whose reply lists the cart as numbered lines.
CART_LISTS = ("action_view_cart", "action_remove_from_cart", "action_checkout")
_EVERYTHING = re.compile(r"清空|全部|全都|都不要|都删|都去掉|全删|所有")
CONFIRM_BUTTONS = [
    {"title": "确认下单", "payload": "/affirm"},
    {"title": "再想想", "payload": "/deny"},
]
EMPTY_TEXT = "购物车还是空的～想买点什么？"
_CONFIRM = re.compile(r"确认|确定|提交")


def cart_fingerprint(items: Sequence[CartItem]) -> str:
    return ",".join(
        f"{i.product_id}:{i.quantity}" for i in sorted(items, key=lambda i: i.product_id)
    )


@dataclass
class Removal:
    """Which cart lines a message means, or why none."""

    items: list[CartItem]
    problem: str | None = None


def lines_meant(tracker: Tracker, items: list[CartItem]) -> Removal:
    text = tracker.latest_message.get("text") or ""
    by_id = {i.product_id: i for i in items}
    for ent in tracker.latest_message.get("entities", []) or []:
        if ent.get("entity") == "product_id" and ent.get("value"):
            found = by_id.get(str(ent["value"]))
            return Removal([found] if found else [], None if found else "not_in_cart")
    position = parse_ordinal(text)
    if position not in (None, 0) and last_listing(tracker) in CART_LISTS:
        assert position is not None
        index = position - 1 if position > 0 else len(items) + position
        if 0 <= index < len(items):
            return Removal([items[index]])
        return Removal([], "out_of_range")
    # Before 清空/都不要: 耳机都不要了 means the headphones only.
    named = _named(tracker, items)
    if named is not None:
        return named
    if _EVERYTHING.search(text):
        return Removal(list(items))
    if position is not None:
        if position > len(shown(tracker)) > 0:
            return Removal([], "out_of_range")
        product_id = target_item(tracker)
        found = by_id.get(product_id) if product_id else None
        return Removal([found] if found else [], None if found else "not_in_cart")
    if len(items) == 1:
        return Removal(list(items))
    focus = tracker.get_slot("focus_item")
    if focus in by_id:
        return Removal([by_id[focus]])
    return Removal([], "which")


def shown_rejected(tracker: Tracker, meant: Removal) -> str | None:
    """The title of the shown product 第N个不要了 named when that product is not in the cart."""
    if meant.problem not in ("empty", "not_in_cart"):
        return None
    position = parse_ordinal(tracker.latest_message.get("text"))
    if position in (None, 0) or last_listing(tracker) in CART_LISTS:
        return None
    product_id = target_item(tracker)
    titles = {i["id"]: i.get("title") for i in shown(tracker)}
    return titles.get(product_id) if product_id else None


def _named(tracker: Tracker, items: list[CartItem]) -> Removal | None:
    """耳机不要了 / 华为的删掉: the cart lines of that category or brand."""
    wanted = {
        (ent.get("entity"), ent.get("value"))
        for ent in tracker.latest_message.get("entities", []) or []
        if ent.get("entity") in ("category", "brand")
    }
    if not wanted:
        return None
    hits = [
        i
        for i in items
        if ("category", i.product.category) in wanted or ("brand", i.product.brand) in wanted
    ]
    return Removal(hits, None if hits else "not_in_cart")


def which_buttons(items: Sequence[CartItem]) -> list[dict[str, str]]:
    return [
        {
            "title": f"删掉{n}",
            "payload": f'/remove_from_cart{{"product_id": "{i.product_id}"}}',
        }
        for n, i in enumerate(items, start=1)
    ][:5]


class ActionRemoveFromCart(ShopAction):
    """第二个不要了 / 耳机不要了 / 加错了 / 清空购物车; 第N个不要了 about a result not in the cart
    turns that result down."""

    def name(self) -> str:
        return "action_remove_from_cart"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        with unit_of_work(runtime) as session:
            shopper_id = shopper_of(session, tracker)
            items = repo.cart_items(session, shopper_id)
            meant = lines_meant(tracker, items) if items else Removal([], "empty")
            rejected = shown_rejected(tracker, meant)
            if rejected:
                # 第一个不要了 about a result that is not in the cart: the shopper is turning
                # the product down, not editing the cart.
                dispatcher.utter_message(
                    text=f"好的，「{rejected}」不考虑了～说「换一批」给你看别的。",
                    buttons=[{"title": "换一批", "payload": "/refine_search"}],
                )
                return []
            if not items:
                dispatcher.utter_message(text="购物车本来就是空的～想买点什么？")
                return []
            if not meant.items:
                lines, count, total = cart_lines(items)
                head = {
                    "not_in_cart": "它不在购物车里哦～",
                    "out_of_range": f"购物车里只有{len(items)}样哦～",
                }.get(meant.problem or "", "要删掉哪一个呢？")
                dispatcher.utter_message(
                    text=f"{head}购物车里现在是：\n{lines}\n合计{replies.yuan(total)}",
                    buttons=which_buttons(items),
                )
                return []
            change = quantity_change(tracker.latest_message.get("text"))
            if change is not None and change[1] > 0:
                if len(meant.items) > 1:
                    # 耳机删掉一个 with two pairs of headphones in the cart: which one?
                    lines, _, total = cart_lines(items)
                    dispatcher.utter_message(
                        text=f"要减哪一个呢？购物车里现在是：\n{lines}\n合计{replies.yuan(total)}",
                        buttons=which_buttons(meant.items),
                    )
                    return []
                item = meant.items[0]
                keep = quantity_wanted(change, item.quantity)
                if keep >= 1:
                    set_cart_quantity(dispatcher, session, shopper_id, item, keep)
                    return [SlotSet("checkout_cart", None)]
            titles = [i.product.title for i in meant.items]
            for item in meant.items:
                repo.cart_remove(session, shopper_id, item.product_id, channel=channel_of(tracker))
            lines, count, total = cart_summary(session, shopper_id)
        removed = f"「{titles[0]}」" if len(titles) == 1 else f"{len(titles)}件商品"
        if count == 0:
            dispatcher.utter_message(
                text=f"已从购物车删掉{removed}，购物车空了～想再看看别的吗？",
                buttons=_undo(meant.items),
            )
        else:
            dispatcher.utter_message(
                text=f"已从购物车删掉{removed}。还剩{count}件：\n{lines}\n合计{replies.yuan(total)}",
                buttons=[*_undo(meant.items), {"title": "去结算", "payload": "/checkout"}],
            )
        # What the shopper confirmed at checkout is no longer the cart.
        return [SlotSet("checkout_cart", None)]


def _undo(removed: Sequence[CartItem]) -> list[dict[str, str]]:
    if len(removed) != 1:
        return []
    return [
        {
            "title": "放回去",
            "payload": f'/add_to_cart{{"product_id": "{removed[0].product_id}"}}',
        }
    ]


@dataclass
class Summary:
    text: str
    buttons: list[dict[str, str]]
    # False when an item cannot be bought: there is nothing to confirm yet.
    ready: bool


def checkout_summary(session: Session, shopper_id: str, items: Sequence[CartItem]) -> Summary:
    """The confirmation text and its buttons; an item that cannot be bought blocks the order."""
    short = [i for i in items if i.product.stock < i.quantity]
    lines, count, total = cart_lines(items)
    if short:
        item = short[0]
        left = item.product.stock
        why = "刚刚卖完了" if left <= 0 else f"只剩{left}件了"
        return Summary(
            f"「{item.product.title}」{why}😥 先把它从购物车拿掉，再下单？",
            [
                {
                    "title": "拿掉它",
                    "payload": f'/remove_from_cart{{"product_id": "{item.product_id}"}}',
                },
                {
                    "title": "看相似",
                    "payload": f'/ask_similar{{"product_id": "{item.product_id}"}}',
                },
            ],
            ready=False,
        )
    pay = f"合计{replies.yuan(total)}"
    best = repo.best_grant(session, shopper_id, [(i.product, i.quantity) for i in items], total)
    if best is not None:
        value, _, offer = best
        pay += f"，用券「{offer.title}」抵{replies.yuan(value)}，实付{replies.yuan(total - value)}"
    return Summary(f"确认下单吗？共{count}件：\n{lines}\n{pay}", CONFIRM_BUTTONS, ready=True)


class ActionCheckout(ShopAction):
    """去结算 / 下单: show what would be bought and ask; an empty cart takes the item meant."""

    def name(self) -> str:
        return "action_checkout"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        pending = tracker.get_slot("checkout_cart")
        if pending and _CONFIRM.search(text):
            # 确认下单 typed after the summary reads as checkout: it confirms that summary.
            return place_order(dispatcher, tracker, runtime, pending)
        added = None
        with unit_of_work(runtime) as session:
            shopper_id = shopper_of(session, tracker)
            items = repo.cart_items(session, shopper_id)
            product_id = meant_for_purchase(tracker) if not items else None
            if product_id:
                product = repo.get_products(session, [product_id]).get(product_id)
                if product is not None and product.stock > 0:
                    quantity = parse_quantity(text)
                    repo.cart_add(
                        session, shopper_id, product.id, quantity, channel=channel_of(tracker)
                    )
                    added = product.title
                    items = repo.cart_items(session, shopper_id)
            if not items and shown(tracker):
                dispatcher.utter_message(text="购物车还是空的～要买上面哪一款？说「第几个」就行。")
                return [SlotSet("checkout_cart", None)]
            if not items:
                dispatcher.utter_message(
                    text=EMPTY_TEXT,
                    buttons=[{"title": "随便逛逛", "payload": "/ask_recommendation"}],
                )
                return [SlotSet("checkout_cart", None)]
            summary = checkout_summary(session, shopper_id, items)
            fingerprint = cart_fingerprint(items)
        text = f"先把「{added}」放进购物车了～\n{summary.text}" if added else summary.text
        dispatcher.utter_message(text=text, buttons=summary.buttons)
        return [SlotSet("checkout_cart", fingerprint if summary.ready else None)]


def meant_for_purchase(tracker: Tracker) -> str | None:
    """With an empty cart, 帮我下单 buys the item named (第二个, a button) or just talked about;
    after a list of results it names none, and the shopper is asked to pick."""
    has_id = any(
        ent.get("entity") == "product_id" for ent in tracker.latest_message.get("entities") or []
    )
    if has_id or parse_ordinal(tracker.latest_message.get("text")) not in (None, 0):
        return target_item(tracker)
    if last_listing(tracker) in ITEM_REPLIES:
        focus = tracker.get_slot("focus_item")
        return str(focus) if focus else None
    return None


class ActionPlaceOrder(ShopAction):
    """确认下单: place the order that checkout showed, if the cart is still exactly that."""

    def name(self) -> str:
        return "action_place_order"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        pending = tracker.get_slot("checkout_cart")
        if not pending:
            dispatcher.utter_message(text="想下单的话说「去结算」，我先帮你把购物车过一遍～")
            return []
        return place_order(dispatcher, tracker, runtime, pending)


def place_order(
    dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime, pending: str
) -> list[EventType]:
    """Buy the cart if it is still what the shopper confirmed; else show it again."""
    try:
        with unit_of_work(runtime) as session:
            shopper_id = shopper_of(session, tracker)
            items = repo.cart_items(session, shopper_id)
            if not items:
                dispatcher.utter_message(text=EMPTY_TEXT)
                return [SlotSet("checkout_cart", None)]
            if cart_fingerprint(items) != pending:
                summary = checkout_summary(session, shopper_id, items)
                dispatcher.utter_message(
                    text="购物车刚刚有变化，再确认一下～\n" + summary.text,
                    buttons=summary.buttons,
                )
                fingerprint = cart_fingerprint(items) if summary.ready else None
                return [SlotSet("checkout_cart", fingerprint)]
            count = sum(i.quantity for i in items)
            order = repo.place_order(
                session,
                shopper_id,
                [(i.product_id, i.quantity) for i in items],
                channel=channel_of(tracker),
            )
            order_id, paid, discount = order.id, float(order.total), float(order.discount)
    except repo.InvalidRequest as exc:
        # Someone else bought the last one between the summary and the confirmation.
        logger.info("order not placed: %s", exc)
        dispatcher.utter_message(
            text="下单没成功：有商品库存刚刚不够了😥 说「看看购物车」调整一下再下单吧～",
            buttons=[{"title": "看购物车", "payload": "/view_cart"}],
        )
        return [SlotSet("checkout_cart", None)]
    saved = f"（券抵{replies.yuan(discount)}）" if discount else ""
    hours = store_policies().delivery.dispatch_hours
    dispatcher.utter_message(
        text=f"下单成功🎉 订单号{order_id}，共{count}件，实付{replies.yuan(paid)}{saved}。\n"
        f"{hours}小时内发货，想知道到哪了随时问我「我的快递到哪了」～"
    )
    return [SlotSet("checkout_cart", None), SlotSet("focus_item", None)]
