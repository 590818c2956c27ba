"""Reply formatting: short Chinese text, the rich `products` payload and quick replies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shopbot.db.models import Offer, Product

PRODUCT_BUTTONS = [
    {"title": "加入购物车", "payload": "/add_to_cart"},
    {"title": "看相似", "payload": "/ask_similar"},
    {"title": "换一批", "payload": "/refine_search"},
]
RELAXED_NAMES = {
    "audience": "适用人群",
    "color": "颜色",
    "size": "尺码",
    "brands": "品牌",
    "price": "价格",
    "category": "品类",
}


def yuan(value: float | None) -> str:
    if value is None:
        return ""
    return f"¥{value:.0f}" if float(value).is_integer() else f"¥{value:.2f}"


def offer_label(offer: Offer) -> str:
    amount = float(offer.amount)
    if offer.kind == "percent":
        return f"{(100 - amount) / 10:g}折"
    if offer.kind == "threshold" or float(offer.threshold or 0) > 0:
        return f"满{float(offer.threshold):.0f}减{amount:.0f}"
    return f"立减{amount:.0f}元"


def offer_name(offer: Offer) -> str:
    """The offer's title with its terms, unless the title already says them (全场满300减40)."""
    label = offer_label(offer)
    return offer.title if label in offer.title else f"{offer.title}（{label}）"


def product_card(product: Product, reason: str | None, offer: str | None) -> dict[str, Any]:
    return {
        "id": product.id,
        "title": product.title,
        "price": float(product.price),
        "list_price": float(product.list_price),
        "image": product.image,
        "reason": reason or "",
        "offer": offer,
    }


def products_text(intro: str, cards: Sequence[dict[str, Any]]) -> str:
    """The plain-text version of a product reply, for channels without rich cards."""
    lines = [intro]
    for n, card in enumerate(cards, start=1):
        price = yuan(card["price"])
        if card["list_price"] > card["price"]:
            price += f"（原价{yuan(card['list_price'])}）"
        extra = f"，{card['offer']}" if card.get("offer") else ""
        lines.append(f"{n}. {card['title']} {price}{extra}")
        if card.get("reason"):
            lines.append(f"   {card['reason']}")
    return "\n".join(lines)


def products_payload(cards: Sequence[dict[str, Any]], query: dict[str, Any]) -> dict[str, Any]:
    return {"type": "products", "items": list(cards), "query": query}


def describe_query(query: dict[str, Any]) -> str:
    """'耐克 · 运动鞋 · 黑色 · ¥300-500' for the constraints the shopper stated."""
    parts = []
    for key in ("brand", "category", "color", "size"):
        if query.get(key):
            parts.append(
                str(query[key]) + ("码" if key == "size" and str(query[key]).isdigit() else "")
            )
    lo, hi = query.get("price_min"), query.get("price_max")
    if lo is not None and hi is not None:
        parts.append(f"{yuan(lo)}-{yuan(hi)}")
    elif hi is not None:
        parts.append(f"{yuan(hi)}以内")
    elif lo is not None:
        parts.append(f"{yuan(lo)}以上")
    # With one brand asked for, the brands turned down earlier say nothing more.
    if query.get("exclude_brands") and not query.get("brand"):
        parts.append("不要" + "、".join(query["exclude_brands"]))
    return " · ".join(parts)
