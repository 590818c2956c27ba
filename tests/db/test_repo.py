"""The data layer, run against SQLite and PostgreSQL (see the `engine` fixture)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shopbot.db import repo
from shopbot.db.models import (
    CartItem,
    Event,
    Offer,
    OfferGrant,
    Order,
    Product,
    Shopper,
    utcnow,
)
from shopbot.db.schema import head_revision, init_db, is_current
from tests.support.sqlcount import count_statements


def add_products(session: Session) -> None:
    session.add_all(
        [
            Product(
                id="p1",
                title="华为 Mate 60 Pro 12GB+512GB 雅川青",
                category="手机",
                brand="华为",
                price=5999,
                list_price=6999,
                attributes={"color": "雅川青"},
                tags=["旗舰"],
                stock=5,
            ),
            Product(
                id="p2",
                title="小米14 16GB+512GB 黑色",
                category="手机",
                brand="小米",
                price=3999,
                list_price=3999,
                attributes={"color": "黑色"},
                tags=[],
                stock=2,
            ),
            Product(
                id="p3",
                title="耐克 Air Zoom 男子跑步鞋 黑白",
                category="运动鞋",
                brand="耐克",
                price=699,
                list_price=899,
                attributes={"color": "黑色", "size": ["41", "42", "43"]},
                tags=[],
                stock=10,
            ),
            Product(
                id="p4",
                title="苹果 iPhone 15 128GB 粉色",
                category="手机",
                brand="苹果",
                price=5299,
                list_price=5999,
                attributes={"color": "粉色"},
                tags=[],
                stock=0,
            ),
        ]
    )
    session.flush()


def test_migrations_reach_head_and_are_repeatable(engine) -> None:
    assert is_current(engine)
    assert init_db(engine) == head_revision()


def test_migrations_build_exactly_the_schema_the_models_describe(engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shopbot.db.models import Base

    with engine.connect() as conn:
        # A model change without its migration (an index, a column) shows up here.
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_database_rejects_impossible_prices(session: Session) -> None:
    session.add(
        Product(id="bad", title="x", category="手机", brand="x", price=-1, list_price=10, stock=1)
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_profile_is_kept_only_with_consent(session: Session) -> None:
    repo.ensure_shopper(session, "s1", consent=False, age_band="25-34", gender="F")
    repo.ensure_shopper(session, "s2", consent=True, age_band="25-34", gender="F")
    assert session.get(Shopper, "s1").age_band is None
    assert session.get(Shopper, "s2").age_band == "25-34"
    # Withdrawing consent wipes what was stored.
    repo.ensure_shopper(session, "s2", consent=False)
    assert session.get(Shopper, "s2").gender is None


def test_events_are_validated_redacted_and_returned_newest_first(session: Session) -> None:
    add_products(session)
    now = utcnow()
    repo.record_event(
        session, "s1", "view", product_id="p1", dwell_seconds=12, ts=now - timedelta(minutes=5)
    )
    repo.record_event(
        session, "s1", "search", query="手机 我电话13812345678 身份证110101199003071234", ts=now
    )
    events = repo.recent_events(session, "s1")
    assert [e.type for e in events] == ["search", "view"]
    assert "13812345678" not in events[0].query and "110101199003071234" not in events[0].query
    assert "[手机号]" in events[0].query and "[身份证号]" in events[0].query
    with pytest.raises(repo.InvalidRequest):
        repo.record_event(session, "s1", "teleport")
    with pytest.raises(repo.NotFound):
        repo.record_event(session, "s1", "view", product_id="nope")


def test_search_applies_every_constraint(session: Session) -> None:
    add_products(session)
    phones = repo.search_products(session, category="手机")
    assert [p.id for p in phones] == ["p2", "p1"]  # cheapest first, out-of-stock p4 left out
    assert [p.id for p in repo.search_products(session, category="手机", in_stock=False)] == [
        "p2",
        "p4",
        "p1",
    ]
    assert [p.id for p in repo.search_products(session, category="手机", price_max=4000)] == ["p2"]
    assert [p.id for p in repo.search_products(session, exclude_brands=["小米", "华为"])] == ["p3"]
    assert [p.id for p in repo.search_products(session, color="黑色")] == ["p3", "p2"]
    assert [p.id for p in repo.search_products(session, size="42")] == ["p3"]
    assert repo.search_products(session, size="46") == []


def grant_offer(session: Session, shopper: str, **fields: Any) -> None:
    """Offer "o1", live since yesterday, granted to `shopper`."""
    window = {"starts_at": utcnow() - timedelta(days=1), "ends_at": utcnow() + timedelta(days=1)}
    session.add(Offer(id="o1", **window, **fields))
    session.flush()
    session.add(OfferGrant(offer_id="o1", shopper_id=repo.ensure_shopper(session, shopper).id))


def test_order_decrements_stock_clears_cart_and_redeems_offer(session: Session) -> None:
    add_products(session)
    grant_offer(
        session,
        "s1",
        title="华为满5000减300",
        kind="threshold",
        scope="brand",
        scope_value="华为",
        amount=300,
        threshold=5000,
        budget_total=10,
        per_shopper_cap=1,
    )
    repo.cart_add(session, "s1", "p1")
    repo.cart_add(session, "s1", "p3", 2)
    order = repo.place_order(session, "s1", [("p1", 1), ("p3", 2)], channel="web")
    assert order.discount == 300
    assert order.total == pytest.approx(5999 + 2 * 699 - 300)
    assert session.get(Product, "p1").stock == 4 and session.get(Product, "p3").stock == 8
    assert repo.cart_items(session, "s1") == []
    grant = session.scalars(select(OfferGrant)).one()
    assert grant.redeemed_at is not None and grant.order_id == order.id
    purchases = [e for e in repo.recent_events(session, "s1") if e.type == "purchase"]
    assert sorted(e.product_id for e in purchases) == ["p1", "p3"]


@pytest.mark.parametrize(
    ("kind", "amount", "threshold", "discount"),
    [
        ("threshold", 100, 1000, 100),  # two ¥699 pairs reach 满1000
        ("percent", 10, 0, 139.8),  # 9折 on both pairs, not on one
    ],
)
def test_an_offer_counts_every_unit_of_a_line(
    session: Session, kind: str, amount: float, threshold: float, discount: float
) -> None:
    add_products(session)
    grant_offer(
        session,
        "s1",
        title="跑鞋券",
        kind=kind,
        scope="category",
        scope_value="运动鞋",
        amount=amount,
        threshold=threshold,
    )
    repo.cart_add(session, "s1", "p3", 2)
    quoted = repo.best_grant(session, "s1", [(session.get(Product, "p3"), 2)], 1398)
    assert quoted is not None and quoted[0] == pytest.approx(discount)
    order = repo.place_order(session, "s1", [("p3", 2)])
    assert order.discount == pytest.approx(discount)
    assert order.total == pytest.approx(1398 - discount)


def test_order_beyond_stock_fails_and_changes_nothing(session_factory: sessionmaker) -> None:
    with session_factory.begin() as session:
        add_products(session)
    with pytest.raises(repo.InvalidRequest, match="库存不足"), session_factory.begin() as session:
        repo.place_order(session, "s1", [("p3", 1), ("p2", 3)])
    with session_factory() as session:
        assert session.get(Product, "p3").stock == 10
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_concurrent_buyers_never_oversell(session_factory: sessionmaker) -> None:
    with session_factory.begin() as session:
        add_products(session)  # p2 has stock 2
        for i in range(6):
            repo.ensure_shopper(session, f"buyer{i}")
    outcomes: list[str] = []

    def buy(i: int) -> None:
        try:
            with session_factory.begin() as session:
                repo.place_order(session, f"buyer{i}", [("p2", 1)])
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - both "sold out" and lock timeouts count as a refusal
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_factory() as session:
        assert session.get(Product, "p2").stock == 0
        assert session.scalar(select(func.count()).select_from(Order)) == 2
    assert outcomes.count("ok") == 2


def test_forget_shopper_removes_everything(session: Session) -> None:
    add_products(session)
    repo.ensure_shopper(session, "s9", consent=True, region="上海")
    repo.record_event(session, "s9", "view", product_id="p1")
    repo.cart_add(session, "s9", "p3")
    repo.place_order(session, "s9", [("p2", 1)])
    repo.create_handoff(session, "s9", "web", "想找人工")
    repo.ensure_shopper(session, "other")
    repo.record_event(session, "other", "view", product_id="p1")
    counts = repo.forget_shopper(session, "s9")
    assert counts["shoppers"] == 1 and counts["events"] >= 3 and counts["orders"] == 1
    assert session.get(Shopper, "s9") is None
    assert session.scalars(select(Event).where(Event.shopper_id == "s9")).all() == []
    assert session.scalars(select(CartItem).where(CartItem.shopper_id == "s9")).all() == []
    assert len(repo.recent_events(session, "other")) == 1


def test_channel_identities_map_platform_users(session: Session) -> None:
    a = repo.resolve_shopper(session, "telegram", "123456")
    assert repo.resolve_shopper(session, "telegram", "123456") == a
    assert repo.resolve_shopper(session, "slack", "123456") != a
    assert repo.resolve_shopper(session, "rest", "shopper-7") == "shopper-7"


def test_stats_count_what_is_there(session: Session) -> None:
    add_products(session)
    repo.record_event(session, "s1", "view", product_id="p1")
    repo.record_event(session, "s1", "purchase", product_id="p1")
    stats = repo.db_stats(session)
    assert stats["products"] == 4 and stats["categories"] == 2 and stats["brands"] == 4
    assert stats["shoppers"] == 1 and stats["events"] == 2
    assert stats["events_by_type"]["view"] == 1 and stats["events_by_type"]["favorite"] == 0


def count_events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Event)))


def test_event_batch_is_stored_in_order_with_every_field(session: Session) -> None:
    add_products(session)
    then = utcnow() - timedelta(hours=1)
    batch = [
        repo.NewEvent(type="search", query="跑鞋 500以内", channel="rest", session_id="c1"),
        repo.NewEvent(type="view", product_id="p3", channel="rest", session_id="c1"),
        repo.NewEvent(type="view", product_id="p1", dwell_seconds=8.5, event_id="e-fixed"),
        repo.NewEvent(type="click", product_id="p3", ts=then),
    ]
    stored = repo.record_events(session, "s1", batch)
    assert stored[2].id == "e-fixed"
    assert session.get(Shopper, "s1") is not None  # created on the way, as record_event does
    session.expire_all()
    rows = {e.id: e for e in repo.recent_events(session, "s1")}
    got = [rows[e.id] for e in stored]
    assert [(e.type, e.product_id, e.query) for e in got] == [
        ("search", None, "跑鞋 500以内"),
        ("view", "p3", None),
        ("view", "p1", None),
        ("click", "p3", None),
    ]
    assert [(e.channel, e.session_id) for e in got[:2]] == [("rest", "c1")] * 2
    assert got[2].dwell_seconds == 8.5 and got[0].dwell_seconds is None
    assert got[3].ts == then  # an explicit time is kept
    # Rows without a time keep the batch's order when read newest first.
    newest_first = [e.id for e in repo.recent_events(session, "s1") if e.id != got[3].id]
    assert newest_first == [e.id for e in reversed(stored[:3])]


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (
            repo.NewEvent(type="teleport"),
            repo.InvalidRequest,
            r"events\[1\]: unknown event type 'teleport'",
        ),
        (
            repo.NewEvent(type="view", product_id="p1", dwell_seconds=-1),
            repo.InvalidRequest,
            r"events\[1\]: dwell_seconds must be between 0 and 86400",
        ),
        (
            repo.NewEvent(type="view", product_id="p1", dwell_seconds=86400),
            repo.InvalidRequest,
            r"events\[1\]: dwell_seconds",
        ),
        (
            repo.NewEvent(type="view", product_id="nope"),
            repo.NotFound,
            r"events\[1\]: unknown product 'nope'",
        ),
    ],
)
def test_one_bad_event_stores_none_of_the_batch(
    session: Session, bad: repo.NewEvent, error: type[Exception], message: str
) -> None:
    add_products(session)
    batch = [
        repo.NewEvent(type="search", query="手机"),
        bad,
        repo.NewEvent(type="view", product_id="p2"),
    ]
    with pytest.raises(error, match=message):
        repo.record_events(session, "s1", batch)
    assert count_events(session) == 0
    assert session.get(Shopper, "s1") is None  # checked before the shopper is created


def test_event_batch_rejects_unknown_products_even_beside_loaded_ones(session: Session) -> None:
    add_products(session)
    loaded = repo.get_products(session, ["p1", "p2"])
    batch = [repo.NewEvent(type="view", product_id=pid) for pid in ("p1", "gone", "p2")]
    with pytest.raises(repo.NotFound, match=r"events\[1\]: unknown product 'gone'"):
        repo.record_events(session, "s1", batch)
    assert count_events(session) == 0 and len(loaded) == 2


def test_event_batch_redacts_and_truncates_the_query(session: Session) -> None:
    typed = "手机 我电话13812345678 身份证110101199003071234 邮箱a.b@qq.com " + "很" * 300
    [event] = repo.record_events(session, "s1", [repo.NewEvent(type="search", query=typed)])
    session.expire_all()
    stored = session.get(Event, event.id).query
    for secret in ("13812345678", "110101199003071234", "a.b@qq.com"):
        assert secret not in stored
    assert "[手机号]" in stored and "[身份证号]" in stored and "[邮箱]" in stored
    assert len(stored) == repo.MAX_QUERY_CHARS


def test_event_batch_costs_a_fixed_handful_of_statements(session: Session, engine: Engine) -> None:
    add_products(session)
    session.expunge_all()  # as in a new unit of work: nothing loaded yet
    batch = [repo.NewEvent(type="search", query="手机")]
    batch += [repo.NewEvent(type="view", product_id=pid) for pid in ("p1", "p2", "p3", "p4")]
    with count_statements(engine) as first:
        repo.record_events(session, "new", batch)
    # products, shopper lookup, shopper insert, one multi-row insert of the events
    assert len(first) == 4, first.summary()
    assert sum("INSERT INTO events" in s for s in first.statements) == 1
    # Held here: the session's identity map keeps only what someone references.
    products = repo.get_products(session, ["p1", "p2", "p3", "p4"])
    shopper = session.get(Shopper, "new")
    with count_statements(engine) as again:
        repo.record_events(session, "new", batch[1:])
    # Products and shopper already loaded in the session are not asked for again.
    assert len(again) == 1 and "INSERT INTO events" in again.statements[0], again.summary()
    assert count_events(session) == 9 and len(products) == 4 and shopper is not None
    with count_statements(engine) as empty:
        assert repo.record_events(session, "new", []) == []
    assert len(empty) == 0


def test_ensure_shopper_leaves_an_unchanged_shopper_alone(session: Session, engine: Engine) -> None:
    shopper = repo.ensure_shopper(session, "s1")
    flushes: list[object] = []
    event.listen(session, "before_flush", lambda *args: flushes.append(args))
    with count_statements(engine) as log:
        assert repo.ensure_shopper(session, "s1") is shopper
    # Rewriting equal values would dirty the row and run a whole (empty) unit of work.
    assert len(log) == 0 and flushes == []
    repo.ensure_shopper(session, "s1", consent=True, region="上海")
    repo.ensure_shopper(session, "s1", consent=False)
    session.expire_all()
    assert session.get(Shopper, "s1").region is None


def test_first_party_senders_map_without_creating_a_shopper(session: Session) -> None:
    assert repo.shopper_id_for(session, "socketio", "web-abc") == "web-abc"
    assert session.get(Shopper, "web-abc") is None
    foreign = repo.shopper_id_for(session, "telegram", "42")
    assert foreign != "42" and session.get(Shopper, foreign) is not None
    assert repo.shopper_id_for(session, "telegram", "42") == foreign
    assert repo.resolve_shopper(session, "telegram", "42") == foreign
    with pytest.raises(repo.InvalidRequest):
        repo.shopper_id_for(session, "rest", "")
