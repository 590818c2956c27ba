"""Product cards for channels that cannot show them: text with links, or WeChat news articles.

The bot's rich answers carry a `custom` payload:
  {"type": "products", "text"?: str, "items": [{id, title, price, list_price, image, url,
    reason, offer: {title, text} | str | null}, ...]}
  {"type": "offer", "offer_id", "title", "text", ...}
Channels without cards get the same information as plain text and absolute links.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from rasa.core.channels.channel import OutputChannel, UserMessage

MAX_ITEMS = 8
OWN_TYPES = ("products", "offer", "handoff")


def public_base_url() -> str:
    """Where shoppers can open the storefront; links in text replies point there."""
    return os.environ.get("SHOPBOT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")


def absolute(url: str | None, base: str) -> str | None:
    if not url or not isinstance(url, str):
        return None
    if url.startswith(("http://", "https://")):
        return url
    if url.startswith("/") and not url.startswith("//"):
        return base + url
    return None


def _money(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return f"¥{number:.0f}" if number == int(number) else f"¥{number:.2f}"


def offer_line(offer: Any) -> str | None:
    if isinstance(offer, str):
        return offer or None
    if isinstance(offer, dict):
        return offer.get("text") or offer.get("title") or None
    return None


def item_url(item: dict[str, Any], base: str) -> str | None:
    return absolute(item.get("url"), base) or (
        f"{base}/#/p/{quote(str(item['id']), safe='')}" if item.get("id") else None
    )


def products_text(custom: dict[str, Any], base: str | None = None) -> str:
    base = base or public_base_url()
    lines = [custom["text"]] if isinstance(custom.get("text"), str) and custom["text"] else []
    for n, item in enumerate(_items(custom), start=1):
        price = _money(item.get("price"))
        was = item.get("list_price")
        if was is not None and _money(was) and float(was) > float(item.get("price") or 0):
            price += f"（原价{_money(was)}）"
        lines.append(f"{n}. {item.get('title', '')} {price}".rstrip())
        if item.get("reason"):
            lines.append(f"   {item['reason']}")
        offer = offer_line(item.get("offer"))
        if offer:
            lines.append(f"   🎁 {offer}")
        url = item_url(item, base)
        if url:
            lines.append(f"   {url}")
    return "\n".join(lines)


def offer_text(custom: dict[str, Any]) -> str:
    title = custom.get("title") or "专属优惠"
    text = custom.get("text") or ""
    return f"🎁 {title}：{text}" if text else f"🎁 {title}"


def _items(custom: dict[str, Any]) -> list[dict[str, Any]]:
    items = custom.get("items")
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict)][:MAX_ITEMS]


def as_text(custom: Any, base: str | None = None) -> str | None:
    """Plain-text rendering of a known custom payload; None for payloads we do not know."""
    if not isinstance(custom, dict):
        return None
    if custom.get("type") == "products":
        return products_text(custom, base)
    if custom.get("type") == "offer":
        return offer_text(custom)
    return None


def flatten(message: dict[str, Any], base: str | None = None) -> dict[str, Any]:
    """A bot message with its product/offer payload folded into the text.

    The actions send a product reply as text (a plain list, for exactly these channels) plus the
    card payload; the text's first line is the intro and the rest is rebuilt here with links.
    Payloads of our own types are never passed on: a platform would reject or misread them.
    """
    message = dict(message)
    custom = message.get("custom")
    if not isinstance(custom, dict) or custom.get("type") not in OWN_TYPES:
        return message
    message.pop("custom")
    text = message.get("text") or ""
    if custom["type"] == "products":
        intro = text.split("\n", 1)[0] if text else custom.get("text")
        message["text"] = products_text({**custom, "text": intro}, base)
    elif custom["type"] == "offer" and not text:
        message["text"] = offer_text(custom)
    return message


class CardsAsText(OutputChannel):
    """Wraps a platform's output channel and turns product/offer payloads into text + links."""

    def __init__(self, inner: OutputChannel, base_url: str | None = None) -> None:
        self.inner = inner
        self.base_url = base_url

    def name(self) -> str:  # type: ignore[override]
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self.inner.send_response(recipient_id, flatten(message, self.base_url))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.inner.send_text_message(recipient_id, text, **kwargs)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        text = as_text(json_message, self.base_url)
        if text is not None:
            await self.inner.send_text_message(recipient_id, text)
        else:
            await self.inner.send_custom_json(recipient_id, json_message, **kwargs)


def degrade_cards(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Callable[[UserMessage], Awaitable[Any]]:
    """An on_new_message handler whose replies go out with cards rendered as text."""

    async def handler(message: UserMessage) -> Any:
        if not isinstance(message.output_channel, CardsAsText):
            message.output_channel = CardsAsText(message.output_channel)
        return await on_new_message(message)

    return handler
