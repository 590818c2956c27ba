"""action_store_policy: service questions (包邮吗, 几天能到, 怎么退货, 我的快递到哪了).

The answers are actions.service_answers'; this action only finds the item the shopper points at
and, for 我的订单, their latest order.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.normalize import parse_ordinal
from actions.runtime import Runtime
from actions.service_answers import (
    OVERVIEW_BUTTONS,
    answer_lines,
    order_text,
    overview_text,
    topics_in,
)
from actions.shop import (
    ShopAction,
    asks_product_fact,
    product_fact,
    shopper_of,
    target_item,
    unit_of_work,
)
from shopbot.db import repo
from shopbot.db.models import Product
from shopbot.policies import store_policies


def referenced(tracker: Tracker) -> bool:
    """Whether the message points at a shown item (第二个, a card's button)."""
    has_id = any(
        e.get("entity") == "product_id" for e in tracker.latest_message.get("entities", []) or []
    )
    return has_id or parse_ordinal(tracker.latest_message.get("text")) is not None


def referenced_product(session: Session, tracker: Tracker) -> Product | None:
    """The shown item the message points at (这款 / 第二个 / a card's button), if it does."""
    if not referenced(tracker):
        return None
    item_id = target_item(tracker)
    if item_id is None:
        return None
    return repo.get_products(session, [item_id]).get(item_id)


class ActionStorePolicy(ShopAction):
    """Answers service questions from the store's terms, for a shown item when one is meant."""

    def name(self) -> str:
        return "action_store_policy"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        policies = store_policies()
        text = tracker.latest_message.get("text") or ""
        topics = topics_in(text)
        focus = tracker.get_slot("focus_item")
        if asks_product_fact(runtime.lexicon, text) and (focus or referenced(tracker)):
            # 退货的人多吗 / 家里养猫能用吗 about the product in hand: its refunds or whether it
            # suits, not the store's terms.
            with unit_of_work(runtime) as session:
                product = referenced_product(session, tracker) or (
                    repo.get_products(session, [focus]).get(focus) if focus else None
                )
                answer = product_fact(session, runtime.lexicon, product, text) if product else None
                if product is not None and answer is not None:
                    dispatcher.utter_message(text=answer)
                    return [SlotSet("focus_item", product.id)]
        if not topics:
            dispatcher.utter_message(text=overview_text(policies), buttons=OVERVIEW_BUTTONS)
            return []
        with unit_of_work(runtime) as session:
            product = referenced_product(session, tracker)
            lines = answer_lines(policies, topics, product, text)
            if "order" in topics:
                order = repo.latest_order(session, shopper_of(session, tracker))
                ids = [i.product_id for i in order.items] if order else []
                lines.insert(
                    0, order_text(policies, order, repo.get_products(session, ids), text=text)
                )
        message: dict[str, Any] = {"text": "\n".join(lines)}
        if product is None:
            dispatcher.utter_message(**message)
            return []
        dispatcher.utter_message(
            **message, buttons=[{"title": "加入购物车", "payload": "/add_to_cart"}]
        )
        return [SlotSet("focus_item", product.id)]
