"""The whole stack in a real browser: storefront + widget -> Rasa (trained model, our channels)
-> action server -> recommender -> database, and proactive offers back through trigger_intent.

Starts `rasa run` and `python -m rasa_sdk` exactly as `shopbot run` does, on free loopback ports,
with the project's bot/credentials.yml and a model from bot.training.train_rasa(fast=True).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import select

from shopbot import services
from shopbot.config import PROJECT_ROOT
from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import OfferGrant, Order
from tests.channels import catalogue
from tests.channels.browser import browser_page, screenshot
from tests.channels.conftest import (
    RASA_TOKEN,
    REST_TOKENS,
    Server,
    channel_env,
    free_port,
    start_storefront,
)

pytestmark = pytest.mark.slow

BUDGET_QUESTION = "想买双跑鞋 500以内"


class Stack:
    def __init__(self, db_url: str, rasa: Server, actions: Server, shop: Server) -> None:
        self.db_url, self.rasa, self.actions, self.shop = db_url, rasa, actions, shop


def domain_intents() -> set[str]:
    domain = yaml.safe_load((PROJECT_ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    return set(domain.get("intents") or [])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    try:
        from bot.training import train_rasa
    except ImportError as exc:
        pytest.skip(f"bot.training is not available yet: {exc}")
    model = train_rasa(fast=True)
    tmp = tmp_path_factory.mktemp("stack")
    db_url = catalogue.build(tmp / "shop.db", kind="percent", amount=50)
    common = {
        "DATABASE_URL": db_url,
        "SHOPBOT_VAR_DIR": str(tmp),
        "SHOPBOT_ARTIFACTS": str(tmp / "artifacts"),
        "TRACKER_STORE_URL": f"sqlite:///{tmp / 'tracker.db'}",
    }
    servers: list[Server] = []
    try:
        # The same command lines `shopbot run` uses, on ports of our own.
        actions_port, rasa_port = free_port(), free_port()
        actions_cmd = services.action_server(actions_port)
        actions = Server(
            "actions", actions_cmd.argv, {**common, **actions_cmd.env}, tmp, actions_port
        )
        servers.append(actions)
        endpoints = tmp / "endpoints.yml"
        endpoints.write_text(
            yaml.safe_dump(
                {
                    "action_endpoint": {"url": f"{actions.url}/webhook"},
                    "tracker_store": {"type": "bot.tracker_store.ShopTrackerStore"},
                    "lock_store": {"type": "in_memory"},
                }
            ),
            encoding="utf-8",
        )
        rasa_cmd = services.rasa_server(
            model, port=rasa_port, token=RASA_TOKEN, endpoints=str(endpoints)
        )
        rasa = Server(
            "rasa",
            rasa_cmd.argv,
            {**common, **channel_env(), "PYTHONPATH": str(PROJECT_ROOT)},
            tmp,
            rasa_port,
        )
        servers.append(rasa)
        actions.wait(120)
        rasa.wait(300)
        shop = start_storefront(
            db_url, tmp, SHOPBOT_RASA_URL=rasa.url, SHOPBOT_RECOMMENDER_SEED="11"
        )
        servers.append(shop)
        yield Stack(db_url, rasa, actions, shop)
    finally:
        for server in reversed(servers):
            server.stop()


def card_prices(page) -> list[float]:
    return [
        float(p)
        for p in page.eval_on_selector_all(
            "[data-testid=msg-products] >> nth=-1 >> [data-testid=chat-card]",
            "els => els.map(e => e.dataset.price)",
        )
    ]


def test_rest_webhook_answers_with_product_payload(stack: Stack) -> None:
    resp = requests.post(
        f"{stack.rasa.url}/webhooks/rest/webhook",
        json={"sender": "rest-stack-1", "message": BUDGET_QUESTION},
        headers={"Authorization": f"Bearer {REST_TOKENS[1]}"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    payloads = [m["custom"] for m in resp.json() if m.get("custom", {}).get("type") == "products"]
    assert payloads, resp.json()
    items = payloads[0]["items"]
    assert items and all(item["price"] <= 500 for item in items)
    unauth = requests.post(
        f"{stack.rasa.url}/webhooks/rest/webhook",
        json={"sender": "x", "message": BUDGET_QUESTION},
        timeout=30,
    )
    assert unauth.status_code == 401


def open_chat_and_search(page, stack: Stack) -> None:
    page.goto(stack.shop.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("[data-testid=recs] [data-testid=tile]")
    page.click("[data-testid=chat-open]")
    page.wait_for_selector("[data-testid=chat-status]:has-text('在线')")
    page.fill("[data-testid=chat-input]", BUDGET_QUESTION)
    page.click("[data-testid=chat-send]")
    page.wait_for_selector("[data-testid=msg-products] [data-testid=chat-card]", timeout=60000)


def test_shopping_in_the_browser(stack: Stack, tmp_path: Path) -> None:
    with browser_page(tmp_path / "profile") as page:
        open_chat_and_search(page, stack)
        prices = card_prices(page)
        assert prices and all(p <= 500 for p in prices), prices
        ids = page.eval_on_selector_all(
            "[data-testid=chat-card]", "els => els.map(e => e.dataset.productId)"
        )
        assert all(i.startswith("shoe-") for i in ids), ids  # 跑鞋 means the shoe category
        screenshot(page, "stack-cards")

        page.locator("[data-testid=chat-card] [data-testid=card-add]").first.click()
        page.wait_for_selector("[data-testid=cart-count]:has-text('1')")

        before = page.eval_on_selector_all(
            "[data-testid=recs] [data-testid=tile]", "els => els.map(e => e.dataset.productId)"
        )
        version = page.get_attribute("[data-testid=recs]", "data-version")
        page.evaluate("location.hash = '#/p/phone-001'")
        page.wait_for_selector("[data-testid=detail][data-product-id=phone-001]")
        page.wait_for_function(
            "v => document.querySelector('[data-testid=recs]').dataset.version !== v", arg=version
        )
        after = page.eval_on_selector_all(
            "[data-testid=recs] [data-testid=tile]", "els => els.map(e => e.dataset.productId)"
        )
        assert after != before
        screenshot(page, "storefront-chat-rasa")
        assert page.errors == []


def say_in_chat(page, text: str, expect: str) -> None:
    page.fill("[data-testid=chat-input]", text)
    page.click("[data-testid=chat-send]")
    page.wait_for_selector(f"[data-testid=msg-bot]:has-text('{expect}')", timeout=60000)


def test_cart_changes_and_checkout_in_the_chat(stack: Stack, tmp_path: Path) -> None:
    with browser_page(tmp_path / "profile") as page:
        open_chat_and_search(page, stack)
        shopper = page.evaluate("localStorage.getItem('shopbot.shopper')")
        cards = page.locator("[data-testid=chat-card]")
        wanted = [cards.nth(n).get_attribute("data-product-id") for n in (0, 1)]
        cards.nth(0).locator("[data-testid=card-add]").click()
        page.wait_for_selector("[data-testid=cart-count]:has-text('1')")
        cards.nth(1).locator("[data-testid=card-add]").click()
        page.wait_for_selector("[data-testid=cart-count]:has-text('2')")

        say_in_chat(page, "看看购物车", "购物车里有2件")
        say_in_chat(page, "第二个不要了", "已从购物车删掉")
        # The storefront's own cart follows what the chat did.
        page.wait_for_selector("[data-testid=cart-count]:has-text('1')")

        say_in_chat(page, "去结算", "确认下单吗？共1件")
        screenshot(page, "chat-checkout")
        page.locator(".quick-reply:has-text('确认下单')").last.click()
        page.wait_for_selector("[data-testid=msg-bot]:has-text('下单成功')", timeout=60000)
        page.wait_for_selector("[data-testid=cart-count]:has-text('0')")
        assert page.errors == []

    engine = make_engine(stack.db_url)
    with make_session_factory(engine)() as s:
        [order] = s.scalars(select(Order).where(Order.shopper_id == shopper)).all()
        bought = [i.product_id for i in order.items]
    engine.dispose()
    assert bought == [wanted[0]]


def test_proactive_offer_reaches_the_open_chat_and_is_redeemed(
    stack: Stack, tmp_path: Path
) -> None:
    if "EXTERNAL_offer" not in domain_intents():
        pytest.skip("bot/domain.yml has no EXTERNAL_offer intent / action_push_offer yet")
    with browser_page(tmp_path / "profile") as page:
        page.goto(stack.shop.url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("[data-testid=chat-status]:has-text('在线')", state="attached")
        shopper = page.evaluate("localStorage.getItem('shopbot.shopper')")
        for _ in range(3):
            page.evaluate("location.hash = '#/p/shoe-002'")
            page.wait_for_selector("[data-testid=detail][data-product-id=shoe-002]")
            page.evaluate("location.hash = '#/'")
            page.wait_for_selector("[data-testid=grid]")
        # The offer arrives unasked, in the chat, while the panel is still closed.
        page.wait_for_selector("[data-testid=msg-offer]", state="attached", timeout=30000)
        page.click("[data-testid=chat-open]")
        assert "跑鞋立减20元" in page.inner_text("[data-testid=msg-offer]")
        # Shown once, as the card: the plain-text twin is for channels without cards.
        assert page.inner_text("[data-testid=chat-log]").count("约省") == 1
        screenshot(page, "proactive-offer")

        engine = make_engine(stack.db_url)
        factory = make_session_factory(engine)
        with factory() as s:
            [grant] = s.scalars(select(OfferGrant).where(OfferGrant.shopper_id == shopper)).all()
        assert grant.channel == "socketio" and grant.redeemed_at is None

        page.evaluate("location.hash = '#/p/shoe-002'")
        page.click("[data-testid=detail-add]")
        page.wait_for_selector("[data-testid=cart-count]:has-text('1')")
        page.evaluate("location.hash = '#/cart'")
        page.wait_for_selector("[data-testid=coupons]")
        page.click("[data-testid=checkout]")
        page.wait_for_selector("[data-testid=order-done]")
        assert "已优惠" in page.inner_text("[data-testid=order-done]")
        with factory() as s:
            grant = s.get(OfferGrant, grant.id)
        engine.dispose()
        assert grant.redeemed_at is not None and grant.order_id


def test_external_event_reaches_the_shoppers_open_chat(stack: Stack, tmp_path: Path) -> None:
    """The proactive path itself: trigger_intent with output_channel=socketio lands in the room
    of the page's shopper id, so a pushed message shows up without the shopper typing."""
    with browser_page(tmp_path / "profile") as page:
        page.goto(stack.shop.url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.click("[data-testid=chat-open]")
        page.wait_for_selector("[data-testid=chat-status]:has-text('在线')")
        shopper = page.evaluate("localStorage.getItem('shopbot.shopper')")
        url = f"{stack.rasa.url}/conversations/{shopper}/trigger_intent"
        body = {"name": "greet", "entities": {}}
        refused = requests.post(url, params={"output_channel": "socketio"}, json=body, timeout=30)
        assert refused.status_code == 401  # the HTTP API keeps its token
        resp = requests.post(
            url,
            params={"output_channel": "socketio", "token": RASA_TOKEN},
            json=body,
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        page.wait_for_selector("[data-testid=msg-bot]", timeout=30000)
        assert page.inner_text("[data-testid=msg-bot] >> nth=0").strip()
        assert page.locator("[data-testid=msg-user]").count() == 0


def test_action_server_listens_on_loopback_only(stack: Stack) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent; this only picks the outward address
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback address to test against")
    with socket.socket() as sock:
        sock.settimeout(2)
        assert sock.connect_ex((address, stack.actions.port)) != 0
    with socket.socket() as sock:
        sock.settimeout(2)
        assert sock.connect_ex(("127.0.0.1", stack.actions.port)) == 0
