"""第一个和第二个哪个好: two shown products side by side, on what differs between them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actions import replies
from actions.normalize import parse_ordinals
from shopbot.db.models import Product
from shopbot.specs import specs

MAX_ROWS = 4
_POSITION = {1: "第一个", 2: "第二个", 3: "第三个", 4: "第四个", 5: "第五个", -1: "最后一个"}


def compared_positions(text: str, shown_count: int) -> tuple[int, int] | None:
    """The two positions a message compares, both within the shown list; None otherwise."""
    positions = [
        p if p > 0 else shown_count + 1 + p
        for p in parse_ordinals(text)
        if (0 < p <= shown_count) or (p < 0 and shown_count > 0)
    ]
    distinct = list(dict.fromkeys(positions))
    return (distinct[0], distinct[1]) if len(distinct) >= 2 else None


def position_name(position: int) -> str:
    return _POSITION.get(position, f"第{position}个")


def comparison_text(first: Product, second: Product, positions: tuple[int, int]) -> str:
    a, b = (position_name(p) for p in positions)
    rows = [f"「{first.title}」和「{second.title}」比一比："]
    pa, pb = float(first.price), float(second.price)
    price = f"价格：{replies.yuan(pa)} vs {replies.yuan(pb)}"
    cheaper = None if pa == pb else (a if pa < pb else b)
    if cheaper:
        price += f"，{cheaper}便宜{replies.yuan(abs(pa - pb))}"
    rows.append(price)
    left, right = dict(specs(first.attributes, "、")), dict(specs(second.attributes, "、"))
    differing = [
        (name, left.get(name, "—"), right.get(name, "—"))
        for name in dict.fromkeys([*left, *right])
        if left.get(name) != right.get(name)
    ]
    rows += [f"{name}：{x} vs {y}" for name, x, y in differing[:MAX_ROWS]]
    out = [p for p, product in zip((a, b), (first, second), strict=True) if product.stock <= 0]
    if out:
        rows.append(f"{'、'.join(out)}暂时缺货")
    if cheaper and not out:
        rows.append(f"预算优先就选{cheaper}；想看哪个的细节，说「{a}怎么样」就行～")
    return "\n".join(rows)


def comparison_buttons(
    items: Sequence[Product], positions: tuple[int, int]
) -> list[dict[str, Any]]:
    return [
        {
            "title": f"要{position_name(p)}",
            "payload": f'/add_to_cart{{"product_id": "{item.id}"}}',
        }
        for p, item in zip(positions, items, strict=True)
        if item.stock > 0
    ]
