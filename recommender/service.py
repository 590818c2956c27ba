"""RecommenderService: the one object the action server and the offer engine talk to.

State lives in the database. Every call reads the shopper's recent events, cart and profile and
folds them into the trained models at request time, so a view/cart/purchase/stated preference
changes the very next answer in any process, without retraining and without a local cache.

What is derived from the whole catalogue (content index, popularity, bought-together, segments,
the model's item alignment, stock) sits in one immutable `_CatalogState` snapshot. A background
thread rebuilds or restocks it every `refresh_seconds` and swaps the reference; a request reads
the reference once and never queries the catalogue itself, so no chat waits for a reload and no
request sees half of an old snapshot and half of a new one.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from sqlalchemy import bindparam, func, literal_column, null, select, true, union_all
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Select

from recommender import offers as offer_engine
from recommender import rules
from recommender.base import RecommenderModel
from recommender.catalog import Catalog
from recommender.content import ContentIndex, price_fit, row_dots
from recommender.data import EVENT_WEIGHTS, IdMap
from recommender.explain import reason_for
from recommender.ranker import ItemStats, PurchaseModel, ShopperState, build_features
from shopbot.db import repo
from shopbot.db.models import CartItem, Event, Offer, Product, Shopper, utcnow


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    categories: tuple[str, ...] = ()  # include
    brands: tuple[str, ...] = ()
    exclude_brands: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    color: str | None = None
    size: str | None = None
    in_stock: bool = True
    exclude_items: frozenset[str] = frozenset()
    # Products carrying any of these tags are left out (a gift for 妈妈: no 男款).
    exclude_tags: tuple[str, ...] = ()
    # Why `categories` suit the shopper (送妈妈很合适, 适合喜欢做饭的妈妈): a preference match
    # says it instead of the bare 符合你说的要求, and it goes when the categories are relaxed.
    suited: str | None = None


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str
    # cf_user, cf_item, ease/als/hybrid, content, popular, trending, promoted, new_item, bundle, ...
    source: str


@dataclass(frozen=True)
class RecommendationResult:
    items: list[Recommendation]
    fallback: str | None  # "cold_start_shopper", "unknown_item", "relaxed_filters", ... or None
    relaxed: tuple[str, ...] = ()  # filters dropped to find nearest alternatives


@dataclass(frozen=True)
class OfferDecision:
    offer_id: str
    title: str
    text: str
    grant_id: int | None
    expected_uplift: float
    reason: str


log = logging.getLogger(__name__)

LATEST = "LATEST"
RECENT_EVENTS = 200
REFRESH_SECONDS = 60.0
PROMOTED_SHARE = 0.2
NEW_ITEM_DAYS = 14
DAY = 86400.0
# Catalogues at least this long pick the candidate pool from a sampled threshold first.
PREFILTER_MIN_ITEMS = 20_000
SAMPLE_STRIDE = 16


def _shopper_statement() -> Select:
    """Everything a request reads about a shopper in one round trip: the profile columns, then
    the latest RECENT_EVENTS events on products (kind 0, newest first) and the cart (kind 1).
    No row: no such shopper; one row with kind NULL: a shopper without events or cart.

    Built once on Core tables: constructing an ORM statement per request, and loading ORM
    objects, cost several times the queries themselves on the request path.
    """
    shoppers, events, carts = Shopper.__table__, Event.__table__, CartItem.__table__
    shopper_id = bindparam("shopper_id")
    recent = (
        select(
            literal_column("0").label("kind"),
            events.c.id.label("event_id"),
            events.c.product_id,
            events.c.type,
            events.c.dwell_seconds,
            events.c.ts,
        )
        .where(events.c.shopper_id == shopper_id, events.c.product_id.is_not(None))
        .order_by(events.c.ts.desc(), events.c.id.desc())
        .limit(RECENT_EVENTS)
        .subquery()
    )
    cart = select(literal_column("1"), null(), carts.c.product_id, null(), null(), null()).where(
        carts.c.shopper_id == shopper_id
    )
    rows = union_all(select(recent), cart).subquery()
    return (
        select(
            shoppers.c.consent,
            *[shoppers.c[f] for f in repo.PROFILE_FIELDS],
            rows.c.kind,
            rows.c.product_id,
            rows.c.type,
            rows.c.dwell_seconds,
            rows.c.ts,
        )
        .select_from(shoppers.outerjoin(rows, true()))
        .where(shoppers.c.id == shopper_id)
        # Cart rows by product id: the order SQLite's primary-key scan gave the old cart query.
        .order_by(rows.c.kind, rows.c.ts.desc(), rows.c.event_id.desc(), rows.c.product_id)
    )


_SHOPPER_ROWS = _shopper_statement()


@dataclass
class _Shopper:
    """What one request knows about a shopper, read fresh from the database."""

    known: bool
    consent: bool
    profile: dict[str, Any]
    events: list[tuple[int, str, float, float]]  # (catalogue idx, type, dwell, ts)
    cart: list[int]
    purchased: list[int]
    state: ShopperState = field(default=None)  # type: ignore[assignment]
    # Per-request memo: CF and content scores are used by retrieval and by the ranker.
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _CatalogRows:
    """What a snapshot is built from, read in one session; building happens after it closes so
    the connection goes back to the pool before the seconds of CPU work at 100k products."""

    key: tuple[Any, ...]
    products: Sequence[Mapping[str, Any]]
    buyers: dict[str, int]  # distinct shoppers with events per product
    recent: dict[str, int]  # events per product in the last 7 days
    purchases: Sequence[tuple[str, str, Any]]
    segment_rows: Sequence[tuple[Any, Any, str, int]]
    promoted_rows: Sequence[tuple[str, str | None]]


def _catalog_key(session: Session) -> tuple[Any, ...]:
    """Cheap fingerprint of the product set: a change means new products need content features."""
    return tuple(
        session.execute(select(func.count(Product.id), func.max(Product.created_at))).one()
    )


# The columns a catalogue is made of, as plain rows: 100k ORM objects took over twice as long
# to load and gave the garbage collector more to walk, and its full passes pause every thread of
# the process, including the requests served while a snapshot is rebuilt.
_CATALOG_ROWS = select(
    *[
        Product.__table__.c[name]
        for name in (
            "id",
            "title",
            "category",
            "brand",
            "price",
            "list_price",
            "stock",
            "created_at",
            "attributes",
            "tags",
        )
    ]
).order_by(Product.__table__.c.id)


_STOCK_ROWS = select(Product.__table__.c.id, Product.__table__.c.stock)


def _read_catalog(session: Session, key: tuple[Any, ...]) -> _CatalogRows:
    products = [row._mapping for row in session.execute(_CATALOG_ROWS)]
    buyers = dict(
        session.execute(
            select(Event.product_id, func.count(func.distinct(Event.shopper_id)))
            .where(Event.product_id.is_not(None))
            .group_by(Event.product_id)
        ).all()
    )
    since = datetime.utcfromtimestamp(utcnow().timestamp() - 7 * DAY)
    recent = dict(
        session.execute(
            select(Event.product_id, func.count(Event.id))
            .where(Event.product_id.is_not(None), Event.ts >= since)
            .group_by(Event.product_id)
        ).all()
    )
    purchases = session.execute(
        select(Event.shopper_id, Event.product_id, Event.ts)
        .where(Event.type == "purchase", Event.product_id.is_not(None))
        .order_by(Event.shopper_id, Event.ts)
    ).all()
    segment_rows = session.execute(
        select(Shopper.age_band, Shopper.gender, Event.product_id, func.count(Event.id))
        .join(Shopper, Shopper.id == Event.shopper_id)
        .where(
            Shopper.consent.is_(True),
            Event.type.in_(["purchase", "add_to_cart"]),
            Event.product_id.is_not(None),
        )
        .group_by(Shopper.age_band, Shopper.gender, Event.product_id)
    ).all()
    promoted_rows = session.execute(
        select(Offer.scope, Offer.scope_value).where(
            Offer.active.is_(True), Offer.starts_at <= utcnow(), Offer.ends_at >= utcnow()
        )
    ).all()
    return _CatalogRows(
        key,
        products,
        buyers,
        recent,
        purchases,
        segment_rows,
        promoted_rows,
    )


def _read_only(*arrays: np.ndarray) -> None:
    # Snapshots are shared by concurrent requests and by the next snapshot (stock updates reuse
    # every other array): a stray in-place write must fail loudly instead of leaking across.
    for array in arrays:
        array.flags.writeable = False


@dataclass(frozen=True, eq=False)
class _CatalogState:
    """Everything derived from the catalogue, consistent with itself and never changed after it
    is built. A request reads `RecommenderService._state` once and uses only that object, so a
    refresh swapping in a new snapshot (one reference assignment) cannot give it a new catalogue
    with old indices."""

    key: tuple[Any, ...]
    catalog: Catalog
    content: ContentIndex
    popularity: np.ndarray
    popularity32: np.ndarray
    # Shopper-independent parts of the blend, by "cold" (made once per catalogue, not per request).
    popular_part: Mapping[bool, np.ndarray]
    trending_part: Mapping[bool, np.ndarray]
    loaded_at: float
    # Everything younger than NEW_ITEM_DAYS at any later request is among these (a day of margin
    # for rounding); the per-request freshness test then looks at them only.
    maybe_new: np.ndarray
    stats: ItemStats
    copurchase: sp.csr_matrix
    consumable: np.ndarray
    category_codes: np.ndarray
    category_lift: sp.csr_matrix
    segments: Mapping[tuple[Any, Any], np.ndarray]
    promoted: np.ndarray
    cat_to_model: np.ndarray  # catalogue index -> model item index, -1 if the model lacks it
    model_known: np.ndarray
    all_model_known: bool

    @classmethod
    def build(cls, rows: _CatalogRows, model_items: IdMap) -> _CatalogState:
        catalog = Catalog.from_records(rows.products)
        content = ContentIndex(catalog)
        n = len(catalog)
        ids = catalog.items.ids
        pop = np.asarray([rows.buyers.get(i, 0) for i in ids], np.float64)
        trend = np.asarray([rows.recent.get(i, 0) for i in ids], np.float64)
        copurchase, consumable = _purchase_structure(catalog, rows.purchases)
        cat_map = IdMap.from_ids(catalog.category)
        category_codes = np.asarray([cat_map.index[c] for c in catalog.category], np.int64)
        onehot = sp.csr_matrix(
            (np.ones(n, np.float32), (np.arange(n), category_codes)), shape=(n, len(cat_map))
        )
        category_lift = (onehot.T @ copurchase @ onehot).tocsr()
        segments = _segment_vectors(catalog, rows.segment_rows)
        promoted = np.zeros(n, bool)
        for scope, value in rows.promoted_rows:
            if scope == "product" and value in catalog.items.index:
                promoted[catalog.items.index[value]] = True
            elif scope == "brand":
                promoted |= catalog.brand == value
            elif scope == "category":
                promoted |= catalog.category == value
        promoted |= np.asarray(["promoted" in t or "推广" in t for t in catalog.tags], bool)
        cat_to_model = np.asarray([model_items.index.get(i, -1) for i in ids], np.int64)
        # The lookups filters use, filled now so no request pays for (or races on) filling them.
        catalog.codes("category")
        catalog.codes("brand")
        catalog.attr_mask("colors", "")
        catalog.attr_mask("sizes", "")
        popularity = pop / max(pop.max(initial=0.0), 1.0)
        trending = trend / max(trend.max(initial=0.0), 1.0)
        loaded_at = utcnow().timestamp()
        maybe_new = np.flatnonzero(catalog.created_ts >= loaded_at - (NEW_ITEM_DAYS + 1) * DAY)
        known = cat_to_model >= 0
        popular_part = {True: 0.35 * popularity, False: 0.1 * popularity}
        trending_part = {True: 0.25 * trending, False: 0.05 * trending}
        _read_only(
            catalog.category,
            catalog.brand,
            catalog.price,
            catalog.list_price,
            catalog.stock,
            catalog.created_ts,
            popularity,
            *popular_part.values(),
            *trending_part.values(),
            maybe_new,
            consumable,
            category_codes,
            *segments.values(),
            promoted,
            cat_to_model,
            known,
        )
        popularity32 = popularity.astype(np.float32)
        stats = ItemStats.from_counts(catalog, pop)
        _read_only(popularity32, stats.popularity, stats.category_popularity)
        return cls(
            key=rows.key,
            catalog=catalog,
            content=content,
            popularity=popularity,
            popularity32=popularity32,
            popular_part=MappingProxyType(popular_part),
            trending_part=MappingProxyType(trending_part),
            loaded_at=loaded_at,
            maybe_new=maybe_new,
            stats=stats,
            copurchase=copurchase,
            consumable=consumable,
            category_codes=category_codes,
            category_lift=category_lift,
            segments=MappingProxyType(segments),
            promoted=promoted,
            cat_to_model=cat_to_model,
            model_known=known,
            all_model_known=bool(known.all()),
        )

    def with_stock(self, rows: Sequence[tuple[str, int | None]]) -> _CatalogState:
        """This snapshot with the stock of `rows` (product id, stock); itself when nothing moved.

        Only the stock array is new: the catalogue copy shares every other column and its
        lookup caches, and the snapshot shares everything else, so this costs one array."""
        catalog = self.catalog
        if not rows:
            return self
        index = catalog.items.index
        where = np.fromiter((index.get(pid, -1) for pid, _ in rows), np.int64, len(rows))
        values = np.fromiter((int(v or 0) for _, v in rows), np.int64, len(rows))
        known = where >= 0
        where, values = where[known], values[known]
        if np.array_equal(catalog.stock[where], values):
            return self
        stock = catalog.stock.copy()
        stock[where] = values
        _read_only(stock)
        return replace(self, catalog=replace(catalog, stock=stock))

    def fresh(self, now: float) -> np.ndarray:
        """Items launched in the last NEW_ITEM_DAYS (the test is run on recent items only)."""
        created = self.catalog.created_ts
        if now < self.loaded_at:  # the clock went back: test everything
            age_days = (now - created) / DAY
            return (age_days >= 0) & (age_days <= NEW_ITEM_DAYS)
        fresh = np.zeros(len(created), bool)
        age_days = (now - created[self.maybe_new]) / DAY
        fresh[self.maybe_new] = (age_days >= 0) & (age_days <= NEW_ITEM_DAYS)
        return fresh

    def bundle_scores(self, rows: Sequence[int]) -> np.ndarray:
        pair, generic = self.bundle_parts(rows)
        return pair + generic

    def bundle_parts(self, rows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(bought with these very items, sold with their categories): what a bundle ranks by,
        in two parts so that its reason says which one put an item there."""
        co = np.asarray(self.copurchase[list(rows)].sum(axis=0)).ravel().astype(np.float32)
        # Item pairs are sparse; categories generalise: popular items of the categories most
        # often bought with the anchors' categories (phone -> case, charger, film), a bit more
        # when the brand matches (a Xiaomi case for a Xiaomi phone).
        cat_codes = self.category_codes
        anchor_cats = np.unique(cat_codes[list(rows)])
        cat_affinity = np.asarray(self.category_lift[anchor_cats].sum(axis=0)).ravel()
        by_cat = _unit(cat_affinity)[cat_codes]
        same_brand = self.catalog.isin("brand", self.catalog.brand[list(rows)])
        generic = by_cat * (0.5 + 0.5 * self.popularity32) * (1 + 0.2 * same_brand)
        # Not rescaled to the row's best pair: when every pair is thin, the categories decide.
        return co, 0.5 * generic.astype(np.float32)

    def segment_scores(self, profile: dict[str, Any]) -> np.ndarray | None:
        """What consenting shoppers of the same age band and gender add to cart and buy
        (aggregates computed at catalogue load, so this costs no query per request)."""
        age, gender = profile.get("age_band"), profile.get("gender")
        keys = (
            [(age, gender), (age, None), (None, gender)]
            if age and gender
            else [(age, None) if age else (None, gender)]
        )
        for key in keys:
            vec = self.segments.get(key)
            if vec is not None:
                return vec
        return None

    def repurchase_block(self, shopper: _Shopper) -> set[int]:
        if not shopper.purchased:
            return set()
        return {i for i in shopper.purchased if not self.consumable[i]}


RefreshOutcome = Literal["rebuilt", "stock", "unchanged"]


def _refresh_periodically(
    service_ref: weakref.ReferenceType[RecommenderService],
    stop: threading.Event,
    period: float,
) -> None:
    """The background refresher's loop. It holds the service weakly, so a service nobody uses
    any more (tests, reloads) is collected and its thread ends instead of polling forever."""
    while not stop.wait(period):
        service = service_ref()
        if service is None:
            return
        try:
            service.refresh()
        except Exception:  # noqa: BLE001 - a failed refresh keeps serving the last snapshot
            log.exception("catalogue refresh failed; serving the previous snapshot, retrying")
        del service


class RecommenderService:
    def __init__(
        self,
        session_factory: sessionmaker,
        artifacts_dir: Path | None = None,
        *,
        random_state: int | None = None,
        background_refresh: bool = True,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        if refresh_seconds <= 0:
            raise ValueError("refresh_seconds must be positive")
        self.factory = session_factory
        self.artifacts_dir = Path(artifacts_dir) if artifacts_dir else None
        self.rng = np.random.default_rng(random_state)
        self.model: RecommenderModel | None = None
        self.model_items = IdMap()
        self.ranker: PurchaseModel | None = None
        self.manifest: dict[str, Any] = {}
        self.version: str | None = None
        self.refresh_seconds = float(refresh_seconds)
        self._load_artifacts()
        # Serialises refreshes (background and explicit): two concurrent builds could otherwise
        # finish out of order and leave the older catalogue in place.
        self._refresh_lock = threading.Lock()
        # Built here, synchronously, so a new service answers at once; replaced only as a whole.
        self._state: _CatalogState = self._build_state()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background_refresh:
            self._thread = threading.Thread(
                target=_refresh_periodically,
                args=(weakref.ref(self), self._stop, self.refresh_seconds),
                name="recommender-catalogue-refresh",
                daemon=True,
            )
            weakref.finalize(self, self._stop.set)
            self._thread.start()

    # --- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the background refresher (waits for a refresh in progress to finish)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None

    def __enter__(self) -> RecommenderService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refresh(self, force: bool = False) -> RefreshOutcome:
        """Bring the catalogue snapshot up to date now, off any request: a changed product set
        (count or newest creation time) or `force` rebuilds it, else only stock is re-read.
        The new snapshot replaces the old in one assignment; requests already running finish on
        the one they started with."""
        with self._refresh_lock:
            t0 = time.perf_counter()
            current = self._state
            stock_rows: Sequence[tuple[str, int | None]] = ()
            rows: _CatalogRows | None = None
            with self.factory() as session:
                key = _catalog_key(session)
                if force or key != current.key:
                    rows = _read_catalog(session, key)
                else:
                    stock_rows = session.execute(_STOCK_ROWS).all()
            if rows is None:
                updated = current.with_stock(stock_rows)
                if updated is current:
                    return "unchanged"
                self._state = updated
                return "stock"
            self._state = _CatalogState.build(rows, self.model_items)
            log.info(
                "catalogue snapshot rebuilt: %d products, read and built in %.2f s",
                len(self._state.catalog),
                time.perf_counter() - t0,
            )
            return "rebuilt"

    # --- loading -------------------------------------------------------------------------------

    def _load_artifacts(self) -> None:
        if self.artifacts_dir is None:
            return
        latest = self.artifacts_dir / LATEST
        if not latest.exists():
            return
        version_dir = self.artifacts_dir / latest.read_text(encoding="utf-8").strip()
        try:
            manifest = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
            model = RecommenderModel.load(version_dir / manifest["model_file"])
        except (OSError, ValueError, KeyError) as exc:
            # A broken artifact must not take the shop down: serve content + popularity.
            log.warning("cannot load recommender artifacts from %s: %s", version_dir, exc)
            return
        self.model = model
        self.model_items = IdMap.from_ids(
            json.loads((version_dir / "items.json").read_text(encoding="utf-8"))
        )
        ranker_path = version_dir / "ranker.json"
        self.ranker = PurchaseModel.load(ranker_path) if ranker_path.exists() else None
        self.manifest = manifest
        self.version = manifest.get("version")

    def _build_state(self) -> _CatalogState:
        with self.factory() as session:
            rows = _read_catalog(session, _catalog_key(session))
        return _CatalogState.build(rows, self.model_items)

    # --- the shopper ---------------------------------------------------------------------------

    def _shopper(
        self, st: _CatalogState, shopper_id: str | None, session: Session | None = None
    ) -> _Shopper:
        now = utcnow().timestamp()
        if not shopper_id:
            return _Shopper(False, False, {}, [], [], [], ShopperState.empty(now))
        with _use(self.factory, session) as session:
            rows = session.execute(_SHOPPER_ROWS, {"shopper_id": shopper_id}).all()
        if not rows:
            return _Shopper(False, False, {}, [], [], [], ShopperState.empty(now))
        consent = bool(rows[0][0])
        fields = repo.PROFILE_FIELDS
        profile = dict(zip(fields, rows[0][1 : 1 + len(fields)], strict=True)) if consent else {}
        index = st.catalog.items.index
        folded: list[tuple[int, str, float, float]] = []
        cart_idx: list[int] = []
        for row in rows:
            kind, pid, etype, dwell, ts = row[1 + len(fields) :]
            if kind is None or pid not in index:
                continue
            if kind == 0:
                folded.append((index[pid], etype, float(dwell or 0.0), ts.timestamp()))
            else:
                cart_idx.append(index[pid])
        purchased = [i for i, t, _, _ in folded if t == "purchase"]
        state = ShopperState(
            np.asarray([f[0] for f in folded], np.int64),
            [f[1] for f in folded],
            np.asarray([f[2] for f in folded]),
            np.asarray([f[3] for f in folded]),
            consent,
            now,
        )
        return _Shopper(True, consent, profile, folded, cart_idx, purchased, state)

    def _model_row(
        self, st: _CatalogState, shopper: _Shopper
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The shopper's interactions as one row over the model's items (fold-in): ascending
        model item indices and their weights, for `RecommenderModel.score_row`."""
        if self.model is None or not shopper.events:
            return None
        state = shopper.state
        model_idx = st.cat_to_model[state.items]
        keep = model_idx >= 0
        if not keep.any():
            return None
        event_weights = np.asarray([EVENT_WEIGHTS.get(t, 0.0) for t in state.types], np.float64)
        cols, slot = np.unique(model_idx[keep], return_inverse=True)
        # bincount adds in event order from 0.0, as summing event by event into a dict did.
        weights = np.bincount(slot, weights=event_weights[keep], minlength=len(cols))
        latest = np.full(len(cols), -np.inf)
        np.maximum.at(latest, slot, state.ts[keep])
        positive = weights > 0
        if not positive.any():
            return None
        cols, weights, latest = cols[positive], weights[positive], latest[positive]
        # The same folding as training (log1p of summed event weights), faded by the age of the
        # latest event with the half-life the hybrid was tuned with: what happened today counts.
        vals = np.log1p(weights).astype(np.float32)
        half_life = getattr(self.model, "half_life_days", None)
        if half_life:
            age = np.clip((state.now - latest) / DAY, 0, None)
            vals = (vals * np.power(0.5, age / half_life)).astype(np.float32)
        return cols, vals

    def _cf_scores(self, st: _CatalogState, shopper: _Shopper) -> np.ndarray | None:
        if "cf" not in shopper.memo:
            shopper.memo["cf"] = self._compute_cf(st, shopper)
        return shopper.memo["cf"]

    def _compute_cf(self, st: _CatalogState, shopper: _Shopper) -> np.ndarray | None:
        row = self._model_row(st, shopper)
        if row is None or self.model is None:
            return None
        model_scores = self.model.score_row(*row)
        if st.all_model_known:
            out = model_scores[st.cat_to_model]
        else:
            out = np.zeros(len(st.catalog), np.float32)
            known = st.model_known
            out[known] = model_scores[st.cat_to_model[known]]
        return _unit(out)

    def _content_profile(self, st: _CatalogState, shopper: _Shopper) -> np.ndarray:
        if "content" not in shopper.memo:
            shopper.memo["content"] = self._compute_content(st, shopper)
        return shopper.memo["content"]

    def _content_unit(self, st: _CatalogState, shopper: _Shopper) -> np.ndarray:
        # Retrieval and the ranker both use the scaled content scores.
        if "content_unit" not in shopper.memo:
            shopper.memo["content_unit"] = _unit(self._content_profile(st, shopper))
        return shopper.memo["content_unit"]

    def _compute_content(self, st: _CatalogState, shopper: _Shopper) -> np.ndarray:
        if not shopper.events:
            return np.zeros(len(st.catalog), np.float32)
        state = shopper.state
        type_weights = np.asarray(
            [max(EVENT_WEIGHTS.get(t, 0.0), 0.0) for t in state.types], np.float64
        )
        weights = type_weights * np.exp(-(state.now - state.ts) / (7 * DAY)) + 1e-3
        return st.content.profile_scores(state.items, weights)

    # --- public API ----------------------------------------------------------------------------

    def recommend(
        self,
        shopper_id: str | None,
        k: int = 10,
        *,
        context: dict | None = None,
        filters: Filters | None = None,
    ) -> RecommendationResult:
        st = self._state  # one snapshot for the whole request, whatever a refresh does meanwhile
        # One database session (one connection) serves the whole request.
        with self.factory() as session:
            return self._recommend(st, session, shopper_id, k, context, filters)

    def _recommend(
        self,
        st: _CatalogState,
        session: Session,
        shopper_id: str | None,
        k: int,
        context: dict | None,
        filters: Filters | None,
    ) -> RecommendationResult:
        k = max(1, min(int(k), 100))
        context = dict(context or {})
        filters = filters or Filters()
        shopper = self._shopper(st, shopper_id, session)
        n = len(st.catalog)
        if n == 0:
            return RecommendationResult([], "empty_catalog")
        cold = not shopper.events
        parts: dict[str, np.ndarray] = {}
        cf = self._cf_scores(st, shopper)
        if cf is not None:
            parts[self.model.name if self.model else "cf_item"] = cf
        if shopper.events:
            parts["content"] = 0.5 * self._content_unit(st, shopper)
        prefs = {
            key: context.get(key)
            for key in ("category", "brand", "color", "recipient", "material", "query")
        }
        if any(prefs.values()):
            parts["preference"] = 0.9 * _unit(st.content.query_scores(prefs))
        if shopper.cart:
            parts["bundle"] = 0.6 * _unit(st.bundle_scores(shopper.cart))
        parts["popular"] = st.popular_part[cold]
        parts["trending"] = st.trending_part[cold]
        if shopper.profile:
            segment = st.segment_scores(shopper.profile)
            if segment is not None:
                parts["segment"] = (0.5 if cold else 0.3) * segment
        fresh = st.fresh(shopper.state.now)
        parts["new_item"] = 0.15 * fresh.astype(np.float32)
        total = np.zeros(n, np.float32)
        for value in parts.values():
            total += value
        if _has_budget(context):  # price_fit is all ones without a budget
            fit = price_fit(st.catalog.price, context.get("price_min"), context.get("price_max"))
            # Scaled down when positive, and stepped back by how far out of budget: a product
            # nobody bought (score 0) or one the shopper's taste scores below 0 must not stand
            # level with, or above, one just over the budget.
            total = np.where(total > 0, total * fit, total) - (1.0 - fit)
        # Items the shopper already looked at step back (not out): the page should mostly bring
        # something new, but a much-viewed item can still come back.
        if shopper.events:
            seen = np.unique(shopper.state.items)
            total[seen] *= 0.5
        # Recently shown items step back so the next page brings something new.
        shown = [
            st.catalog.items.index[i]
            for i in context.get("shown", []) or []
            if i in st.catalog.items.index
        ]
        if shown:
            total[shown] -= 0.5
        # Nothing already in the cart, nothing just bought (consumables excepted).
        exclude = st.repurchase_block(shopper) | set(shopper.cart)
        # Several kinds asked for at once (gift ideas, what suits a hobby): a page of five
        # earphones answers only one of them.
        mixed = len(set(filters.categories)) > 1 and not filters.category
        result = self._select(
            st,
            total,
            parts,
            k,
            filters,
            shopper,
            exclude=exclude,
            budget_given=_has_budget(context),
            session=session,
            max_per_category=2 if mixed else None,
            new_items=fresh,
        )
        fallback = result.fallback or ("cold_start_shopper" if cold else None)
        return RecommendationResult(result.items, fallback, result.relaxed)

    def similar_items(
        self, item_id: str, k: int = 10, *, filters: Filters | None = None
    ) -> RecommendationResult:
        st = self._state
        filters = filters or Filters()
        idx = st.catalog.items.get(item_id)
        if idx is None:
            popular = {"popular": st.popularity.astype(np.float32)}
            res = self._select(st, st.popularity.astype(np.float32), popular, k, filters, None)
            return RecommendationResult(res.items, "unknown_item", res.relaxed)
        content = st.content.similar([idx])
        parts = {"similar": _unit(content)}
        fallback = None
        m = int(st.cat_to_model[idx])
        if self.model is not None and m >= 0:
            sims = np.asarray(self.model._similar(m), np.float32)
            cf = np.zeros(len(st.catalog), np.float32)
            known = st.model_known
            cf[known] = sims[st.cat_to_model[known]]
            parts["cf_item"] = 0.7 * _unit(cf)
        else:
            fallback = "cold_start_item"
        total = sum(parts.values())
        excl = frozenset(filters.exclude_items | {item_id})
        res = self._select(
            st,
            np.asarray(total, np.float32),
            parts,
            k,
            _with_excluded(filters, excl),
            None,
            anchor=st.catalog.title[idx],
        )
        return RecommendationResult(res.items, fallback or res.fallback, res.relaxed)

    def bundle(
        self, item_ids: Sequence[str], k: int = 5, *, filters: Filters | None = None
    ) -> RecommendationResult:
        """Complements bought together with `item_ids`, from other categories than theirs."""
        st = self._state
        filters = filters or Filters()
        rows = [st.catalog.items.index[i] for i in item_ids if i in st.catalog.items.index]
        if not rows:
            res = self._select(
                st, st.popularity.astype(np.float32), {"popular": st.popularity}, k, filters, None
            )
            return RecommendationResult(res.items, "unknown_item", res.relaxed)
        pair, generic = st.bundle_parts(rows)
        not_same = ~st.catalog.isin("category", set(st.catalog.category[rows]))
        scores = np.where(not_same, pair + generic, -np.inf).astype(np.float32)
        excl = frozenset(filters.exclude_items | set(item_ids))
        res = self._select(
            st,
            scores,
            {"bought_together": pair, "bundle": generic},
            k,
            _with_excluded(filters, excl),
            None,
            anchor=st.catalog.title[rows[0]],
            max_per_category=2,  # a bundle spans kinds of things: case, charger, film
        )
        return RecommendationResult(res.items, res.fallback, res.relaxed)

    def purchase_probability(
        self, shopper_id: str | None, item_ids: Sequence[str]
    ) -> dict[str, float]:
        st = self._state
        shopper = self._shopper(st, shopper_id)
        idx = [st.catalog.items.index[i] for i in item_ids if i in st.catalog.items.index]
        if not idx:
            return {}
        cand = np.asarray(idx, np.int64)
        probs = self._probabilities(st, shopper, cand)
        return {st.catalog.items.ids[i]: float(p) for i, p in zip(cand, probs, strict=False)}

    def choose_offer(
        self,
        shopper_id: str,
        item_ids: Sequence[str],
        *,
        channel: str | None = None,
        grant: bool = True,
    ) -> OfferDecision | None:
        """The coupon worth giving `shopper_id` for `item_ids` (one id per unit: a cart with two
        of a product lists it twice), granted unless `grant` is False; None when none is."""
        if not shopper_id or len(shopper_id) > 64 or not item_ids:
            return None  # nobody to give a coupon to, or nothing it could apply to
        with self.factory() as session:
            products = list(repo.get_products(session, item_ids).values())
            if not products:
                return None
            best = offer_engine.choose(
                session,
                shopper_id,
                products,
                lambda ids: self.purchase_probability(shopper_id, ids),
                rng=self.rng,
                # An id given twice is two units: the cart's quantities reach a 满减 together.
                units=Counter(item_ids),
            )
            if best is None:
                return None
            offer = best.offer
            text = offer_engine.offer_text(offer, best.discount, best.missing_for_threshold)
            offer_id, title = offer.id, offer.title
        reason = (
            f"购买概率{best.p_buy:.0%}，预计提升{best.expected_uplift:.1%}，"
            f"核销率估计{best.sampled_rate:.0%}"
        )
        grant_id = None
        if grant:
            grant_id = offer_engine.grant(
                self.factory,
                offer_id,
                shopper_id,
                product_id=best.products[0] if best.products else None,
                channel=channel,
                reason=reason,
            )
            if grant_id is None:
                return None  # budget or cap ran out between choosing and granting
        return OfferDecision(offer_id, title, text, grant_id, best.expected_uplift, reason)

    def record_offer_outcome(
        self, grant_id: int, *, redeemed: bool = True, order_id: str | None = None
    ) -> bool:
        return offer_engine.record_outcome(
            self.factory, grant_id, redeemed=redeemed, order_id=order_id
        )

    # --- internals -----------------------------------------------------------------------------

    def _probabilities(self, st: _CatalogState, shopper: _Shopper, cand: np.ndarray) -> np.ndarray:
        cf = self._cf_scores(st, shopper)
        cf_c = cf[cand] if cf is not None else np.zeros(len(cand), np.float32)
        content = self._content_unit(st, shopper)[cand]
        x = build_features(st.catalog, st.stats, shopper.state, cand, cf_c, content)
        if self.ranker is not None:
            return self.ranker.predict(x)
        # Untrained fallback: popularity-based prior raised by this shopper's own interest.
        interest = 0.5 * x[:, 10] + 0.3 * x[:, 8] + 0.8 * cf_c + 0.5 * content
        return 1.0 / (1.0 + np.exp(-(-3.0 + 0.3 * x[:, 3] + interest)))

    def _select(
        self,
        st: _CatalogState,
        total: np.ndarray,
        parts: dict[str, np.ndarray],
        k: int,
        filters: Filters,
        shopper: _Shopper | None,
        *,
        exclude: set[int] | None = None,
        anchor: str | None = None,
        budget_given: bool = False,
        session: Session | None = None,
        max_per_category: int | None = None,
        new_items: np.ndarray | None = None,
    ) -> RecommendationResult:
        catalog = st.catalog

        def mask_of(chosen: Filters) -> np.ndarray:
            mask = rules.filter_mask(catalog, chosen)
            if exclude:
                mask[list(exclude)] = False
            return mask & np.isfinite(total)

        relaxed: list[str] = []
        active = filters
        mask = mask_of(active)
        for step in rules.RELAX_ORDER:
            if mask.any():
                break
            if rules.is_active(active, step):
                active = rules.relax(active, step)
                relaxed.append(step)
                mask = mask_of(active)
        # Dropped on the way but not needed: a gift for 女朋友 under ¥500 with no phone that
        # cheap needs the budget dropped, not the audience too. The most important come back
        # first.
        for step in reversed(relaxed[:-1]):
            fewer = [s for s in relaxed if s != step]
            trial = filters
            for dropped in fewer:
                trial = rules.relax(trial, dropped)
            trial_mask = mask_of(trial)
            if trial_mask.any():
                relaxed, active, mask = fewer, trial, trial_mask
        if not mask.any():
            return RecommendationResult([], "no_match", tuple(relaxed))
        scores = np.where(mask, total, -np.inf)
        pool_size = min(int(mask.sum()), max(10 * k, 100))
        pool = _top_pool(scores, pool_size)
        pool = pool[np.isfinite(scores[pool])]
        # Final ranker: calibrated purchase probability over the pooled candidates, blended with
        # the retrieval score so the ranker reorders but does not ignore stated preferences.
        final = scores[pool].astype(np.float64)
        if shopper is not None and self.ranker is not None and len(pool):
            probs = self._probabilities(st, shopper, pool)
            if budget_given:
                # The ranker knows nothing of the budget: over a relaxed one, the nearest
                # alternatives should be the nearest in price too, not a ¥4,999 phone for ¥500.
                probs = probs * price_fit(catalog.price[pool], filters.price_min, filters.price_max)
            final = 0.5 * _unit(final) + 0.5 * _unit(probs)
        order = pool[np.argsort(-final, kind="stable")]
        final_by_idx = dict(zip(pool.tolist(), final.tolist(), strict=False))
        # A few spares: items sold out since the catalogue was loaded drop at the stock check
        # below, and the page should still be full.
        spare = k + min(5, k)
        page = rules.diversify(
            order, spare, catalog, st.content.features, max_per_category=max_per_category
        )
        promoted_pool = order[st.promoted[order]].tolist()
        if max_per_category is not None:
            # A promoted item takes a place too: a bundle of three socks and a promoted fourth
            # is not the mix of kinds the cap is there for.
            kept = Counter(catalog.category[i] for i in page[: max(k - 1, 0)])
            promoted_pool = [
                i for i in promoted_pool if kept[catalog.category[i]] < max_per_category
            ]
        head, promoted_used = rules.insert_promoted(page[:k], promoted_pool, k, PROMOTED_SHARE)
        page = head + [i for i in page[k:] if i not in head]
        new_used: set[int] = set()
        slots = self._new_item_slots(k)
        if new_items is not None and slots:
            # The offline evaluation's finding, applied live: the best-ranked new arrivals that
            # passed the filters get the page's last places (see Hybrid.rank).
            fresh_pool = order[new_items[order] & ~st.promoted[order]].tolist()
            page, new_used = rules.reserve_tail(page, fresh_pool, k, slots, keep=promoted_used)
        page = self._verify_stock(st, page, active, session)[:k]
        promoted_used &= set(page)
        anchors = self._anchors(st, shopper, page) if shopper is not None else {}
        items = []
        for idx in page:
            # Relaxed budgets bring items outside it; those are not "符合你的预算".
            in_budget = budget_given and rules.within_budget(float(catalog.price[idx]), filters)
            source = (
                "promoted"
                if idx in promoted_used
                else "new_item"
                if idx in new_used
                else _top_source(parts, idx)
            )
            reason = self._reason(
                st, source, idx, shopper, anchors.get(idx, anchor), in_budget, active.suited
            )
            items.append(
                Recommendation(
                    catalog.items.ids[idx],
                    round(float(final_by_idx.get(idx, 0.0)), 6),
                    reason,
                    source,
                )
            )
        return RecommendationResult(items, "relaxed_filters" if relaxed else None, tuple(relaxed))

    def _new_item_slots(self, k: int) -> int:
        """New-arrival places on a page of k: the served model's tuned share (per page of 10)."""
        per_ten = int(getattr(self.model, "new_item_slots", 0) or 0)
        return int(per_ten * k / 10 + 0.5)

    def _verify_stock(
        self,
        st: _CatalogState,
        page: list[int],
        filters: Filters,
        session: Session | None = None,
    ) -> list[int]:
        """Re-read stock and price of the page from the database: the snapshot may be stale."""
        if not page:
            return page
        ids = [st.catalog.items.ids[i] for i in page]
        with _use(self.factory, session) as session:
            fresh = repo.stock_and_price(session, ids)
        out = []
        for idx, pid in zip(page, ids, strict=False):
            found = fresh.get(pid)
            if found is None:
                continue
            stock, price = found
            if filters.in_stock and stock <= 0:
                continue
            if filters.price_max is not None and price > filters.price_max:
                continue
            if filters.price_min is not None and price < filters.price_min:
                continue
            out.append(idx)
        return out

    def _reason(
        self,
        st: _CatalogState,
        source: str,
        idx: int,
        shopper: _Shopper | None,
        anchor: str | None,
        budget: bool,
        suited: str | None = None,
    ) -> str:
        info: dict[str, Any] = {"category": st.catalog.category[idx], "anchor": anchor}
        if shopper is not None and source in ("bundle", "bought_together") and shopper.cart:
            best = max(shopper.cart, key=lambda c: _csr_value(st.copurchase, c, idx))
            info["anchor"] = st.catalog.title[best]
            info["in_cart"] = True
        if source == "preference":
            info["budget"] = budget
            info["suited"] = suited
        text = reason_for(source, **info)
        if budget and source not in ("preference", "budget"):
            text += "，符合你的预算"
        return text

    def _anchors(self, st: _CatalogState, shopper: _Shopper, page: list[int]) -> dict[int, str]:
        """For each page item, the recently touched item most like it (for "因为你浏览过…")."""
        touched = list(dict.fromkeys(e[0] for e in shopper.events))[:30]
        if not touched or not page:
            return {}
        sims = row_dots(st.content.features, page, touched)
        out = {}
        for row, idx in enumerate(page):
            own = [n for n, t in enumerate(touched) if t == idx]
            sims[row, own] = -1.0  # never "because you viewed" the item itself
            best = int(np.argmax(sims[row]))
            if sims[row, best] > 0:
                out[idx] = st.catalog.title[touched[best]]
        return out


@contextmanager
def _use(factory: sessionmaker, session: Session | None) -> Iterator[Session]:
    """The caller's session if it has one, else a short-lived one of our own."""
    if session is not None:
        yield session
        return
    with factory() as own:
        yield own


def _unit(x: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the max (keeps zeros at zero, so absent signals add nothing)."""
    x = np.asarray(x, np.float32)
    top = float(x.max()) if x.size else 0.0
    lo = float(x.min()) if x.size else 0.0
    if not (math.isfinite(top) and math.isfinite(lo)):
        # Only then is the finite subset (a copy) needed: max and min pass NaN and inf through.
        finite = x[np.isfinite(x)]
        top = float(finite.max()) if finite.size else 0.0
        lo = float(finite.min()) if finite.size else 0.0
    if lo < 0:
        x = x - lo
        top -= lo
    return x / top if top > 0 else np.zeros_like(x)


def _top_pool(scores: np.ndarray, size: int) -> np.ndarray:
    """Indices of the `size` largest scores, in no particular order (np.argpartition's answer).

    On a large catalogue a threshold read from a strided sample first keeps the few hundred
    items that can be among them, and only those are partitioned; if fewer than `size` pass,
    the whole array is partitioned. Either way every score above the size-th largest is kept.
    """
    n = len(scores)
    if n >= PREFILTER_MIN_ITEMS and 20 * size < n:
        sample = scores[::SAMPLE_STRIDE]
        rank = min(len(sample), 4 * size // SAMPLE_STRIDE + 2)
        threshold = np.partition(sample, len(sample) - rank)[len(sample) - rank]
        if np.isfinite(threshold):
            candidates = np.flatnonzero(scores >= threshold)
            if len(candidates) >= size:
                part = np.argpartition(-scores[candidates], size - 1)[:size]
                return candidates[part]
    return np.argpartition(-scores, size - 1)[:size]


def _csr_value(matrix: sp.csr_matrix, row: int, col: int) -> float:
    """matrix[row, col] read from the CSR arrays (scipy's scalar indexing costs ~20 µs)."""
    lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
    return float(matrix.data[lo:hi][matrix.indices[lo:hi] == col].sum())


def _top_source(parts: dict[str, np.ndarray], idx: int) -> str:
    best, best_val = "popular", -np.inf
    for name, values in parts.items():
        v = float(values[idx])
        if np.isfinite(v) and v > best_val:
            best, best_val = name, v
    return best


def _has_budget(context: dict) -> bool:
    return context.get("price_max") is not None or context.get("price_min") is not None


def _with_excluded(filters: Filters, excluded: frozenset[str]) -> Filters:
    return replace(filters, exclude_items=excluded)


TOGETHER_DAYS = 7.0
PAIR_SHRINK = 3.0
REPURCHASE_SHARE = 0.15


def _purchase_structure(
    catalog: Catalog, purchases: Sequence[tuple[str, str, Any]]
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Bought-together lift (same shopper, within a week) and which items are consumables.

    Complements are often bought in a follow-up order (the case after the phone), so pairs come
    from one shopper's purchases within TOGETHER_DAYS rather than from single orders. A category
    counts as consumable when many of its buyers buy it again (plus a fixed list of staples).
    """
    n = len(catalog)
    index = catalog.items.index
    rows = [(s, index[p], ts.timestamp()) for s, p, ts in purchases if p in index]
    consumable = catalog.consumable()
    if not rows:
        return sp.csr_matrix((n, n), dtype=np.float32), consumable
    shoppers = IdMap.from_ids(r[0] for r in rows)
    who = np.asarray([shoppers.index[r[0]] for r in rows], np.int64)
    item = np.asarray([r[1] for r in rows], np.int64)
    ts = np.asarray([r[2] for r in rows], np.float64)
    order = np.lexsort((ts, who))
    who, item, ts = who[order], item[order], ts[order]
    a_list, b_list = [], []
    for lag in range(1, 12):  # pairs up to 11 purchases apart, vectorised per lag
        same = (who[lag:] == who[:-lag]) & (ts[lag:] - ts[:-lag] <= TOGETHER_DAYS * 86400)
        same &= item[lag:] != item[:-lag]
        if not same.any():
            break
        a_list.append(item[:-lag][same])
        b_list.append(item[lag:][same])
    if a_list:
        a = np.concatenate(a_list)
        b = np.concatenate(b_list)
        co = sp.csr_matrix(
            (np.ones(2 * len(a), np.float32), (np.r_[a, b], np.r_[b, a])), shape=(n, n)
        )
        co.sum_duplicates()
        buyers = np.bincount(item, minlength=n).astype(np.float64)
        inv = sp.diags(1.0 / np.sqrt(np.maximum(buyers, 1.0)))
        # One shopper buying a phone and a vacuum in one week is a coincidence as often as a
        # complement, and between rarely bought items it gave the highest cosine of all: pairs
        # count by their evidence, n / (n + PAIR_SHRINK).
        evidence = co.copy()
        evidence.data = evidence.data / (evidence.data + PAIR_SHRINK)
        lift = (inv @ co @ inv).multiply(evidence).tocsr().astype(np.float32)
    else:
        lift = sp.csr_matrix((n, n), dtype=np.float32)
    # Repurchase share per category: (shopper, category) pairs with two or more purchases.
    cats = catalog.category[item]
    pair_keys = np.char.add(who.astype(str), np.asarray(cats, dtype=str))
    uniq, counts = np.unique(pair_keys, return_counts=True)
    first_cat = {k: c for k, c in zip(pair_keys, cats, strict=True)}
    again: dict[str, list[int]] = {}
    for key, count in zip(uniq, counts, strict=True):
        again.setdefault(first_cat[key], []).append(int(count >= 2))
    repeat = {c: float(np.mean(v)) for c, v in again.items() if len(v) >= 5}
    learned = np.asarray([repeat.get(c, 0.0) >= REPURCHASE_SHARE for c in catalog.category])
    return lift, consumable | learned


def _segment_vectors(
    catalog: Catalog, rows: Sequence[tuple[Any, Any, str, int]]
) -> dict[tuple[Any, Any], np.ndarray]:
    """Normalised item scores per (age band, gender), (age band, -) and (-, gender)."""
    out: dict[tuple[Any, Any], np.ndarray] = {}
    index = catalog.items.index
    for age, gender, pid, count in rows:
        if pid not in index:
            continue
        for key in ((age, gender), (age, None), (None, gender)):
            if key == (None, None):
                continue
            vec = out.setdefault(key, np.zeros(len(catalog), np.float32))
            vec[index[pid]] += count
    return {k: _unit(v) for k, v in out.items()}
