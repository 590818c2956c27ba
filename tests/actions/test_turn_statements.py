"""How many SQL statements one run of each product action sends: chat latency on a budget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.engine import Engine

from actions.runtime import Runtime, set_runtime
from actions.shop import (
    SORRY,
    ActionAddToCart,
    ActionBundle,
    ActionOffers,
    ActionProductDetail,
    ActionSearchProducts,
    ActionSimilarItems,
    ActionViewCart,
)
from actions.store_policy import ActionStorePolicy
from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import Event
from tests.actions.conftest import LEXICON, insert_catalog, make_tracker, payloads, slot_events
from tests.support.sqlcount import StatementLog, count_statements

SHOWN = [
    {"id": "s1", "title": "耐克 Pegasus 跑鞋", "price": 459.0, "category": "运动鞋"},
    {"id": "s2", "title": "耐克 Revolution 跑鞋", "price": 299.0, "category": "运动鞋"},
    {"id": "s4", "title": "阿迪达斯 Duramo", "price": 359.0, "category": "运动鞋"},
]


@pytest.fixture
def counted_shop(sqlite_engine: Engine) -> Iterator[Runtime]:
    """The action-test shop, with the recommender on an engine of its own (same database).

    Only the actions' own statements are counted: the recommender's are budgeted by
    tests/recommender/test_refresh.py, and counting them here would tie these numbers to it.
    """
    from recommender.service import RecommenderService

    factory = make_session_factory(sqlite_engine)
    insert_catalog(factory)
    recommender_engine = make_engine(str(sqlite_engine.url))
    runtime = Runtime(
        session_factory=factory,
        recommender=RecommenderService(
            make_session_factory(recommender_engine), None, random_state=0
        ),
        lexicon=LEXICON,
    )
    set_runtime(runtime)
    yield runtime
    set_runtime(None)
    runtime.recommender.close()
    recommender_engine.dispose()


async def counted_run(action: Any, tracker: Tracker, engine: Engine) -> StatementLog:
    dispatcher = CollectingDispatcher()
    with count_statements(engine) as log:
        await action.run(dispatcher, tracker, {})
    assert all(m.get("text") != SORRY for m in dispatcher.messages), dispatcher.messages
    return log


def event_inserts(log: StatementLog) -> int:
    return sum(s.lstrip().upper().startswith("INSERT INTO EVENTS") for s in log.statements)


async def test_a_search_turn_stays_within_its_statement_budget(
    counted_shop: Runtime, sqlite_engine: Engine
) -> None:
    tracker = make_tracker("跑鞋", "search_product", slots={"category": "运动鞋"})
    # First contact also inserts the shopper.
    first = await counted_run(ActionSearchProducts(), tracker, sqlite_engine)
    later = await counted_run(ActionSearchProducts(), tracker, sqlite_engine)
    # Measured: 6 and 5 (products, offers, product check, shopper, [shopper insert,] events);
    # it was 21 and 20 when every event was checked and flushed on its own.
    assert len(first) <= 7, first.summary()
    assert len(later) <= 6, later.summary()
    # The search and its five views go in as one multi-row INSERT.
    assert event_inserts(first) == event_inserts(later) == 1


@pytest.mark.parametrize(
    ("action", "text", "intent", "budget"),
    [
        (ActionSearchProducts(), "换一批", "refine_search", 6),  # measured 5 (was 17)
        (ActionSimilarItems(), "有类似的吗", "ask_similar", 7),  # measured 6 (was 19)
        (ActionBundle(), "搭配什么好", "ask_bundle", 7),  # measured 6 (was 16)
        (ActionProductDetail(), "第二个多少钱", "ask_product_detail", 4),  # measured 3 (was 4)
        (ActionAddToCart(), "第二个加购", "add_to_cart", 7),  # measured 6 (was 8)
        (ActionViewCart(), "看看购物车", "view_cart", 2),  # measured 1 (was 2)
        (ActionOffers(), "有优惠吗", "ask_offers", 3),  # measured 2 (was 3)
        (ActionStorePolicy(), "包邮吗", "ask_policy", 0),
        (ActionStorePolicy(), "第二个保修多久", "ask_policy", 1),
        (ActionStorePolicy(), "我的快递到哪了", "ask_policy", 3),  # order, its items, titles
    ],
)
async def test_item_turns_stay_within_their_statement_budgets(
    counted_shop: Runtime, sqlite_engine: Engine, action: Any, text: str, intent: str, budget: int
) -> None:
    slots = {"category": "运动鞋", "shown_items": SHOWN, "focus_item": "s1"}
    tracker = make_tracker(text, intent, slots=slots)
    await counted_run(action, tracker, sqlite_engine)  # the shopper exists from now on
    log = await counted_run(action, tracker, sqlite_engine)
    assert len(log) <= budget, log.summary()
    assert event_inserts(log) <= 1


async def test_views_are_recorded_in_the_order_shown(counted_shop: Runtime) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("跑鞋", "search_product", slots={"category": "运动鞋"})
    events = await ActionSearchProducts().run(dispatcher, tracker, {})
    shown = [i["id"] for i in slot_events(events)["shown_items"]]
    assert shown == [i["id"] for i in payloads(dispatcher, "products")[0]["items"]]
    with counted_shop.session_factory() as session:
        rows = session.execute(
            select(Event.type, Event.product_id, Event.channel, Event.session_id)
            .where(Event.shopper_id == "shopper-1")
            .order_by(Event.ts)
        ).all()
    assert [(t, p) for t, p, _, _ in rows] == [("search", None)] + [("view", p) for p in shown]
    assert {(c, s) for _, _, c, s in rows} == {("rest", "shopper-1")}
