"""The commerce database goes away for a moment.

Decision (issue 6): behaviour events are buffered, not retried in the request. The storefront
spools what it cannot write to disk (shopbot/db/spool.py) and replays it, in order and once, as
soon as the database answers again; pages that need the database answer a polite 503 meanwhile.
A chat turn that needs the database gets the action server's apology instead of silence.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from actions.shop import SORRY
from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import Event
from tests.channels import catalogue
from tests.channels.conftest import Server, start_storefront
from tests.conftest import PG_URL
from tests.reliability.conftest import Stack, postgres_or_skip, products_of, texts_of, wait_until
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow


@pytest.fixture
def shop_pg() -> Iterator[str]:
    """The small shop in a PostgreSQL database of its own (direct URL), dropped afterwards."""
    postgres_or_skip()
    name = f"shopbot_out_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = str(make_url(PG_URL).set(database=name))
    try:
        catalogue.build(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def through(proxy: TcpProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


def pg_proxy(url: str) -> TcpProxy:
    direct = make_url(url)
    return TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)


def stored_events(url: str, shopper: str) -> dict[str, Event]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.scalars(select(Event).where(Event.shopper_id == shopper)).all()
            ids = [e.id for e in rows]
            assert len(ids) == len(set(ids))
            return {e.id: e for e in rows}
    finally:
        engine.dispose()


def post_event(storefront: Server, shopper: str, **body: object) -> requests.Response:
    return requests.post(
        f"{storefront.url}/api/events", json={"shopper": shopper, **body}, timeout=15
    )


def test_storefront_outage_answers_politely_and_loses_no_events(
    shop_pg: str, tmp_path: Path
) -> None:
    proxy = pg_proxy(shop_pg)
    storefront = start_storefront(
        through(proxy, shop_pg), tmp_path, SHOPBOT_SPOOL_REPLAY_SECONDS="0.5"
    )
    shopper = f"outage-{uuid.uuid4().hex[:8]}"
    try:
        before = post_event(storefront, shopper, type="view", product_id="shoe-001")
        assert before.status_code == 200 and before.json()["status"] == "stored"

        proxy.cut()
        # What the page sends while the shopper keeps browsing: a view posted on open and again
        # with its dwell time on leave, a search, a click, a favourite.
        view_id = f"view-{uuid.uuid4().hex[:8]}"
        during = [
            post_event(storefront, shopper, type="view", product_id="shoe-002", event_id=view_id),
            post_event(storefront, shopper, type="search", query="跑鞋"),
            post_event(storefront, shopper, type="click", product_id="shoe-002"),
            post_event(
                storefront,
                shopper,
                type="view",
                product_id="shoe-002",
                event_id=view_id,
                dwell_seconds=12.5,
            ),
            post_event(storefront, shopper, type="favorite", product_id="shoe-002"),
        ]
        assert [r.status_code for r in during] == [200] * 5, [r.text for r in during]
        assert {r.json()["status"] for r in during} == {"spooled"}
        # Pages still load; what needs the database says so politely instead of a 500.
        assert requests.get(f"{storefront.url}/", timeout=10).status_code == 200
        listing = requests.get(f"{storefront.url}/api/products", timeout=15)
        assert listing.status_code == 503
        assert "数据库暂时不可用" in listing.json()["error"]
        assert len(stored_events(shop_pg, shopper)) == 1

        proxy.restore()
        # Nothing else is posted: the storefront replays the spool by itself.
        expected = {before.json()["event_id"]} | {r.json()["event_id"] for r in during}
        assert len(expected) == 5  # the dwell update shares its view's id
        assert wait_until(lambda: set(stored_events(shop_pg, shopper)) == expected, 20), (
            f"stored {sorted(stored_events(shop_pg, shopper))}, expected {sorted(expected)}\n"
            + storefront.log()
        )
        events = stored_events(shop_pg, shopper)
        assert events[view_id].dwell_seconds == 12.5
        by_time = [e.type for e in sorted(events.values(), key=lambda e: e.ts)]
        assert by_time == ["view", "view", "search", "click", "favorite"]
        assert requests.get(f"{storefront.url}/api/products", timeout=15).status_code == 200
        # Writing again after the outage does not replay anything twice.
        after = post_event(storefront, shopper, type="click", product_id="shoe-001")
        assert after.json()["status"] == "stored"
        assert len(stored_events(shop_pg, shopper)) == 6
    finally:
        storefront.stop()
        proxy.close()


@pytest.fixture
def actions_on_pg(stack: Stack, shop_pg: str) -> Iterator[TcpProxy]:
    """Point the stack's action proxy at a second action server whose database (the shop on
    PostgreSQL) is reached through a proxy of its own, which the test cuts. Restored afterwards."""
    db_proxy = pg_proxy(shop_pg)
    original = stack.proxy.target
    server = stack.start_extra_actions(through(db_proxy, shop_pg))
    stack.proxy.retarget(("127.0.0.1", server.port))
    try:
        yield db_proxy
    finally:
        stack.proxy.retarget(original)
        server.stop()
        db_proxy.close()


def test_chat_turn_during_a_database_outage_gets_an_apology(
    stack: Stack, actions_on_pg: TcpProxy, sender: str
) -> None:
    first = stack.say(sender, "想买双跑鞋 500以内")
    assert first.status_code == 200 and products_of(first), first.text

    actions_on_pg.cut()
    during = stack.say(sender, "有没有1000以内的跑鞋", via=1)
    assert during.status_code == 200
    assert SORRY in texts_of(during), during.text
    assert not products_of(during)

    actions_on_pg.restore()
    after = stack.say(sender, "想买双跑鞋 300以内")
    assert after.status_code == 200
    shown = products_of(after)
    assert shown and all(item["price"] <= 300 for item in shown), after.text
