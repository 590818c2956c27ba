"""Product pictures drawn on the fly as SVG, so the store never fetches an external image."""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

# Colour words as they appear in product attributes; anything else gets a stable hashed hue.
COLOURS = {
    "黑": "#2b2b2b",
    "白": "#f2f2f2",
    "灰": "#9a9a9a",
    "银": "#c0c6cc",
    "红": "#d9423a",
    "粉": "#f29bb5",
    "橙": "#f08a24",
    "黄": "#f2c12e",
    "金": "#d4af37",
    "绿": "#3a9d5d",
    "青": "#2bb0a8",
    "蓝": "#2f6fd6",
    "紫": "#8a55c9",
    "棕": "#8b5a2b",
    "咖": "#7a4b2a",
    "米": "#efe3c8",
    "卡其": "#c3a878",
}


def colour_for(colour: str | None, seed: str) -> str:
    if colour:
        for word, hex_value in COLOURS.items():
            if word in colour:
                return hex_value
    hue = int(hashlib.sha1(seed.encode("utf-8")).hexdigest()[:4], 16) % 360
    return f"hsl({hue}, 55%, 55%)"


def _ink(fill: str) -> str:
    """Black or white text, whichever reads better on the fill."""
    if fill.startswith("#") and len(fill) == 7:
        r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
        return "#222" if 0.299 * r + 0.587 * g + 0.114 * b > 160 else "#fff"
    return "#fff"


def product_svg(product_id: str, title: str, category: str, brand: str, colour: str | None) -> str:
    fill = colour_for(colour, product_id)
    ink = _ink(fill)
    glyph = escape(category[:1] or "商")
    short = escape(title if len(title) <= 12 else title[:11] + "…")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="320" viewBox="0 0 320 320">'
        f'<rect width="320" height="320" fill="#f7f7f9"/>'
        f'<circle cx="160" cy="140" r="96" fill="{fill}"/>'
        f'<text x="160" y="172" font-size="96" text-anchor="middle" fill="{ink}" '
        f'font-family="Noto Sans CJK SC, sans-serif">{glyph}</text>'
        f'<text x="160" y="268" font-size="20" text-anchor="middle" fill="#333" '
        f'font-family="Noto Sans CJK SC, sans-serif">{escape(brand[:16])}</text>'
        f'<text x="160" y="298" font-size="16" text-anchor="middle" fill="#666" '
        f'font-family="Noto Sans CJK SC, sans-serif">{short}</text>'
        "</svg>"
    )
