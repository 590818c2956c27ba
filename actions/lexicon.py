"""Catalog vocabulary as lookup maps: every alias a shopper may type -> the canonical name.

Built from `shopbot.demo.vocabulary.load_vocabulary()` (the catalog is the single source of
truth) or from plain mappings in tests. Matching is case-insensitive and ignores spaces so that
`iphone`, `iPhone` and `I Phone` all land on the same brand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

FIELDS = (
    "categories",
    "brands",
    "colors",
    "sizes",
    "materials",
    "recipients",
    "product_lines",
)


def fold(text: str) -> str:
    """The comparison key for aliases: lower case, no whitespace, full-width folded."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII typed by Chinese IMEs
            ch = chr(code - 0xFEE0)
        out.append(ch)
    return re.sub(r"\s+", "", "".join(out)).lower()


@dataclass
class Lexicon:
    """canonical -> variants for each kind, plus the reverse alias maps."""

    categories: dict[str, list[str]] = field(default_factory=dict)
    brands: dict[str, list[str]] = field(default_factory=dict)
    colors: dict[str, list[str]] = field(default_factory=dict)
    sizes: dict[str, list[str]] = field(default_factory=dict)
    materials: dict[str, list[str]] = field(default_factory=dict)
    recipients: dict[str, list[str]] = field(default_factory=dict)
    # product line -> brand, e.g. Mate60 -> 华为
    product_lines: dict[str, str] = field(default_factory=dict)
    category_brands: dict[str, list[str]] = field(default_factory=dict)
    accessories: dict[str, list[str]] = field(default_factory=dict)
    # product line -> category, e.g. Mate 60 -> 手机
    line_categories: dict[str, str] = field(default_factory=dict)
    # recipient -> product tags that do not suit them, e.g. 妈妈 -> [男款]
    recipient_excludes: dict[str, list[str]] = field(default_factory=dict)
    # accessory category -> device categories it is made for, e.g. 手机壳 -> [手机]
    fitted_accessories: dict[str, list[str]] = field(default_factory=dict)
    # recipient -> categories a gift for them comes from, e.g. 妈妈 -> [面霜, 电饭煲, ...]
    recipient_gifts: dict[str, list[str]] = field(default_factory=dict)
    # recipient bought for rather than given to -> how it is said, e.g. 宝宝 -> 给宝宝用
    recipient_uses: dict[str, str] = field(default_factory=dict)
    # interest -> what shoppers say for it, and the categories that suit it
    interest_words: dict[str, list[str]] = field(default_factory=dict)
    interest_categories: dict[str, list[str]] = field(default_factory=dict)
    # interest -> product tags it favours within any category (打游戏 -> 游戏)
    interest_tags: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._alias: dict[str, dict[str, str]] = {}
        for kind in ("categories", "brands", "colors", "sizes", "materials", "recipients"):
            table: dict[str, str] = {}
            for canonical, variants in getattr(self, kind).items():
                for alias in [canonical, *variants]:
                    if alias:
                        table.setdefault(fold(str(alias)), canonical)
            self._alias[kind] = table
        # A product line names its brand too: "Mate60" means 华为.
        lines: dict[str, str] = {}
        for line, brand in self.product_lines.items():
            lines[fold(line)] = brand
        self._alias["product_lines"] = lines
        self._line_by_fold = {fold(line): line for line in self.product_lines}
        self._lines_by_length = sorted(lines, key=len, reverse=True)
        interests = {
            fold(word): interest
            for interest, words in self.interest_words.items()
            for word in [interest, *words]
            if word
        }
        self._interests = sorted(interests.items(), key=lambda kv: -len(kv[0]))

    @classmethod
    def from_vocabulary(cls, vocab: Any) -> Lexicon:
        def mapping(name: str) -> dict[str, Any]:
            value = getattr(vocab, name, None)
            if value is None and isinstance(vocab, Mapping):
                value = vocab.get(name)
            return _as_mapping(value)

        return cls(
            categories=_lists(mapping("categories")),
            brands=_lists(mapping("brands")),
            colors=_lists(mapping("colors")),
            sizes=_lists(mapping("sizes")),
            materials=_lists(mapping("materials")),
            recipients=_lists(mapping("recipients")),
            product_lines={str(k): str(v) for k, v in mapping("product_lines").items()},
            category_brands=_lists(mapping("category_brands")),
            accessories=_lists(mapping("accessories")),
            recipient_excludes=_lists(mapping("recipient_excludes")),
            fitted_accessories=_lists(mapping("fitted_accessories")),
            recipient_gifts=_lists(mapping("recipient_gifts")),
            recipient_uses={str(k): str(v) for k, v in mapping("recipient_uses").items()},
            interest_words=_lists(mapping("interest_words")),
            interest_categories=_lists(mapping("interest_categories")),
            interest_tags=_lists(mapping("interest_tags")),
            line_categories={
                str(line): str(category)
                for per_category in (getattr(vocab, "brand_lines", None) or {}).values()
                for category, lines in per_category.items()
                for line in lines
            },
        )

    def canonical(self, kind: str, value: str | None) -> str | None:
        """The canonical name for `value` of `kind`, or None when the catalog does not know it."""
        if value is None:
            return None
        key = fold(str(value))
        if not key:
            return None
        table = self._alias[kind]
        if key in table:
            return table[key]
        if kind == "brands":
            line = self.match_line(str(value))
            if line is not None:
                return line[0]
        # "耐克的" / "红色款": an alias plus filler; take the longest alias it contains.
        best: tuple[int, str] | None = None
        for alias, canonical in table.items():
            if len(alias) >= 2 and alias in key and (best is None or len(alias) > best[0]):
                best = (len(alias), canonical)
        return best[1] if best else None

    def match_line(self, text: str) -> tuple[str, str | None] | None:
        """(brand, category) of the product line named in text: 'Mate60', 'iphone 15 pro'.

        A bare series word ('iphone', 'matebook') matches when it starts the lines of one
        brand; the category is the one most of those lines belong to.
        """
        key = fold(text)
        if not key:
            return None
        named = self.named_line(text)
        if named is not None:
            return self.product_lines[named], self.line_categories.get(named)
        for word in re.findall(r"[a-z]{4,}", key):
            hits = [o for o in self.product_lines if fold(o).startswith(word)]
            brands = {self.product_lines[o] for o in hits}
            if len(brands) == 1:
                categories = [self.line_categories[o] for o in hits if o in self.line_categories]
                category = max(set(categories), key=categories.count) if categories else None
                return brands.pop(), category
        return None

    def named_line(self, text: str) -> str | None:
        """The longest product line written in text ('Mate 60 Pro' for 'mate60pro多少钱')."""
        key = fold(text)
        for line in self._lines_by_length:
            if len(line) >= 3 and line in key:
                return next(o for o in self.product_lines if fold(o) == line)
        return None

    def unsuitable_tags(self, recipient: str | None) -> tuple[str, ...]:
        """Product tags that do not suit `recipient` (妈妈 -> 男款); none for nobody named."""
        return tuple(self.recipient_excludes.get(recipient or "", ()))

    def gift_categories(self, recipient: str | None) -> tuple[str, ...]:
        """Categories a gift for `recipient` comes from; none (anything) for nobody named."""
        return tuple(self.recipient_gifts.get(recipient or "", ()))

    def find_interest(self, text: str) -> str | None:
        """The interest a message names (平时喜欢下厨 -> 做饭), the longest word winning."""
        key = fold(text or "")
        for word, interest in self._interests:
            if word in key:
                return interest
        return None

    def device_line(self, title: str, categories: Iterable[str]) -> str | None:
        """The longest model line of one of `categories` named in `title` ('适用小米14' ->
        '小米 14'; '小米 14 Ultra 8GB' -> '小米 14 Ultra')."""
        wanted = set(categories)
        key = fold(title)
        for folded in self._lines_by_length:
            if len(folded) >= 3 and folded in key:  # as named_line: 'A2' is in too many words
                line = self._line_by_fold[folded]
                if self.line_categories.get(line) in wanted:
                    return line
        return None

    def fits(self, anchor: Any, item: Any) -> bool:
        """Whether accessory `item` is made for product `anchor` (both with title, brand and
        category); anything that is not a fitted accessory fits."""
        devices = self.fitted_accessories.get(item.category)
        if not devices:
            return True
        if anchor.category not in devices:
            return False  # a watch strap with a phone
        named = self.device_line(item.title, devices)
        if named is not None:
            return self.device_line(anchor.title, devices) == named
        makers = {b for c in devices for b in self.category_brands.get(c, [])}
        return item.brand not in makers or item.brand == anchor.brand

    def aliases(self, kind: str) -> dict[str, str]:
        return dict(self._alias[kind])

    def all_terms(self, kind: str) -> list[str]:
        """Every surface form of `kind` as written in the vocabulary (not folded)."""
        if kind == "product_lines":
            return sorted(self.product_lines)
        terms: list[str] = []
        for canonical, variants in getattr(self, kind).items():
            terms.extend([canonical, *variants])
        return sorted(dict.fromkeys(t for t in terms if t))


def _as_mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Iterable) and not isinstance(value, str):
        return {str(v): [] for v in value}
    raise TypeError(f"expected a mapping or a list, got {type(value).__name__}")


def _lists(mapping: Mapping[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in mapping.items():
        if value is None:
            out[str(key)] = []
        elif isinstance(value, str):
            out[str(key)] = [value]
        else:
            out[str(key)] = [str(v) for v in value]
    return out


@lru_cache(maxsize=1)
def catalog_lexicon() -> Lexicon:
    """The lexicon of the demo store's catalog (loaded once per process, on first use)."""
    from shopbot.demo.vocabulary import load_vocabulary

    return Lexicon.from_vocabulary(load_vocabulary())
