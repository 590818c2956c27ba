"""A database outage loses no behaviour events: they are spooled and replayed once it returns."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, make_url

from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import Event, Product
from shopbot.db.spool import EventSpool
from tests.support.tcp_proxy import TcpProxy


def test_events_written_during_an_outage_arrive_once_it_ends(
    pg_engine: Engine, tmp_path: Path
) -> None:
    with make_session_factory(pg_engine).begin() as session:
        session.add(
            Product(
                id="p1",
                title="小米手环8",
                category="智能手表",
                brand="小米",
                price=239,
                list_price=249,
                stock=3,
            )
        )
    url = make_url(str(pg_engine.url))
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    with pg_engine.connect() as conn:
        search_path = conn.execute(text("SHOW search_path")).scalar_one()
    options = f"-csearch_path={search_path}"
    through_proxy = make_engine(
        str(url.set(port=proxy.port)), connect_args={"options": options, "connect_timeout": 2}
    )
    spool = EventSpool(make_session_factory(through_proxy), tmp_path / "spool")
    try:
        assert spool.record("s1", "view", product_id="p1", dwell_seconds=4.0) == "stored"
        proxy.cut()
        outcomes = [
            spool.record("s1", t, product_id="p1") for t in ("view", "add_to_cart", "purchase")
        ]
        assert outcomes == ["spooled"] * 3
        assert spool.pending() == 3
        proxy.restore()
        # The next write after the outage replays the spool first, keeping the events in order.
        assert spool.record("s1", "favorite", product_id="p1") == "stored"
        assert spool.pending() == 0
        with make_session_factory(pg_engine)() as session:
            types = list(session.scalars(select(Event.type).order_by(Event.ts)))
            assert types == ["view", "view", "add_to_cart", "purchase", "favorite"]
            assert session.scalar(select(func.count()).select_from(Event)) == 5
    finally:
        through_proxy.dispose()
        proxy.close()


def test_replay_is_idempotent(sqlite_engine: Engine, tmp_path: Path) -> None:
    factory = make_session_factory(sqlite_engine)
    spool = EventSpool(factory, tmp_path / "spool")
    spool._append(
        {
            "shopper_id": "s2",
            "type": "search",
            "query": "跑鞋",
            "event_id": "e1",
            "ts": "2026-11-01T10:00:00",
        }
    )
    assert spool.replay() == 1
    spool._append(
        {
            "shopper_id": "s2",
            "type": "search",
            "query": "跑鞋",
            "event_id": "e1",
            "ts": "2026-11-01T10:00:00",
        }
    )
    spool.replay()
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1
