"""The catalogue snapshot is refreshed off the request path and every request reads one snapshot.

New products and stock changes reach the pages after a refresh (explicit or by the background
thread), requests never reload the catalogue themselves, and requests running while snapshots
are swapped never mix an old catalogue with new indices.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from recommender.service import Filters, RecommendationResult, RecommenderService
from shopbot.db import repo
from shopbot.db.engine import make_session_factory, session_scope
from shopbot.db.models import Product

CATS = {
    "手机": ("华为", "小米", "苹果"),
    "耳机": ("索尼", "漫步者", "华为"),
    "零食": ("三只松鼠", "良品铺子", "百草味"),
}
PRICE = {"手机": 1000, "耳机": 200, "零食": 30, "平板": 2500}
DEADLINE_SECONDS = 30.0  # generous: the suite may share a loaded machine


def _product(
    pid: str, category: str, brand: str, *, stock: int = 10, days_old: int = 90
) -> Product:
    price = PRICE[category]
    return Product(
        id=pid,
        title=f"{brand}{category}{pid}",
        category=category,
        brand=brand,
        price=price,
        list_price=price * 1.2,
        attributes={"color": "黑色"},
        tags=[],
        stock=stock,
        created_at=datetime.utcnow() - timedelta(days=days_old),
    )


def _fill(factory: sessionmaker) -> dict[str, str]:
    """36 products (p0..p35, 12 per category) and a few shoppers; returns id -> category."""
    category_of = {}
    with session_scope(factory) as s:
        n = 0
        for cat, brands in CATS.items():
            for brand in brands:
                for _ in range(4):
                    s.add(_product(f"p{n}", cat, brand))
                    category_of[f"p{n}"] = cat
                    n += 1
        s.flush()
        for u in range(6):
            for pid in (f"p{u}", f"p{u + 12}", f"p{u + 24}"):
                repo.record_event(s, f"fan{u}", "view", product_id=pid)
        repo.place_order(s, "fan0", [("p0", 1), ("p13", 1)])
        repo.cart_add(s, "fan1", "p14")
    return category_of


@pytest.fixture
def shop(sqlite_engine: Engine) -> tuple[sessionmaker, dict[str, str]]:
    factory = make_session_factory(sqlite_engine)
    return factory, _fill(factory)


def _ids(result: RecommendationResult) -> list[str]:
    return [r.item_id for r in result.items]


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_product_added_after_start_is_recommended_after_refresh(
    shop: tuple[sessionmaker, dict[str, str]],
) -> None:
    factory, _ = shop
    with RecommenderService(factory, background_refresh=False) as svc:
        with session_scope(factory) as s:
            s.add(_product("tablet", "平板", "华为", days_old=1))
        tablets = Filters(category="平板")
        # The service started before the tablet existed: no tablets yet, so the category relaxes.
        stale = svc.recommend(None, 5, filters=tablets)
        assert stale.relaxed == ("category",) and "tablet" not in _ids(stale)
        assert svc.similar_items("tablet", 3).fallback == "unknown_item"

        assert svc.refresh() == "rebuilt"
        fresh = svc.recommend(None, 5, filters=tablets)
        assert _ids(fresh) == ["tablet"] and not fresh.relaxed
        assert svc.similar_items("tablet", 3).fallback != "unknown_item"
        assert svc.refresh() == "unchanged"


def test_the_background_refresh_brings_new_products_without_any_call(
    shop: tuple[sessionmaker, dict[str, str]],
) -> None:
    factory, _ = shop
    with RecommenderService(factory, refresh_seconds=0.02) as svc:
        with session_scope(factory) as s:
            s.add(_product("tablet", "平板", "华为", days_old=1))
        _wait_for(
            lambda: "tablet" in _ids(svc.recommend(None, 5, filters=Filters(category="平板"))),
            "the new tablet to be recommended",
        )


def _set_stock(factory: sessionmaker, category: str, stock: int) -> None:
    with session_scope(factory) as s:
        s.execute(update(Product).where(Product.category == category).values(stock=stock))


def test_sold_out_products_leave_the_pages_after_refresh_and_come_back_when_restocked(
    shop: tuple[sessionmaker, dict[str, str]],
) -> None:
    factory, category_of = shop
    earphones = Filters(category="耳机")
    with RecommenderService(factory, background_refresh=False) as svc:
        assert {category_of[i] for i in _ids(svc.recommend(None, 5, filters=earphones))} == {"耳机"}
        _set_stock(factory, "耳机", 0)
        # Before the refresh the page's stock re-check already hides them, but it cannot offer
        # alternatives: the snapshot still believes the earphones are in stock.
        stale = svc.recommend(None, 5, filters=earphones)
        assert not stale.items and not stale.relaxed

        before = svc._state
        assert svc.refresh() == "stock"
        # Only stock moved: the new snapshot reuses the content index instead of rebuilding it.
        assert svc._state.content is before.content
        sold_out = svc.recommend(None, 5, filters=earphones)
        assert sold_out.relaxed == ("category",) and len(sold_out.items) == 5
        assert all(category_of[i] != "耳机" for i in _ids(sold_out))
        for result in (svc.recommend("fan2", 10), svc.similar_items("p20", 5)):
            assert all(category_of[i] != "耳机" for i in _ids(result))

        _set_stock(factory, "耳机", 3)
        assert svc.refresh() == "stock"
        restocked = svc.recommend(None, 5, filters=earphones)
        assert not restocked.relaxed
        assert {category_of[i] for i in _ids(restocked)} == {"耳机"}


def test_requests_running_while_snapshots_are_swapped_stay_consistent(
    shop: tuple[sessionmaker, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    """Several threads ask for one category at a time while products are added (ids sorting
    first, so every existing catalogue index shifts) and sold out, and the background thread and
    explicit refreshes swap snapshots. No request fails, and none returns a product of another
    category or one that was sold out before the request began."""
    caplog.set_level(logging.WARNING, logger="recommender.service")
    factory, category_of = shop
    categories = list(CATS)
    sold_out: set[str] = set()
    stop = threading.Event()
    errors: list[BaseException] = []
    bad: list[tuple[str, str, str]] = []
    served = [0]
    lock = threading.Lock()

    def ask(svc: RecommenderService, n: int) -> None:
        cat = categories[n % len(categories)]
        filters = Filters(category=cat)
        with lock:
            gone = set(sold_out)  # what was sold out before this request began
        kind = n % 4
        if kind == 0:
            result = svc.recommend(f"fan{n % 6}", 6, filters=filters)
        elif kind == 1:
            result = svc.recommend(None, 6, filters=filters, context={"brand": "华为"})
        elif kind == 2:
            result = svc.similar_items(f"p{n % 36}", 5, filters=filters)
        else:
            result = svc.bundle([f"p{n % 36}"], 4, filters=Filters(exclude_categories=(cat,)))
        for item in _ids(result):
            wrong_category = (
                category_of[item] == cat if kind == 3 else category_of[item] != cat
            ) and not result.relaxed
            if wrong_category or item in gone:
                with lock:
                    bad.append((item, cat, category_of[item]))
        with lock:
            served[0] += 1

    def worker(svc: RecommenderService, offset: int) -> None:
        n = offset
        while not stop.is_set():
            try:
                ask(svc, n)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                with lock:
                    errors.append(exc)
                return
            n += 7

    with RecommenderService(factory, refresh_seconds=0.005) as svc:
        threads = [threading.Thread(target=worker, args=(svc, k)) for k in range(4)]
        for t in threads:
            t.start()
        try:
            for step in range(24):
                cat = categories[step % len(categories)]
                pid = f"a{step:03d}"  # sorts before every "p…" id
                category_of[pid] = cat
                with session_scope(factory) as s:
                    s.add(_product(pid, cat, CATS[cat][step % 3], days_old=step % 20))
                # The background thread picks it up; wait for that so swaps really happen here.
                _wait_for(lambda pid=pid: pid in svc._state.catalog.items.index, f"{pid}")
                victim = f"p{(step * 5) % 36}"
                with session_scope(factory) as s:
                    s.execute(update(Product).where(Product.id == victim).values(stock=0))
                with lock:  # only after the commit: requests from here on must skip it
                    sold_out.add(victim)
                if step % 6 == 5:
                    svc.refresh(force=True)
                if errors:
                    break
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert not errors, errors
    assert not bad, bad[:10]
    assert served[0] >= 24
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def _cart_shopper(factory: sessionmaker) -> None:
    with session_scope(factory) as s:
        for pid in ("p1", "p2", "p13"):
            repo.record_event(s, "counted", "view", product_id=pid)
        repo.cart_add(s, "counted", "p25")


@pytest.fixture
def counted(engine: Engine) -> Iterator[tuple[sessionmaker, dict[int, list[str]]]]:
    """A shop whose SQL statements are recorded per thread."""
    factory = make_session_factory(engine)
    _fill(factory)
    _cart_shopper(factory)
    statements: dict[int, list[str]] = {}

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.setdefault(threading.get_ident(), []).append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield factory, statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _request_statements(
    svc: RecommenderService, statements: dict[int, list[str]]
) -> dict[str, list[str]]:
    me = threading.get_ident()
    out = {}
    for name, call in (
        ("recommend", lambda: svc.recommend("counted", 5, filters=Filters(category="耳机"))),
        ("similar_items", lambda: svc.similar_items("p13", 5)),
        ("bundle", lambda: svc.bundle(["p0"], 3)),
        ("purchase_probability", lambda: svc.purchase_probability("counted", ["p0", "p13"])),
    ):
        statements.pop(me, None)
        call()
        out[name] = [" ".join(s.lower().split()) for s in statements.pop(me, [])]
    return out


def _assert_request_path_only(by_call: dict[str, list[str]]) -> None:
    def is_shopper_query(sql: str) -> bool:
        return "from shoppers" in sql and "events" in sql and "cart_items" in sql

    def is_stock_check(sql: str) -> bool:
        return sql.startswith("select products.id, products.stock, products.price from products")

    recommend = by_call["recommend"]
    assert len(recommend) == 2, recommend
    assert is_shopper_query(recommend[0]) and is_stock_check(recommend[1]), recommend
    for name in ("similar_items", "bundle"):
        assert len(by_call[name]) == 1 and is_stock_check(by_call[name][0]), by_call[name]
    assert len(by_call["purchase_probability"]) == 1
    assert is_shopper_query(by_call["purchase_probability"][0])


def test_a_request_never_reloads_the_catalogue_while_the_refresher_runs(
    counted: tuple[sessionmaker, dict[int, list[str]]],
) -> None:
    """Background refresh every 10 ms: many periods pass, the refresher queries the database
    from its own thread, and a request still issues only its shopper query and stock check."""
    factory, statements = counted
    with RecommenderService(factory, refresh_seconds=0.01) as svc:
        me = threading.get_ident()
        _wait_for(
            lambda: sum(len(v) for k, v in list(statements.items()) if k != me) >= 10,
            "the background refresher to query the database",
        )
        for _ in range(3):
            _assert_request_path_only(_request_statements(svc, statements))


def test_a_request_never_reloads_the_catalogue_however_long_since_the_last_refresh(
    counted: tuple[sessionmaker, dict[int, list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the background thread the snapshot just gets older: a request long after
    REFRESH_SECONDS still does not reload anything itself."""
    factory, statements = counted
    with RecommenderService(factory, background_refresh=False) as svc:
        later = time.time() + 3600.0
        clock = SimpleNamespace(
            time=lambda: later,
            monotonic=lambda: later,
            perf_counter=time.perf_counter,
        )
        monkeypatch.setattr("recommender.service.time", clock)
        _assert_request_path_only(_request_statements(svc, statements))


def test_a_failing_refresh_is_logged_and_retried(
    shop: tuple[sessionmaker, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    factory, _ = shop
    broken = threading.Event()

    def flaky() -> Session:
        if broken.is_set():
            raise RuntimeError("database briefly unreachable")
        return factory()

    caplog.set_level(logging.ERROR, logger="recommender.service")
    with RecommenderService(flaky, refresh_seconds=0.01) as svc:  # type: ignore[arg-type]
        broken.set()
        with session_scope(factory) as s:
            s.add(_product("tablet", "平板", "华为", days_old=1))
        _wait_for(
            lambda: sum("refresh failed" in r.getMessage() for r in caplog.records) >= 2,
            "two failed refreshes to be logged",
        )
        assert "tablet" not in svc._state.catalog.items.index
        broken.clear()
        _wait_for(
            lambda: "tablet" in _ids(svc.recommend(None, 3, filters=Filters(category="平板"))),
            "the refresh after the outage to bring the tablet",
        )
        thread = svc._thread
        assert thread is not None and thread.is_alive()
    assert not thread.is_alive()  # leaving the context stopped it


def test_a_service_nobody_holds_stops_its_refresher(
    shop: tuple[sessionmaker, dict[str, str]],
) -> None:
    factory, _ = shop
    svc = RecommenderService(factory, refresh_seconds=0.01)
    thread = svc._thread
    assert thread is not None and thread.is_alive()
    del svc
    import gc

    gc.collect()
    _wait_for(lambda: not thread.is_alive(), "the refresher of a dropped service to end")


def test_a_new_service_answers_at_once_from_the_snapshot_built_at_start(
    shop: tuple[sessionmaker, dict[str, str]],
) -> None:
    factory, category_of = shop
    with RecommenderService(factory, refresh_seconds=3600.0) as svc:
        ids = _ids(svc.recommend(None, 5, filters=Filters(category="零食")))
    assert len(ids) == 5 and {category_of[i] for i in ids} == {"零食"}
