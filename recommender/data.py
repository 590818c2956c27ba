"""Interaction matrices, raw-id <-> index maps and the CSR checks every model runs at its boundary."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

# How strongly each event type says "this shopper wants this item" (implicit feedback weight).
EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 1.0,
    "favorite": 3.0,
    "add_to_cart": 4.0,
    "remove_from_cart": -2.0,
    "purchase": 6.0,
}


def check_csr(
    matrix: object, *, name: str = "user_items", n_cols: int | None = None
) -> sp.csr_matrix:
    """Return `matrix` as float32 CSR; raise ValueError for anything that is not a sparse matrix."""
    if not sp.issparse(matrix):
        raise ValueError(f"{name} must be a scipy.sparse CSR matrix, got {type(matrix).__name__}")
    if not isinstance(matrix, sp.csr_matrix):
        fmt = str(getattr(matrix, "format", "?")).upper()
        raise ValueError(f"{name} must be CSR, got {fmt}; call .tocsr() first")
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional")
    if n_cols is not None and matrix.shape[1] != n_cols:
        raise ValueError(
            f"{name} has {matrix.shape[1]} item columns, the model was fitted on {n_cols}"
        )
    data = matrix.data
    if data.size and not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if matrix.dtype != np.float32:
        matrix = matrix.astype(np.float32)
    return matrix


@dataclass
class IdMap:
    """A stable raw-id <-> dense index map (Surprise's inner/raw ids)."""

    ids: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_ids(cls, ids: Iterable[str]) -> IdMap:
        unique = list(dict.fromkeys(str(i) for i in ids))
        return cls(unique, {raw: n for n, raw in enumerate(unique)})

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, raw: object) -> bool:
        return raw in self.index

    def get(self, raw: str) -> int | None:
        return self.index.get(raw)

    def to_raw(self, indices: Iterable[int]) -> list[str]:
        return [self.ids[int(i)] for i in indices]

    def add(self, raw: str) -> int:
        if raw not in self.index:
            self.index[raw] = len(self.ids)
            self.ids.append(raw)
        return self.index[raw]


@dataclass
class Interactions:
    """A shopper x item matrix with its id maps; the interchange format between loaders and models."""

    matrix: sp.csr_matrix
    users: IdMap
    items: IdMap
    timestamps: sp.csr_matrix | None = None  # latest timestamp per (user, item), same sparsity

    @classmethod
    def from_triples(
        cls,
        users: Sequence[str],
        items: Sequence[str],
        values: Sequence[float] | np.ndarray | None = None,
        *,
        timestamps: Sequence[float] | np.ndarray | None = None,
        user_map: IdMap | None = None,
        item_map: IdMap | None = None,
        binary: bool = False,
    ) -> Interactions:
        """Build from parallel arrays; duplicates are summed (values) / maxed (timestamps).

        With given maps, rows whose user or item is not in the map are dropped (test data against a
        train vocabulary).
        """
        user_map = user_map or IdMap.from_ids(users)
        item_map = item_map or IdMap.from_ids(items)
        u = np.fromiter((user_map.index.get(str(x), -1) for x in users), np.int64, len(users))
        i = np.fromiter((item_map.index.get(str(x), -1) for x in items), np.int64, len(items))
        v = np.ones(len(u), np.float32) if values is None else np.asarray(values, np.float32)
        keep = (u >= 0) & (i >= 0)
        shape = (len(user_map), len(item_map))
        m = sp.csr_matrix((v[keep], (u[keep], i[keep])), shape=shape, dtype=np.float32)
        m.sum_duplicates()
        if binary:
            m.data[:] = 1.0
        ts = None
        if timestamps is not None:
            t = np.asarray(timestamps, np.float64)[keep]
            order = np.argsort(t, kind="stable")  # later rows overwrite earlier ones in COO->CSR
            coo = sp.coo_matrix((t[order], (u[keep][order], i[keep][order])), shape=shape)
            ts = _max_duplicates(coo)
        return cls(m, user_map, item_map, ts)


def _max_duplicates(coo: sp.coo_matrix) -> sp.csr_matrix:
    key = coo.row.astype(np.int64) * coo.shape[1] + coo.col
    uniq, inverse = np.unique(key, return_inverse=True)
    best = np.full(len(uniq), -np.inf)
    np.maximum.at(best, inverse, coo.data)
    rows, cols = np.divmod(uniq, coo.shape[1])
    return sp.csr_matrix((best, (rows, cols)), shape=coo.shape)


# --- CSV loaders -------------------------------------------------------------------------------


@dataclass
class Rows:
    """Parsed `user,item,timestamp[,event...]` rows."""

    users: list[str]
    items: list[str]
    timestamps: np.ndarray
    events: list[str] | None = None
    ratings: np.ndarray | None = None  # explicit strength (MovieLens stars) when the file has it

    def __len__(self) -> int:
        return len(self.users)


def load_interactions_csv(path: Path) -> Rows:
    """Read a CSV with header `user,item,timestamp` (extra columns allowed, e.g. `event`)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = set(reader.fieldnames or ())
        missing = {"user", "item", "timestamp"} - header
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        users: list[str] = []
        items: list[str] = []
        ts: list[float] = []
        events: list[str] = []
        ratings: list[float] = []
        for n, row in enumerate(reader, start=2):
            try:
                ts.append(float(row["timestamp"]))
            except (TypeError, ValueError):
                raise ValueError(
                    f"{path}:{n}: timestamp {row['timestamp']!r} is not a number"
                ) from None
            users.append(row["user"])
            items.append(row["item"])
            events.append(row.get("event") or "")
            try:
                ratings.append(float(row.get("rating") or 1.0))
            except ValueError:
                ratings.append(1.0)
    return Rows(
        users,
        items,
        np.asarray(ts),
        events if "event" in header else None,
        np.asarray(ratings, np.float32) if "rating" in header else None,
    )


def write_interactions_csv(path: Path, rows: Rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["user", "item", "timestamp"]
            + (["event"] if rows.events is not None else [])
            + (["rating"] if rows.ratings is not None else [])
        )
        for n in range(len(rows)):
            extra = [rows.events[n]] if rows.events is not None else []
            if rows.ratings is not None:
                extra.append(f"{float(rows.ratings[n]):g}")
            w.writerow([rows.users[n], rows.items[n], int(rows.timestamps[n]), *extra])


def load_items_csv(path: Path) -> dict[str, dict[str, object]]:
    """`item,title,category,brand,price` -> {item: {...}}."""
    out: dict[str, dict[str, object]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            item = row.get("item")
            if not item:
                continue
            try:
                price = float(row.get("price") or 0.0)
            except ValueError:
                price = 0.0
            out[item] = {
                "title": row.get("title") or "",
                "category": row.get("category") or "",
                "brand": row.get("brand") or "",
                "price": price,
            }
    return out


PROFILE_FIELDS = ("age_band", "gender")


def load_profiles_csv(path: Path) -> dict[str, dict[str, str]]:
    """`user,age_band,gender` of shoppers who consented to profile use -> {user: {...}}.

    Only the fields the segment prior uses are kept; anything else in the file is ignored, so a
    wider export never carries more personal data into the evaluation than it needs.
    """
    out: dict[str, dict[str, str]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "user" not in reader.fieldnames:
            raise ValueError(f"{path}: line 1: header must start with user,age_band,gender")
        for row in reader:
            user = (row.get("user") or "").strip()
            if not user:
                continue
            fields = {f: (row.get(f) or "").strip() for f in PROFILE_FIELDS}
            if any(fields.values()):
                out[user] = fields
    return out


def load_movielens(path: Path) -> Rows:
    """MovieLens `u.data`: tab-separated user, item, rating, timestamp."""
    data = np.loadtxt(path, dtype=np.int64, ndmin=2)
    return Rows(
        [str(x) for x in data[:, 0]],
        [str(x) for x in data[:, 1]],
        data[:, 3].astype(float),
        None,
        data[:, 2].astype(np.float32),
    )


TAOBAO_EVENTS = {"pv": "view", "cart": "add_to_cart", "fav": "favorite", "buy": "purchase"}


def load_taobao(path: Path, *, limit: int | None = None) -> Rows:
    """Taobao `UserBehavior.csv`: user_id,item_id,category_id,behavior_type,timestamp (no header)."""
    users: list[str] = []
    items: list[str] = []
    ts: list[float] = []
    events: list[str] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            if len(row) < 5 or not row[4].isdigit():
                continue
            users.append(row[0])
            items.append(row[1])
            events.append(TAOBAO_EVENTS.get(row[3], row[3]))
            ts.append(float(row[4]))
            if limit is not None and len(users) >= limit:
                break
    return Rows(users, items, np.asarray(ts), events)


def split_random_per_user(
    rows: Rows, *, test_fraction: float = 0.2, random_state: int = 0
) -> tuple[Rows, Rows]:
    """MovieLens protocol: for each user, a random `test_fraction` of their rows goes to test."""
    rng = np.random.default_rng(random_state)
    users = np.asarray(rows.users)
    is_test = np.zeros(len(users), bool)
    order = np.argsort(users, kind="stable")
    bounds = np.flatnonzero(np.r_[True, users[order][1:] != users[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):  # per-user group, vectorised inside
        idx = order[a:b]
        n_test = int(round(len(idx) * test_fraction))
        if n_test and len(idx) > 1:
            is_test[rng.choice(idx, size=min(n_test, len(idx) - 1), replace=False)] = True
    return _subset(rows, ~is_test), _subset(rows, is_test)


def split_by_time(rows: Rows, cutoff: float) -> tuple[Rows, Rows]:
    """Rows before `cutoff` train, the rest test (the demo store's held-out final week)."""
    mask = rows.timestamps < cutoff
    return _subset(rows, mask), _subset(rows, ~mask)


def _subset(rows: Rows, mask: np.ndarray) -> Rows:
    idx = np.flatnonzero(mask)
    return Rows(
        [rows.users[i] for i in idx],
        [rows.items[i] for i in idx],
        rows.timestamps[idx],
        [rows.events[i] for i in idx] if rows.events is not None else None,
        rows.ratings[idx] if rows.ratings is not None else None,
    )


def event_values(rows: Rows) -> np.ndarray:
    """Row strengths: the rating if given, else the event weight, else 1 (implicit positive)."""
    if rows.ratings is not None:
        return rows.ratings.astype(np.float32)
    if rows.events is None:
        return np.ones(len(rows), np.float32)
    return np.asarray([max(EVENT_WEIGHTS.get(e, 1.0), 0.0) for e in rows.events], np.float32)


def decay(
    matrix: sp.csr_matrix, last_ts: sp.csr_matrix | None, ref: float, half_life_days: float | None
) -> sp.csr_matrix:
    """Scale each (shopper, item) value by 0.5 ** (age / half-life), age from its latest event.

    Used to fold a shopper's history in with recent events counting more (the served model's
    request-time representation); `last_ts` holds the latest timestamp per pair.
    """
    if not half_life_days or last_ts is None or matrix.nnz == 0:
        return matrix
    from recommender.models.user_cf import values_at

    m = sp.csr_matrix(matrix, copy=True)
    m.sort_indices()
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    keys = rows.astype(np.int64) * m.shape[1] + m.indices
    ts = values_at(last_ts, keys)
    age_days = np.clip((ref - ts) / 86400.0, 0.0, None)
    m.data = (m.data * np.power(0.5, age_days / half_life_days)).astype(np.float32)
    return m
