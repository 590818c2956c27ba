"""An in-memory, column-oriented view of the product catalogue used for scoring and rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from recommender.data import IdMap

# Categories whose items are bought again and again; everything else is not re-recommended
# right after a purchase.
CONSUMABLE_CATEGORIES = frozenset(
    {
        "零食",
        "食品",
        "饮料",
        "美妆",
        "个护",
        "日用",
        "日用品",
        "母婴",
        "宠物",
        "生鲜",
        "纸品",
        "洗护",
    }
)
CONSUMABLE_TAGS = frozenset({"consumable", "消耗品", "复购"})


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value if v is not None and str(v)]
    return [str(value)] if str(value) else []


# Attributes a size filter matches: clothes and shoe sizes, and the storage of phones and
# laptops (有256G的吗 asks for 8GB+256GB and 12GB+256GB alike).
SIZE_ATTRIBUTES = ("size", "storage", "config")


@dataclass
class Catalog:
    items: IdMap
    title: list[str]
    category: np.ndarray  # object arrays of str, for vectorised == comparisons
    brand: np.ndarray
    price: np.ndarray
    list_price: np.ndarray
    stock: np.ndarray
    created_ts: np.ndarray  # seconds since epoch
    attributes: list[dict[str, Any]]
    tags: list[list[str]]
    colors: list[list[str]] = field(default_factory=list)
    sizes: list[list[str]] = field(default_factory=list)
    # Lookup structures derived from the columns above, built once per catalogue (see `codes`).
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> Catalog:
        rows = list(records)
        ids = IdMap.from_ids(str(r["id"]) for r in rows)
        attrs = [dict(r.get("attributes") or {}) for r in rows]

        def created(r: Mapping[str, Any]) -> float:
            value = r.get("created_at")
            if isinstance(value, datetime):
                return value.timestamp()
            return float(value or 0.0)

        price = np.asarray([float(r.get("price") or 0.0) for r in rows], np.float64)
        return cls(
            items=ids,
            title=[str(r.get("title") or "") for r in rows],
            category=np.asarray([str(r.get("category") or "") for r in rows], dtype=object),
            brand=np.asarray([str(r.get("brand") or "") for r in rows], dtype=object),
            price=price,
            list_price=np.asarray(
                [float(r.get("list_price") or r.get("price") or 0.0) for r in rows], np.float64
            ),
            stock=np.asarray([int(r.get("stock", 1) or 0) for r in rows], np.int64),
            created_ts=np.asarray([created(r) for r in rows], np.float64),
            attributes=attrs,
            tags=[_as_list(r.get("tags")) for r in rows],
            colors=[_as_list(a.get("color")) for a in attrs],
            sizes=[[v for key in SIZE_ATTRIBUTES for v in _as_list(a.get(key))] for a in attrs],
        )

    @classmethod
    def from_products(cls, products: Iterable[Any]) -> Catalog:
        return cls.from_records(
            {
                "id": p.id,
                "title": p.title,
                "category": p.category,
                "brand": p.brand,
                "price": p.price,
                "list_price": p.list_price,
                "stock": p.stock,
                "created_at": p.created_at,
                "attributes": p.attributes,
                "tags": p.tags,
            }
            for p in products
        )

    def codes(self, column: str) -> tuple[dict[str, int], np.ndarray]:
        """Integer codes of a categorical column ("category" or "brand"): value -> code, and the
        code of every item. Membership tests over 100k object strings cost milliseconds with
        np.isin; a boolean table indexed by these codes costs microseconds."""
        key = f"codes:{column}"
        if key not in self._cache:
            values = getattr(self, column)
            index: dict[str, int] = {}
            codes = np.fromiter(
                (index.setdefault(v, len(index)) for v in values), np.int64, len(values)
            )
            self._cache[key] = (index, codes)
        cached: tuple[dict[str, int], np.ndarray] = self._cache[key]
        return cached

    def isin(self, column: str, wanted: Iterable[Any]) -> np.ndarray:
        """Mask of items whose `column` equals one of `wanted` (what np.isin answers)."""
        index, codes = self.codes(column)
        table = np.zeros(len(index), bool)
        table[[index[w] for w in wanted if isinstance(w, str) and w in index]] = True
        return table[codes]

    def _items_by_value(self, column: str) -> dict[str, np.ndarray]:
        """value -> indices of the items listing it, for a list column ("colors", "sizes",
        "tags"); built once per catalogue."""
        key = f"values:{column}"
        if key not in self._cache:
            by_value: dict[str, list[int]] = {}
            for n, values in enumerate(getattr(self, column)):
                for v in values:
                    by_value.setdefault(v, []).append(n)
            self._cache[key] = {v: np.asarray(ix, np.int64) for v, ix in by_value.items()}
        cached: dict[str, np.ndarray] = self._cache[key]
        return cached

    def attr_mask(self, column: str, wanted: str) -> np.ndarray:
        """Mask of items with a `column` ("colors" or "sizes") value equal to or containing
        `wanted`. Distinct values are few, so the test runs once per value, not per item."""
        mask = np.zeros(len(self), bool)
        for value, items in self._items_by_value(column).items():
            if wanted == value or wanted in value:
                mask[items] = True
        return mask

    def tag_mask(self, wanted: Iterable[str]) -> np.ndarray:
        """Mask of items carrying any of the tags in `wanted`."""
        by_tag = self._items_by_value("tags")
        mask = np.zeros(len(self), bool)
        for tag in wanted:
            if tag in by_tag:
                mask[by_tag[tag]] = True
        return mask

    def consumable(self) -> np.ndarray:
        return np.asarray(
            [
                c in CONSUMABLE_CATEGORIES or bool(CONSUMABLE_TAGS.intersection(t))
                for c, t in zip(self.category, self.tags, strict=False)
            ],
            bool,
        )

    def discount(self) -> np.ndarray:
        lp = np.maximum(self.list_price, 1e-9)
        return np.clip(1.0 - self.price / lp, 0.0, 1.0)

    def price_band(self) -> np.ndarray:
        """Price band within the item's category: 0 (cheapest quartile) .. 3 (dearest)."""
        bands = np.zeros(len(self), np.int64)
        for cat in np.unique(self.category):  # few categories; bands are per category
            mask = self.category == cat
            q = np.quantile(self.price[mask], [0.25, 0.5, 0.75])
            bands[mask] = np.searchsorted(q, self.price[mask], side="right")
        return bands

    def align(self, item_map: IdMap) -> np.ndarray:
        """For each item index of `item_map`, its row in this catalogue (-1 if unknown)."""
        return np.asarray([self.items.index.get(i, -1) for i in item_map.ids], np.int64)
