"""Hostile and malformed input against the real stack: a clear reply, never a 500, nothing lost.

REST callers are machines: they get a 4xx JSON reason for what can never be a message. Shoppers in
the storefront widget (Socket.IO) get a short Chinese answer instead, or silence for an empty
message. Whatever the text, the conversation goes on afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from sqlalchemy import func, select

from actions.shop import SORRY
from bot.channels.turns import SILENT_TEXT, SLOW_TEXT
from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import CartItem, Event, Product
from tests.channels import catalogue
from tests.channels.conftest import REST_TOKENS, start_storefront
from tests.reliability.conftest import Stack, products_of, texts_of, user_texts

pytestmark = pytest.mark.slow

FAILURES = (SORRY, SILENT_TEXT, SLOW_TEXT)


@pytest.fixture(scope="module")
def warm(stack: Stack) -> Stack:
    """A search and a product question first, so the timed turns below do not pay for a cold
    start (another module may just have restarted the action server)."""
    for _ in range(15):
        found = products_of(stack.say("rel-warm-up", "想买跑鞋"))
        detail = texts_of(stack.say("rel-warm-up", "第一个多少钱"))
        if found and "价格" in detail:
            return stack
        time.sleep(2)
    pytest.fail(f"the stack never answered a search and a product question: {detail}")


def polite(resp: requests.Response) -> str:
    """The reply text of a turn that worked: 200, something to read, no apology for a failure."""
    assert resp.status_code == 200, resp.text
    text = texts_of(resp).strip()
    assert text, resp.text
    assert not any(f in text for f in FAILURES), text
    return text


def slot_values(stack: Stack, sender: str, name: str) -> list[Any]:
    return [
        e.get("value")
        for e in stack.tracker_events(sender)
        if e.get("event") == "slot" and e.get("name") == name
    ]


def shop(stack: Stack) -> Any:
    return make_session_factory(make_engine(stack.db_url))


def raw_post(stack: Stack, body: bytes, content_type: str) -> requests.Response:
    return requests.post(
        f"{stack.rasa[0].url}/webhooks/rest/webhook",
        data=body,
        headers={"Authorization": f"Bearer {REST_TOKENS[0]}", "Content-Type": content_type},
        timeout=30,
    )


# --- odd but valid messages ---------------------------------------------------------------------


def test_emoji_only_gets_a_polite_reply(warm: Stack, sender: str) -> None:
    polite(warm.say(sender, "😀😀😀"))


def test_mixed_chinese_english_and_digits_with_spaces(warm: Stack, sender: str) -> None:
    resp = warm.say(sender, "想买 nike 跑鞋 42 码 500 以内")
    polite(resp)
    items = products_of(resp)
    assert items, resp.text
    assert all(item["id"].startswith("shoe-") for item in items), items
    assert all(item["price"] <= 500 for item in items), items


def test_markup_in_a_message_is_never_echoed_as_markup(warm: Stack, sender: str) -> None:
    resp = warm.say(sender, "<script>alert(1)</script>想买跑鞋")
    polite(resp)
    assert "<script" not in resp.text.lower() and "<img" not in resp.text.lower(), resp.text


def test_markup_or_sql_alone_is_not_taken_for_a_request(warm: Stack, sender: str) -> None:
    assert products_of(warm.say(sender, "想买跑鞋"))
    for hostile in ("<script>alert(1)</script>", "'; DROP TABLE products; --"):
        resp = warm.say(sender, hostile)
        polite(resp)
        # Both used to be read as searches: the running shoes came back, category carried over.
        assert not products_of(resp), (hostile, resp.text)


def test_sql_like_text_is_just_text(warm: Stack, sender: str) -> None:
    factory = shop(warm)
    with factory() as s:
        before = s.scalar(select(func.count()).select_from(Product))
    polite(warm.say(sender, "想买'; DROP TABLE products;-- 的跑鞋"))
    polite(warm.say(sender, '看看"1" OR 1=1 的手机'))
    with factory() as s:
        assert (
            s.scalar(select(func.count()).select_from(Product)) == before == len(catalogue.PRODUCTS)
        )
        # The text was stored as the shopper's search, verbatim and harmless.
        queries = s.scalars(select(Event.query).where(Event.shopper_id == sender)).all()
    assert any("DROP TABLE" in (q or "") for q in queries), queries


def test_an_absurd_budget_sets_no_price(warm: Stack, sender: str) -> None:
    resp = warm.say(sender, "预算1e99的手机")
    polite(resp)
    # 1e99 used to be read as "1": a 1-yuan ceiling and "no phones under ¥1".
    assert all(v is None for v in slot_values(warm, sender, "price_max")), resp.text
    assert all(item["id"].startswith("phone-") for item in products_of(resp)), resp.text
    assert products_of(resp), resp.text


def test_a_negative_budget_sets_no_price(warm: Stack, sender: str) -> None:
    resp = warm.say(sender, "预算负五百")
    polite(resp)
    # 负五百 used to become "400 to 600 yuan".
    for name in ("price_min", "price_max"):
        assert all(v is None for v in slot_values(warm, sender, name)), (name, resp.text)


def test_unknown_product_id_is_answered_politely(warm: Stack, sender: str) -> None:
    text = polite(warm.say(sender, '/add_to_cart{"product_id": "no-such-id"}'))
    assert "下架" in text or "哪款" in text, text
    with shop(warm)() as s:
        assert s.scalars(select(CartItem).where(CartItem.shopper_id == sender)).all() == []


def test_an_ordinal_past_the_shown_list_asks_which_one(warm: Stack, sender: str) -> None:
    shown = products_of(warm.say(sender, "想买跑鞋"))
    assert shown
    text = polite(warm.say(sender, "第九十九个多少钱"))
    assert f"只展示了{len(shown)}款" in text and "第几个" in text, text


# --- what can never be a message: REST -------------------------------------------------------


def test_a_10000_character_message_gets_a_reason(warm: Stack, sender: str) -> None:
    resp = warm.say(sender, "a" * 10_000)  # 10 KB: under the body limit, over the text limit
    assert resp.status_code == 400, resp.text
    assert "longer than 2000" in resp.json()["reason"]
    resp = warm.say(sender, "鞋" * 10_000)  # 30 KB of UTF-8: over the body limit
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"] == "payload_too_large"


@pytest.mark.parametrize("message", ["", "   ", "\n\t　"])
def test_empty_and_whitespace_messages_get_a_reason(warm: Stack, sender: str, message: str) -> None:
    resp = warm.say(sender, message)
    assert resp.status_code == 400, resp.text
    assert resp.json() == {"error": "bad_request", "reason": "'message' is empty"}


def test_malformed_json_gets_a_reason(warm: Stack) -> None:
    resp = raw_post(warm, b'{"sender": "x", "message": "hi"', "application/json")
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"] == "bad_request"
    assert "malformed JSON" in resp.json()["reason"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"sender=x&message=%E4%BD%A0%E5%A5%BD", "application/x-www-form-urlencoded"),
        (
            b"--b\r\nContent-Disposition: form-data; name=message\r\n\r\nhi\r\n--b--",
            "multipart/form-data; boundary=b",
        ),
        (rb'{"sender": "x", "message": "\u4f60\u597d"}', "text/plain"),
    ],
)
def test_bodies_not_declared_as_json_get_415_with_a_reason(
    warm: Stack, body: bytes, content_type: str
) -> None:
    resp = raw_post(warm, body, content_type)
    assert resp.status_code == 415, resp.text
    assert resp.json()["error"] == "unsupported_media_type"
    assert "application/json" in resp.json()["reason"]


# --- the same over the widget's Socket.IO channel ----------------------------------------------


async def widget_turns(
    url: str, session_id: str, messages: list[tuple[str, float]]
) -> list[list[dict[str, Any]]]:
    """Send each (message, seconds to wait for an answer) from a widget-like client; the bot
    messages that came back after each."""
    client = socketio.AsyncClient(reconnection=False)
    received: list[dict] = []
    confirmed = asyncio.Event()
    client.on("bot_uttered", lambda data: received.append(data))
    client.on("session_confirm", lambda _sid: confirmed.set())
    await client.connect(url, socketio_path="/socket.io", transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(confirmed.wait(), 10)
        replies = []
        for message, wait in messages:
            start = len(received)
            await client.emit("user_uttered", {"message": message, "session_id": session_id})
            deadline = asyncio.get_running_loop().time() + wait
            while asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.2)
                if len(received) > start and any(m.get("text") for m in received[start:]):
                    await asyncio.sleep(0.5)  # the rest of this turn's messages
                    break
            replies.append(received[start:])
        return replies
    finally:
        # A polite disconnect waits out the pending long-poll (up to 25 s); nothing is left to say.
        await client.eio.disconnect(abort=True)
        if client.eio.http is not None:
            await client.eio.http.close()


def test_the_widget_answers_bad_input_in_chinese_and_carries_on(warm: Stack, sender: str) -> None:
    long_text, blank, normal = "鞋" * 10_000, "   ", "想买跑鞋"
    too_long, empty, after = asyncio.run(
        widget_turns(warm.rasa[0].url, sender, [(long_text, 15), (blank, 3), (normal, 30)])
    )
    assert [m.get("text") for m in too_long] == ["消息有点长啦，请控制在2000字以内～"]
    assert empty == []  # an empty message is ignored, as the widget never sends one
    texts = "\n".join(m.get("text") or "" for m in after)
    assert texts and not any(f in texts for f in FAILURES), after
    assert any((m.get("custom") or {}).get("type") == "products" for m in after), after
    # Only the real message reached the conversation.
    assert user_texts(warm.tracker_events(sender)) == [normal]


# --- nothing lost ---------------------------------------------------------------------------------


def test_after_bad_input_the_conversation_goes_on(warm: Stack, sender: str) -> None:
    polite(warm.say(sender, "想买跑鞋"))
    warm.say(sender, "   ")
    warm.say(sender, "鞋" * 10_000)
    raw_post(warm, b'{"sender": "' + sender.encode() + b'", "message": ', "application/json")
    polite(warm.say(sender, "😀😀😀"))
    polite(warm.say(sender, "<script>alert(1)</script>"))
    resp = warm.say(sender, "第二个多少钱")
    text = polite(resp)
    assert "¥" in text or "价格" in text, text
    said = user_texts(warm.tracker_events(sender))
    assert said == ["想买跑鞋", "😀😀😀", "<script>alert(1)</script>", "第二个多少钱"]


# --- the storefront widget shows markup as text ---------------------------------------------


@pytest.fixture
def storefront_on_stack(warm: Stack, tmp_path: Path) -> Iterator[Any]:
    server = start_storefront(warm.db_url, tmp_path, SHOPBOT_RASA_URL=warm.rasa[0].url)
    try:
        yield server
    finally:
        server.stop()


def test_markup_typed_into_the_widget_shows_literally_and_runs_nothing(
    storefront_on_stack: Any, tmp_path: Path
) -> None:
    from tests.channels.browser import browser_page

    hostile = "<img src=x onerror=\"document.title='pwned'\">想买跑鞋"
    with browser_page(tmp_path / "profile") as page:
        page.goto(storefront_on_stack.url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.click("[data-testid=chat-open]")
        page.wait_for_selector("[data-testid=chat-status]:has-text('在线')")
        page.fill("[data-testid=chat-input]", hostile)
        page.click("[data-testid=chat-send]")
        page.wait_for_selector("[data-testid=msg-bot]", timeout=60000)
        assert page.inner_text("[data-testid=msg-user] >> nth=-1").strip() == hostile
        assert page.locator("[data-testid=msg-user] img").count() == 0
        assert page.title() != "pwned"
        assert page.errors == []
