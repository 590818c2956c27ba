"""Real-time targeted offers: rules over live behaviour -> offer engine -> grant -> chat push.

The storefront, its database and the recommender's offer engine are real. Rasa's HTTP API is
played by `RasaApi`, a recorder of `trigger_intent` calls, so these tests can check the exact
request Rasa receives; tests/channels/test_browser.py covers the push through a real Rasa.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import func, select, text

from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import Offer, OfferGrant
from tests.channels import catalogue
from tests.channels.conftest import RASA_TOKEN, Server, start_storefront
from tests.conftest import PG_URL

pytestmark = pytest.mark.slow


class RasaApi:
    """Records POST /conversations/{id}/trigger_intent like Rasa's HTTP API would receive it."""

    def __init__(self) -> None:
        calls = self.calls = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                url = urlparse(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                calls.append({"path": url.path, "query": parse_qs(url.query), "body": body})
                out = b'{"tracker": {}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def for_shopper(self, shopper: str) -> list[dict]:
        return [c for c in self.calls if c["path"] == f"/conversations/{shopper}/trigger_intent"]


@pytest.fixture
def rasa_api() -> Iterator[RasaApi]:
    api = RasaApi()
    yield api
    api.server.shutdown()


def grants(db_url: str, shopper: str | None = None) -> list[OfferGrant]:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as s:
            stmt = select(OfferGrant).order_by(OfferGrant.id)
            if shopper:
                stmt = stmt.where(OfferGrant.shopper_id == shopper)
            return list(s.scalars(stmt))
    finally:
        engine.dispose()


def budget_used(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as s:
            return int(s.scalar(select(Offer.budget_used).where(Offer.id == "shoe-20")))
    finally:
        engine.dispose()


def post(server: Server, path: str, body: dict) -> dict:
    resp = requests.post(f"{server.url}{path}", json=body, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def view(server: Server, shopper: str, product: str, dwell: float | None = None) -> dict:
    body = {"shopper": shopper, "type": "view", "product_id": product}
    if dwell is not None:
        body["dwell_seconds"] = dwell
    return post(server, "/api/events", body)


def chat_open(server: Server, shopper: str, is_open: bool = True) -> None:
    assert post(server, "/api/presence", {"shopper": shopper, "open": is_open})["open"] is is_open


@pytest.fixture
def offer_db(tmp_path: Path) -> str:
    # A generous coupon, so the engine's uplift estimate clears its floor for these shoppers.
    return catalogue.build(tmp_path / "shop.db", kind="percent", amount=50, budget=100)


def start(db_url: str, tmp_path: Path, rasa: RasaApi, **env: str) -> Server:
    return start_storefront(
        db_url,
        tmp_path,
        SHOPBOT_RASA_URL=rasa.url,
        SHOPBOT_RECOMMENDER_SEED="11",
        **env,
    )


def test_repeated_views_push_one_offer_that_is_redeemed_at_checkout(
    offer_db: str, tmp_path: Path, rasa_api: RasaApi
) -> None:
    shop = start(offer_db, tmp_path, rasa_api)
    try:
        shopper = "wshopper-repeat"
        chat_open(shop, shopper)
        assert view(shop, shopper, "shoe-002")["offer"] is None
        assert view(shop, shopper, "shoe-002")["offer"] is None
        third = view(shop, shopper, "shoe-002")
        assert third["offer"] == {"offer_id": "shoe-20", "delivered": True}

        [call] = rasa_api.for_shopper(shopper)
        assert call["query"] == {"output_channel": ["socketio"], "token": [RASA_TOKEN]}
        assert call["body"]["name"] == "EXTERNAL_offer"
        entities = call["body"]["entities"]
        assert entities["offer_id"] == "shoe-20"
        assert entities["offer_trigger"] == "repeat_views"
        assert entities["product_id"] == "shoe-002"
        assert "跑鞋立减20元" in entities["offer_text"]

        [grant] = grants(offer_db, shopper)
        assert (grant.offer_id, grant.channel, grant.redeemed_at) == ("shoe-20", "socketio", None)
        assert entities["grant_id"] == grant.id

        # Cooldown: more views do not spam another offer.
        assert view(shop, shopper, "shoe-002")["offer"] is None
        assert len(rasa_api.for_shopper(shopper)) == 1

        cart = post(shop, "/api/cart", {"shopper": shopper, "product_id": "shoe-002"})
        assert [c["title"] for c in cart["coupons"]] == ["跑鞋立减20元"]
        order = post(shop, "/api/checkout", {"shopper": shopper})
        assert order["discount"] == pytest.approx(229.5)
        assert order["total"] == pytest.approx(229.5)
        [grant] = grants(offer_db, shopper)
        assert grant.redeemed_at is not None and grant.order_id == order["order_id"]
    finally:
        shop.stop()


def test_no_push_without_an_open_chat(offer_db: str, tmp_path: Path, rasa_api: RasaApi) -> None:
    shop = start(offer_db, tmp_path, rasa_api)
    try:
        shopper = "wshopper-closed"
        chat_open(shop, shopper)
        chat_open(shop, shopper, False)
        for _ in range(4):
            assert view(shop, shopper, "shoe-002")["offer"] is None
        assert rasa_api.for_shopper(shopper) == []
        assert grants(offer_db, shopper) == []
    finally:
        shop.stop()


def test_dwell_in_a_category_and_an_abandoned_cart_trigger_offers(
    offer_db: str, tmp_path: Path, rasa_api: RasaApi
) -> None:
    shop = start(
        offer_db,
        tmp_path,
        rasa_api,
        SHOPBOT_OFFER_ABANDONED_CART_MINUTES="0.02",
        SHOPBOT_OFFER_SWEEP_SECONDS="0.5",
    )
    try:
        dweller = "wshopper-dwell"
        chat_open(shop, dweller)
        assert view(shop, dweller, "shoe-001", dwell=50)["offer"] is None
        pushed = view(shop, dweller, "shoe-003", dwell=45)["offer"]
        assert pushed is not None and pushed["offer_id"] == "shoe-20"
        assert (
            rasa_api.for_shopper(dweller)[0]["body"]["entities"]["offer_trigger"]
            == "category_dwell"
        )

        leaver = "wshopper-cart"
        chat_open(shop, leaver)
        post(shop, "/api/cart", {"shopper": leaver, "product_id": "shoe-004"})
        deadline = time.monotonic() + 20
        while not rasa_api.for_shopper(leaver) and time.monotonic() < deadline:
            time.sleep(0.3)
        [call] = rasa_api.for_shopper(leaver)
        assert call["body"]["entities"]["offer_trigger"] == "abandoned_cart"
        assert call["body"]["entities"]["product_id"] == "shoe-004"
        time.sleep(1.5)  # later sweeps do not offer again for the same cart
        assert len(rasa_api.for_shopper(leaver)) == 1
    finally:
        shop.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def contended_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A shop with a 3-grant budget, on SQLite and on the PostgreSQL server."""
    if request.param == "sqlite":
        yield catalogue.build(tmp_path / "shop.db", kind="percent", amount=50, budget=3)
        return
    admin = request.getfixturevalue("pg_admin_engine")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        yield catalogue.build(url, kind="percent", amount=50, budget=3)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def test_budget_and_per_shopper_cap_hold_under_concurrency(
    contended_db: str, tmp_path: Path, rasa_api: RasaApi
) -> None:
    db = contended_db
    shop = start(db, tmp_path, rasa_api, SHOPBOT_OFFER_COOLDOWN_MINUTES="0")
    try:
        shoppers = [f"wconcurrent-{i:02d}" for i in range(8)]
        for s in shoppers:
            chat_open(shop, s)
            view(shop, s, "shoe-002")
            view(shop, s, "shoe-002")
        # Everyone's third view lands at once, and one shopper hammers the endpoint.
        greedy = ["wconcurrent-00"] * 5
        with ThreadPoolExecutor(max_workers=13) as pool:
            results = list(pool.map(lambda s: view(shop, s, "shoe-002"), shoppers + greedy))
        offered = [r for r in results if r["offer"]]
        all_grants = grants(db)
        assert len(all_grants) == 3 == budget_used(db) == len(offered)
        assert len({g.shopper_id for g in all_grants}) == 3  # nobody holds two
        assert len(rasa_api.calls) == 3
    finally:
        shop.stop()


def test_grants_table_matches_budget_after_the_run(tmp_path: Path, rasa_api: RasaApi) -> None:
    """A refused grant must give its budget unit back (no leak under contention)."""
    db = catalogue.build(tmp_path / "shop.db", kind="percent", amount=50, budget=50, cap=1)
    shop = start(db, tmp_path, rasa_api, SHOPBOT_OFFER_COOLDOWN_MINUTES="0")
    try:
        shopper = "wsame-shopper"
        chat_open(shop, shopper)
        view(shop, shopper, "shoe-002")
        view(shop, shopper, "shoe-002")
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: view(shop, shopper, "shoe-002"), range(8)))
        engine = make_engine(db)
        with make_session_factory(engine)() as s:
            count = s.scalar(select(func.count(OfferGrant.id)))
        engine.dispose()
        assert count == 1 == budget_used(db)
    finally:
        shop.stop()
