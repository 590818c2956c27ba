"""The storefront and chat widget in a real browser, talking Socket.IO to our Rasa channel.

The dialogue engine here is tests/channels/channel_server.py's CardBot (one text and one product
card per message), so this test is about the page, the widget and the socket channel; the
complete shopping conversation with the trained bot is tests/channels/test_stack_browser.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.channels.browser import browser_page, screenshot
from tests.channels.conftest import Server, start_storefront

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(shop_db: str, tmp_path: Path, channel_server: Server) -> Iterator[Server]:
    server = start_storefront(shop_db, tmp_path, SHOPBOT_RASA_URL=channel_server.url)
    try:
        yield server
    finally:
        server.stop()


def strip_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "[data-testid=recs] [data-testid=tile]", "els => els.map(e => e.dataset.productId)"
    )


def test_widget_cards_cart_and_recommendations(
    shop: Server, channel_server: Server, tmp_path: Path
) -> None:
    with browser_page(tmp_path / "profile") as page:
        page.goto(shop.url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("[data-testid=recs] [data-testid=tile]")
        assert page.inner_text("[data-testid=cart-count]") == "0"
        shopper = page.evaluate("localStorage.getItem('shopbot.shopper')")

        # Viewing a product changes 猜你喜欢 at once, to what the recommender now says.
        before = strip_ids(page)
        version = page.get_attribute("[data-testid=recs]", "data-version")
        page.click("[data-testid=tile][data-product-id=phone-002]")
        page.wait_for_selector("[data-testid=detail][data-product-id=phone-002]")
        page.wait_for_function(
            "v => document.querySelector('[data-testid=recs]').dataset.version !== v", arg=version
        )
        after = strip_ids(page)
        assert after != before
        live = requests.get(
            f"{shop.url}/api/recommendations", params={"shopper": shopper, "k": 8}, timeout=10
        ).json()
        assert after == [p["id"] for p in live["items"]]
        page.evaluate("location.hash = '#/'")

        page.click("[data-testid=chat-open]")
        page.wait_for_selector("[data-testid=chat-status]:has-text('在线')")
        typed = "<b>想买跑鞋</b> 500以内"
        page.fill("[data-testid=chat-input]", typed)
        page.click("[data-testid=chat-send]")
        page.wait_for_selector("[data-testid=chat-card]")

        # Text from the shopper and the bot is shown as text, never parsed as markup.
        assert page.inner_text("[data-testid=msg-user] >> nth=-1") == typed
        assert page.locator("[data-testid=chat-log] b").count() == 0
        assert page.inner_text("[data-testid=msg-bot] >> nth=-1") == f"echo: {typed}"
        card = page.locator("[data-testid=chat-card]").first
        assert card.get_attribute("data-product-id") == "shoe-001"
        assert card.locator("[data-testid=card-price]").inner_text() == "¥299"
        assert "下单立减20元" in card.inner_text()
        assert card.locator("img").get_attribute("src") == "/images/products/shoe-001.svg"
        screenshot(page, "widget-cards")

        # The socket session is the shopper: Rasa saw the page's shopper id as the sender.
        seen = requests.get(f"{channel_server.url}/test/seen", timeout=10).json()
        assert {"sender": shopper, "text": typed, "channel": "socketio"} in seen

        card.locator("[data-testid=card-add]").click()
        page.wait_for_selector("[data-testid=cart-count]:has-text('1')")
        cart = requests.get(f"{shop.url}/api/cart", params={"shopper": shopper}, timeout=10).json()
        assert [i["id"] for i in cart["items"]] == ["shoe-001"]

        # 看相似 goes to the bot as an intent with the product, shown to the shopper in words.
        card.locator("[data-testid=card-similar]").click()
        page.wait_for_selector("[data-testid=msg-user]:has-text('看相似：轻跑 透气跑步鞋')")

        page.evaluate("location.hash = '#/p/phone-002'")
        page.wait_for_selector("[data-testid=detail][data-product-id=phone-002]")
        assert page.inner_text("[data-testid=detail] .attrs") == "颜色：银色"
        service = page.inner_text("[data-testid=detail-service]")
        assert service.startswith("服务：包邮 · 7天无理由退货 · 保修1年"), service
        screenshot(page, "storefront-chat")

        page.click("[data-testid=detail-add]")
        page.wait_for_selector("[data-testid=cart-count]:has-text('2')")
        page.evaluate("location.hash = '#/cart'")
        page.click("[data-testid=checkout]")
        try:
            page.wait_for_selector("[data-testid=order-done]", timeout=10000)
        finally:
            screenshot(page, "checkout")
        assert page.inner_text("[data-testid=cart-count]") == "0"
        assert page.errors == []
