"""Business rules applied to every list: filters, relaxation, re-purchase, diversity, promotion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recommender.catalog import Catalog
from recommender.content import row_dots

if TYPE_CHECKING:
    from recommender.service import Filters

# Filters dropped one at a time, least important first, when nothing satisfies them all.
# Who it is for goes first: a 男款 jacket is a fair alternative to none, a phone over budget less so.
RELAX_ORDER = ("audience", "color", "size", "brands", "price", "category")


def filter_mask(catalog: Catalog, filters: Filters) -> np.ndarray:
    """Boolean mask over the catalogue of items satisfying every filter (vectorised)."""
    n = len(catalog)
    mask = np.ones(n, bool)
    if filters.in_stock:
        mask &= catalog.stock > 0
    cats = tuple(c for c in ((filters.category,) if filters.category else ()) + filters.categories)
    if cats:
        mask &= catalog.isin("category", cats)
    if filters.exclude_categories:
        mask &= ~catalog.isin("category", filters.exclude_categories)
    if filters.brands:
        mask &= catalog.isin("brand", filters.brands)
    if filters.exclude_brands:
        mask &= ~catalog.isin("brand", filters.exclude_brands)
    if filters.price_min is not None:
        mask &= catalog.price >= filters.price_min
    if filters.price_max is not None:
        mask &= catalog.price <= filters.price_max
    if filters.color:
        mask &= catalog.attr_mask("colors", filters.color)
    if filters.size:
        mask &= catalog.attr_mask("sizes", filters.size)
    if filters.exclude_tags:
        mask &= ~catalog.tag_mask(filters.exclude_tags)
    if filters.exclude_items:
        idx = [catalog.items.index[i] for i in filters.exclude_items if i in catalog.items.index]
        mask[idx] = False
    return mask


def relax(filters: Filters, step: str) -> Filters:
    if step == "audience":
        return replace(filters, exclude_tags=())
    if step == "color":
        return replace(filters, color=None)
    if step == "size":
        return replace(filters, size=None)
    if step == "brands":
        return replace(filters, brands=())
    if step == "price":
        return replace(filters, price_min=None, price_max=None)
    if step == "category":
        return replace(filters, category=None, categories=(), suited=None)
    raise ValueError(step)


def within_budget(price: float, filters: Filters) -> bool:
    return (filters.price_min is None or price >= filters.price_min) and (
        filters.price_max is None or price <= filters.price_max
    )


def is_active(filters: Filters, step: str) -> bool:
    return bool(
        {
            "audience": filters.exclude_tags,
            "color": filters.color,
            "size": filters.size,
            "brands": filters.brands,
            "price": filters.price_min is not None or filters.price_max is not None,
            "category": filters.category or filters.categories,
        }[step]
    )


def diversify(
    order: Sequence[int],
    k: int,
    catalog: Catalog,
    features: sp.csr_matrix | None,
    *,
    max_per_brand_category: int = 3,
    max_similarity: float = 0.92,
    max_per_category: int | None = None,
    window: int = 200,
) -> list[int]:
    """Greedy pick from a ranked list: at most `max_per_brand_category` items of one brand in
    one category, and nothing nearly identical (content cosine above `max_similarity`) to an
    item already on the page. Falls back to the plain order if the rules leave the page short.

    Only the first `window` candidates are considered. Their pairwise similarities are computed
    for a prefix of the window, doubled whenever the greedy walk gets past it: a page is usually
    filled from the first few dozen candidates.
    """
    head = np.asarray(order[:window], np.int64)
    sims = np.zeros((0, 0), np.float32)
    cats = catalog.category[head]
    brands = catalog.brand[head]
    picked: list[int] = []
    counts: dict[tuple[str, str], int] = {}
    cat_counts: dict[str, int] = {}
    for pos in range(len(head)):
        if len(picked) >= k:
            break
        key = (str(cats[pos]), str(brands[pos]))
        if counts.get(key, 0) >= max_per_brand_category:
            continue
        if max_per_category is not None and cat_counts.get(key[0], 0) >= max_per_category:
            continue
        if features is not None and picked:
            if pos >= len(sims):
                size = min(len(head), max(2 * len(sims), 2 * k + 8, pos + 1))
                sims = row_dots(features, head[:size], head[:size])
            if sims[pos, picked].max() > max_similarity:
                continue
        picked.append(pos)
        counts[key] = counts.get(key, 0) + 1
        cat_counts[key[0]] = cat_counts.get(key[0], 0) + 1
    page = [int(head[p]) for p in picked]
    if len(page) < k:
        chosen = set(page)
        for idx in order:
            if len(page) >= k:
                break
            if int(idx) not in chosen:
                page.append(int(idx))
                chosen.add(int(idx))
    return page


def insert_promoted(
    page: list[int], promoted: Sequence[int], k: int, share: float
) -> tuple[list[int], set[int]]:
    """Reserve round(share * k) slots (at least one when any qualify) for promoted items,
    placed at evenly spaced positions so they do not crowd the top."""
    slots = max(1, int(round(share * k))) if promoted and share > 0 else 0
    chosen = [p for p in promoted if p not in page[: k - slots]][:slots]
    if not chosen:
        return page[:k], set()
    base = [p for p in page if p not in chosen][: k - len(chosen)]
    step = max(1, len(base) // len(chosen) + 1)
    out = list(base)
    for n, p in enumerate(chosen):
        out.insert(min(len(out), (n + 1) * step - 1), p)
    return out[:k], set(chosen)


def reserve_tail(
    page: list[int], candidates: Sequence[int], k: int, slots: int, *, keep: set[int]
) -> tuple[list[int], set[int]]:
    """Make sure the best `slots` candidates (in the given order) are on the first k places:
    those not already there take the places of the weakest items that are not in `keep`
    (items another reserved share put there). Returns the page and the candidates it holds."""
    wanted = list(dict.fromkeys(candidates))[: max(slots, 0)]
    head = list(page[:k])
    missing = [c for c in wanted if c not in head]
    room = k - len(head)
    for c in missing:
        if room > 0:
            head.append(c)
            room -= 1
            continue
        weak = [
            j for j in range(len(head) - 1, -1, -1) if head[j] not in keep and head[j] not in wanted
        ]
        if not weak:
            break
        del head[weak[0]]
        head.append(c)
    rest = [i for i in page[k:] if i not in head]
    return head + rest, {c for c in wanted if c in head}
