"""Chinese reasons for every recommendation, written by the component that put the item there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _short(title: str, limit: int = 14) -> str:
    title = title.strip()
    return title if len(title) <= limit else title[: limit - 1] + "…"


def reason_for(source: str, **info: Any) -> str:
    """A short, friendly sentence for `source`; `info` carries the anchor item title etc."""
    anchor = _short(str(info.get("anchor") or ""))
    category = str(info.get("category") or "")
    if source in ("cf_user", "user_pearson"):
        return "和你口味相近的顾客也买了它"
    if source in ("cf_item", "item_knn", "ease", "als", "hybrid"):
        return f"因为你浏览过「{anchor}」" if anchor else "根据你最近的浏览为你挑选"
    if source == "bought_together":
        # Shoppers bought this very pair; 'bundle' is what the anchor's category sells with.
        return f"买「{anchor}」的顾客也买了它" if anchor else "常被一起购买"
    if source == "bundle":
        if anchor and info.get("in_cart"):
            return f"和你购物车里的「{anchor}」很搭"
        return f"和「{anchor}」很搭" if anchor else "搭配更省心"
    if source == "content":
        return f"和「{anchor}」风格相近" if anchor else "符合你的偏好"
    if source == "preference":
        suited = str(info.get("suited") or "")
        if suited:
            return f"{suited}，符合你的预算" if info.get("budget") else suited
        return "符合你的预算和偏好" if info.get("budget") else "符合你说的要求"
    if source == "budget":
        return "符合你的预算"
    if source == "segment":
        return "和你情况相似的顾客常买"
    if source == "trending":
        return f"{category}近期热销" if category else "近期热销"
    if source == "popular":
        return f"{category}同类热销" if category else "同类热销"
    if source == "promoted":
        return "限时优惠中"
    if source == "new_item":
        return "新品上架"
    if source == "similar":
        return f"和「{anchor}」很像" if anchor else "相似商品"
    return "为你精选"


def reasons_table() -> Mapping[str, str]:
    """Every source with its default sentence, for documentation and tests."""
    sources = (
        "cf_user",
        "cf_item",
        "bought_together",
        "bundle",
        "content",
        "preference",
        "budget",
        "segment",
        "trending",
        "popular",
        "promoted",
        "new_item",
        "similar",
    )
    return {s: reason_for(s) for s in sources}
