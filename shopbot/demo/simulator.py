"""Behaviour simulator: shoppers with latent tastes browsing, buying and coming back.

Each shopper has hidden tastes (category interest shaped by gender, age and a baby at home; brand
loyalty; a budget and a price sensitivity). Sessions run a search -> view -> click -> add_to_cart
-> purchase funnel. Buying a phone brings a case or charger soon after; consumables run out and
are bought again; new products draw attention while they are new. The final week is held out for
evaluation: train on events before `HOLDOUT_START`, test on the rest.

Every shopper is simulated from its own random stream derived from the seed, so the result is the
same for the same seed and config, whatever the machine.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np

from shopbot.demo.catalog import Catalog, generate_catalog
from shopbot.demo.config import SimulationConfig, load_simulation_config
from shopbot.demo.vocabulary import Vocabulary, load_vocabulary

# The held-out final week of the default configuration (data/store/simulation.yml).
HOLDOUT_START: datetime = load_simulation_config().holdout_start

EVENT_COLUMNS = (
    "id",
    "shopper_id",
    "product_id",
    "type",
    "query",
    "dwell_seconds",
    "channel",
    "session_id",
    "ts",
)


class SimEvent(NamedTuple):
    id: str
    shopper_id: str
    product_id: str | None
    type: str
    query: str | None
    dwell_seconds: float | None
    channel: str | None
    session_id: str | None
    ts: datetime


@dataclass(frozen=True)
class ShopperTaste:
    """The hidden truth about a shopper, kept for tests and evaluation, never stored."""

    gender: str
    age_band: str
    parent: bool
    budget: float
    sensitivity: float
    top_categories: tuple[str, ...]


@dataclass
class Simulation:
    config: SimulationConfig
    catalog: Catalog
    shoppers: list[dict[str, Any]]
    events: list[SimEvent]
    orders: list[dict[str, Any]]
    order_items: list[dict[str, Any]]
    cart_items: list[dict[str, Any]]
    tastes: dict[str, ShopperTaste] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "products": len(self.catalog.products),
            "shoppers": len(self.shoppers),
            "events": len(self.events),
            "orders": len(self.orders),
            "order_items": len(self.order_items),
            "cart_items": len(self.cart_items),
        }


@dataclass
class _CategoryIndex:
    """Column arrays over one category's products, for scoring a whole shelf at once."""

    ids: list[str]
    created: np.ndarray  # epoch seconds
    log_pop: np.ndarray
    level: np.ndarray
    gender: np.ndarray  # 0 unisex, 1 male, 2 female
    brand: np.ndarray  # index into brands
    brands: list[str]
    prices: np.ndarray


@dataclass
class _Session:
    ts: float
    category: str
    intent: str  # organic | accessory | repurchase
    product: str | None = None


_GENDER_CODE = {None: 0, "M": 1, "F": 2}
_GIFT_RECIPIENTS = {
    "F_for_M": ["女朋友", "老婆", "妈妈"],
    "M_for_F": ["男朋友", "老公", "爸爸"],
    "kids": ["儿子", "女儿", "宝宝"],
    "elders": ["爸爸", "妈妈", "老人"],
}
_KID_CATEGORIES = {"玩具", "奶粉", "纸尿裤", "奶瓶", "湿巾", "图书"}
_ELDER_CATEGORIES = {"茶叶", "保温杯", "智能手表", "电饭煲", "床上用品"}


def _ts(value: datetime) -> float:
    return (value - datetime(1970, 1, 1)).total_seconds()


def _dt(seconds: float) -> datetime:
    return datetime(1970, 1, 1) + timedelta(seconds=round(seconds))


def order_status(age_seconds: float, fulfilment: dict[str, float], roll: float) -> str:
    """Where an order placed `age_seconds` before the history's end stands at that end."""
    if age_seconds < fulfilment["ship_hours"] * 3600:
        return "paid"
    if age_seconds < fulfilment["ship_hours"] * 3600 + fulfilment["deliver_days"] * 86400:
        return "shipped"
    return "refunded" if roll < fulfilment["refunded"] else "delivered"


def _choice(rng: random.Random, weights: dict[str, float]) -> str:
    """A key drawn in proportion to its weight (one uniform draw, so streams stay aligned)."""
    total = sum(weights.values())
    roll = rng.random() * total
    for key, weight in weights.items():
        roll -= weight
        if roll < 0:
            return key
    return next(reversed(weights))


class _World:
    def __init__(self, config: SimulationConfig, catalog: Catalog, vocab: Vocabulary) -> None:
        self.config = config
        self.catalog = catalog
        self.vocab = vocab
        self.start = _ts(config.start)
        self.end = _ts(config.end)
        self.categories = sorted({p["category"] for p in catalog.products})
        self.price = {p["id"]: float(p["price"]) for p in catalog.products}
        self.product_category = {p["id"]: p["category"] for p in catalog.products}
        self.index: dict[str, _CategoryIndex] = {}
        for category, rows in catalog.by_category().items():
            brands = sorted({r["brand"] for r in rows})
            lat = [catalog.latent[r["id"]] for r in rows]
            self.index[category] = _CategoryIndex(
                ids=[r["id"] for r in rows],
                created=np.array([_ts(r["created_at"]) for r in rows]),
                log_pop=np.log(np.array([x.popularity for x in lat])),
                level=np.array([x.price_level for x in lat]),
                gender=np.array([_GENDER_CODE[x.gender] for x in lat]),
                brand=np.array([brands.index(r["brand"]) for r in rows]),
                brands=brands,
                prices=np.array([float(r["price"]) for r in rows]),
            )
        self.product_pos = {
            pid: (cat, i) for cat, ix in self.index.items() for i, pid in enumerate(ix.ids)
        }
        self.consumables = {k: float(v) for k, v in config.consumables.items()}
        # Owning one dulls the wish for another: strongly for dear durables (a second phone
        # in six weeks is rare), mildly for cheap ones (a second T恤 is not).
        self.after_purchase = {
            cat: 1.0 if cat in self.consumables else (0.1 if np.median(ix.prices) >= 500 else 0.6)
            for cat, ix in self.index.items()
        }


class _ShopperRun:
    """Simulates one shopper's whole history from its own random stream."""

    def __init__(self, world: _World, number: int, seed: int) -> None:
        self.w = world
        self.cfg = world.config
        # numpy for whole-shelf draws, the stdlib for single draws (several times faster);
        # both seeded from (seed, shopper) so every shopper's history is reproducible alone.
        self.rng = np.random.default_rng([seed, number])
        self.r = random.Random(f"{seed}:{number}")
        self.id = f"u{number:05d}"
        self.events: list[tuple[Any, ...]] = []
        self.orders: list[tuple[float, str, list[tuple[str, int]]]] = []
        self.cart_open: dict[str, float] = {}
        self.brand_prefs: dict[str, np.ndarray] = {}
        self.session_no = 0
        self._draw_profile()

    # --- who the shopper is ---------------------------------------------------------------
    def _draw_profile(self) -> None:
        rng, demo = self.rng, self.cfg.demographics
        self.gender = _choice(self.r, demo["gender"])
        self.age_band = _choice(self.r, demo["age_band"])
        self.parent = bool(self.r.random() < demo["parent"][self.age_band])
        self.region = _choice(self.r, demo["region"])
        self.occupation = _choice(self.r, demo["occupation"])
        if self.age_band == "18-24" and self.r.random() < 0.6:
            self.occupation = "学生"
        if self.age_band == "55+" and self.r.random() < 0.6:
            self.occupation = "退休"
        self.consent = bool(self.r.random() < self.cfg.consent_rate)
        self.budget = float(np.clip(demo["budget"][self.occupation] + self.r.gauss(0, 0.15), 0, 1))
        self.sensitivity = float(self.r.uniform(0.5, 2.0))
        self.activity = float(self.r.lognormvariate(-0.245, 0.7))  # mean 1
        weights = []
        for category in self.w.categories:
            aud = self.cfg.audience.get(category, {})
            weight = float(aud.get("base", 0.3))
            weight *= float(aud.get(self.gender, 1.0)) * float(aud.get(self.age_band, 1.0))
            if self.parent:
                weight *= float(aud.get("parent", 1.0))
            weights.append(weight)
        # Gamma noise with a small shape makes tastes peaked: a few categories dominate.
        affinity = np.array(weights) * rng.gamma(0.6, 1.0, size=len(weights))
        self.affinity = affinity / affinity.sum()
        self.initial_affinity = self.affinity.copy()
        late = self.r.random() < self.cfg.new_shopper_share
        holdout = self.w.end - self.cfg.holdout_days * 86400
        if late:
            self.joined = holdout + self.r.random() * (self.w.end - holdout - 3600)
        else:
            self.joined = self.w.start - self.r.random() * 365 * 86400
        self.channel = _choice(self.r, self.cfg.channels)

    def profile_row(self) -> dict[str, Any]:
        # Without consent the profile is not stored at all, so it cannot leak into models.
        keep = self.consent
        return {
            "id": self.id,
            "age_band": self.age_band if keep else None,
            "gender": self.gender if keep else None,
            "region": self.region if keep else None,
            "occupation": self.occupation if keep else None,
            "consent": self.consent,
            "created_at": _dt(self.joined),
        }

    def taste(self) -> ShopperTaste:
        top = np.argsort(-self.initial_affinity)[:5]
        return ShopperTaste(
            gender=self.gender,
            age_band=self.age_band,
            parent=self.parent,
            budget=self.budget,
            sensitivity=self.sensitivity,
            top_categories=tuple(self.w.categories[i] for i in top),
        )

    # --- the history ------------------------------------------------------------------------
    def run(self) -> None:
        rng, w = self.rng, self.w
        first = max(self.joined, w.start)
        span = (w.end - first) / (w.end - w.start)
        n = int(rng.poisson(self.cfg.sessions_per_shopper * self.activity * span))
        n = max(n, 1)
        queue: list[tuple[float, int, _Session]] = []
        for i, t in enumerate(sorted(first + rng.random(n) * (w.end - first))):
            heapq.heappush(queue, (float(t), i, _Session(float(t), "", "organic")))
        tie = n
        while queue:
            t, _, session = heapq.heappop(queue)
            if t >= w.end - 60:
                continue
            if not session.category:
                # Drawn when the session happens, so earlier purchases can change the wish.
                cum = np.cumsum(self.affinity)
                pick = int(np.searchsorted(cum, self.r.random() * cum[-1], side="right"))
                session.category = w.categories[min(pick, len(w.categories) - 1)]
            for follow in self._session(session):
                tie += 1
                heapq.heappush(queue, (follow.ts, tie, follow))

    def _brand_prefs(self, category: str) -> np.ndarray:
        if category not in self.brand_prefs:
            ix = self.w.index[category]
            loyalty = self.r.betavariate(2, 2)
            prefs = self.rng.dirichlet(np.full(len(ix.brands), 0.6))
            self.brand_prefs[category] = 3.0 * loyalty * prefs
        return self.brand_prefs[category]

    def _scores(self, category: str, ts: float, gift: bool) -> tuple[np.ndarray, np.ndarray]:
        ix = self.w.index[category]
        available = np.flatnonzero(ix.created <= ts)
        level = ix.level[available]
        gap = level - self.budget
        # Too dear hurts more than too cheap, and more for price-sensitive shoppers.
        price_fit = -self.sensitivity * np.where(gap > 0, (gap / 0.22) ** 2, (gap / 0.45) ** 2)
        own = _GENDER_CODE[self.gender]
        target = (3 - own) if gift else own
        g = ix.gender[available]
        gender_fit = np.where((g == 0) | (g == target), 0.0, -3.0)
        age_days = (ts - ix.created[available]) / 86400
        novelty = np.where(age_days < self.cfg.novelty["days"], self.cfg.novelty["boost"], 0.0)
        score = (
            0.9 * ix.log_pop[available]
            + self._brand_prefs(category)[ix.brand[available]]
            + price_fit
            + gender_fit
            + novelty
        )
        return available, score

    def _session(self, s: _Session) -> list[_Session]:
        rng, cfg, w = self.rng, self.cfg, self.w
        funnel = cfg.funnel
        ix = w.index[s.category]
        gift = bool(self.r.random() < (0.35 if self._gift_category(s.category) else 0.05))
        available, score = self._scores(s.category, s.ts, gift)
        if len(available) == 0:
            return []
        self.session_no += 1
        sid = f"{self.id}-s{self.session_no:03d}"
        channel = self.channel if self.r.random() < 0.85 else _choice(self.r, cfg.channels)
        clock = s.ts

        # What the shopper looks at: Gumbel top-k sampling over the shelf's scores.
        k = min(len(available), 1 + int(rng.poisson(max(funnel["views_mean"] - 1, 0))))
        keys = score + funnel["temperature"] * rng.gumbel(size=len(score))
        order = np.argsort(-keys)[:k]
        viewed = [ix.ids[available[i]] for i in order]
        viewed_score = [float(score[i]) for i in order]
        if s.product and s.product in ix.ids and ix.created[ix.ids.index(s.product)] <= s.ts:
            if s.product in viewed:
                j = viewed.index(s.product)
                viewed.pop(j)
                viewed_score.pop(j)
            viewed.insert(0, s.product)
            viewed_score.insert(0, max(viewed_score, default=0.0) + 2.0)

        need = s.intent != "organic"
        clicked = [
            i
            for i in range(len(viewed))
            if self.r.random()
            < min(0.95, funnel["click"] * (1.5 if i == 0 else 1.0) * (1.3 if need else 1.0))
        ]
        pool = clicked or [0]
        best = max(pool, key=lambda i: viewed_score[i])
        cart_p = funnel["add_to_cart"] * (1.0 if clicked else 0.4) * (1.6 if need else 1.0)
        carted = self.r.random() < min(0.95, cart_p)
        bought: list[tuple[str, int]] = []
        best_id = viewed[best]
        if carted:
            level = w.catalog.latent[best_id].price_level
            over = max(0.0, level - self.budget - 0.1)
            buy_p = funnel["purchase"] * math.exp(-3.0 * self.sensitivity * over)
            buy_p *= 1.35 if need else 1.0
            if self.r.random() < min(0.97, buy_p):
                qty = 1
                if s.category in w.consumables and self.r.random() < 0.3:
                    qty = self.r.randint(2, 3)
                bought.append((best_id, qty))

        follow: list[_Session] = []
        extra: str | None = None
        accessories = w.vocab.accessories.get(s.category, [])
        if bought:
            self.affinity[w.categories.index(s.category)] *= w.after_purchase[s.category]
        if bought and accessories:
            acc = accessories[min(int(rng.geometric(0.5)) - 1, len(accessories) - 1)]
            if acc in w.index:
                roll = self.r.random()
                if roll < cfg.accessories["same_order"]:
                    extra = self._pick_accessory(acc, s.ts, gift)
                elif roll < cfg.accessories["same_order"] + cfg.accessories["followup"]:
                    delay = self.r.uniform(0.05, cfg.accessories["followup_days"]) * 86400
                    follow.append(_Session(s.ts + delay, acc, "accessory"))
        if (
            bought
            and s.category in w.consumables
            and self.r.random() < cfg.repurchase["probability"]
        ):
            delay = w.consumables[s.category] * self.r.uniform(0.75, 1.3) * 86400
            again = best_id if self.r.random() < cfg.repurchase["same_product"] else None
            follow.append(_Session(s.ts + delay, s.category, "repurchase", again))

        # --- emit the session's events in order -------------------------------------------
        dwell = cfg.dwell
        factor = {pid: dwell["bought_factor"] for pid, _ in bought}
        if (self.r.random() < funnel["search"]) or (need and self.r.random() < 0.5):
            query = self._query(s.category, gift)
            clock = self._emit(clock, "search", None, sid, channel, query=query, gap=4)
        clicked_set = set(clicked)
        for i, pid in enumerate(viewed):
            seconds = self._dwell(dwell["view"], factor.get(pid, 1.0))
            clock = self._emit(clock, "view", pid, sid, channel, dwell=seconds)
            if i in clicked_set:
                seconds = self._dwell(dwell["click"], factor.get(pid, 1.0))
                clock = self._emit(clock, "click", pid, sid, channel, dwell=seconds)
                if self.r.random() < funnel["favorite"]:
                    clock = self._emit(clock, "favorite", pid, sid, channel, gap=3)
        if carted:
            clock = self._emit(clock, "add_to_cart", best_id, sid, channel, gap=5)
            self.cart_open[best_id] = clock
        if extra:
            clock = self._emit(
                clock, "view", extra, sid, channel, dwell=self._dwell(dwell["view"], 1)
            )
            clock = self._emit(clock, "add_to_cart", extra, sid, channel, gap=5)
            bought.append((extra, 1))
        if bought:
            for pid, _ in bought:
                clock = self._emit(clock, "purchase", pid, sid, channel, gap=20)
                self.cart_open.pop(pid, None)
            self.orders.append((clock, channel, bought))
        elif carted and self.r.random() < funnel["remove_from_cart"]:
            clock = self._emit(clock, "remove_from_cart", best_id, sid, channel, gap=30)
            self.cart_open.pop(best_id, None)
        return follow

    def _pick_accessory(self, category: str, ts: float, gift: bool) -> str | None:
        available, score = self._scores(category, ts, gift)
        if len(available) == 0:
            return None
        keys = score + self.cfg.funnel["temperature"] * self.rng.gumbel(size=len(score))
        return self.w.index[category].ids[available[int(np.argmax(keys))]]

    def _gift_category(self, category: str) -> bool:
        aud = self.cfg.audience.get(category, {})
        other = "F" if self.gender == "M" else "M"
        return float(aud.get(other, 1.0)) > 1.5 * float(aud.get(self.gender, 1.0))

    def _dwell(self, median: float, factor: float) -> float:
        value = self.r.lognormvariate(math.log(median * factor), self.cfg.dwell["sigma"])
        return round(float(value), 1)

    def _emit(
        self,
        clock: float,
        kind: str,
        product: str | None,
        sid: str,
        channel: str,
        *,
        query: str | None = None,
        dwell: float | None = None,
        gap: float = 0.0,
    ) -> float:
        self.events.append((clock, kind, product, query, dwell, channel, sid))
        return clock + (dwell if dwell is not None else gap) + float(self.r.uniform(1, 6))

    def _query(self, category: str, gift: bool) -> str:
        vocab = self.w.vocab
        names = [category, *[s for s in vocab.categories.get(category, []) if not s.isascii()]]
        name = names[self.r.randrange(len(names))]
        if gift:
            recipient = self._recipient(category)
            aliases = [recipient, *vocab.recipients.get(recipient, [])[:3]]
            who = aliases[self.r.randrange(len(aliases))]
            return f"给{who}买{name}" if self.r.random() < 0.6 else f"送{who}的{name}"
        roll = self.r.random()
        ix = self.w.index[category]
        if roll < 0.4:
            return name
        if roll < 0.65:
            brand = ix.brands[int(np.argmax(self._brand_prefs(category)))]
            aliases = [brand, *vocab.brands.get(brand, [])[:2]]
            lines = vocab.lines_for(brand, category)
            if lines and self.r.random() < 0.4:
                return lines[self.r.randrange(len(lines))]
            return f"{aliases[self.r.randrange(len(aliases))]}{name}"
        if roll < 0.85:
            cap = float(np.quantile(ix.prices, min(1.0, self.budget + 0.15)))
            cap = max(50, int(round(cap, -2 if cap >= 1000 else -1)))
            return f"{cap}以内的{name}" if self.r.random() < 0.7 else f"{name} {cap}左右"
        colors = list(vocab.colors)
        return f"{colors[self.r.randrange(len(colors))]}{name}"

    def _recipient(self, category: str) -> str:
        if category in _KID_CATEGORIES:
            group = "kids"
        elif category in _ELDER_CATEGORIES:
            group = "elders"
        else:
            group = "F_for_M" if self.gender == "M" else "M_for_F"
        options = _GIFT_RECIPIENTS[group]
        return options[self.r.randrange(len(options))]


def simulate(
    seed: int | None = None,
    *,
    config: SimulationConfig | None = None,
    catalog: Catalog | None = None,
    vocabulary: Vocabulary | None = None,
    progress: bool = False,
) -> Simulation:
    """Run the whole store's history. `seed` defaults to the config's."""
    config = config or load_simulation_config()
    seed = config.seed if seed is None else seed
    vocab = vocabulary or load_vocabulary()
    catalog = catalog or generate_catalog(seed, config=config, vocabulary=vocab)
    world = _World(config, catalog, vocab)

    shoppers: list[dict[str, Any]] = []
    tastes: dict[str, ShopperTaste] = {}
    raw_events: list[tuple[Any, ...]] = []
    raw_orders: list[tuple[float, str, str, list[tuple[str, int]]]] = []
    carts: list[tuple[float, str, str]] = []
    numbers = range(1, config.shoppers + 1)
    if progress:
        from tqdm import tqdm

        numbers = tqdm(numbers, desc="simulating shoppers", unit="shopper")
    for number in numbers:
        run = _ShopperRun(world, number, seed)
        run.run()
        shoppers.append(run.profile_row())
        tastes[run.id] = run.taste()
        raw_events.extend((e[0], run.id, *e[1:]) for e in run.events)
        raw_orders.extend((t, run.id, ch, items) for t, ch, items in run.orders)
        carts.extend((t, run.id, pid) for pid, t in run.cart_open.items())

    raw_events.sort(key=lambda e: (e[0], e[1], e[7]))
    events = [
        SimEvent(
            id=f"e{i:07d}",
            shopper_id=e[1],
            product_id=e[3],
            type=e[2],
            query=e[4],
            dwell_seconds=e[5],
            channel=e[6],
            session_id=e[7],
            ts=_dt(e[0]),
        )
        for i, e in enumerate(raw_events, start=1)
    ]

    raw_orders.sort(key=lambda o: (o[0], o[1]))
    # Its own stream, so that the fulfilment parameters change no shopper's behaviour.
    fate = random.Random(f"{seed}:fulfilment")
    orders: list[dict[str, Any]] = []
    order_items: list[dict[str, Any]] = []
    for i, (t, shopper, channel, items) in enumerate(raw_orders, start=1):
        oid = f"o{i:06d}"
        merged: dict[str, int] = {}
        for pid, qty in items:
            merged[pid] = merged.get(pid, 0) + qty
        gross = sum(world.price[pid] * qty for pid, qty in merged.items())
        # The store-wide 满300减40 was in force for the whole history.
        discount = 40.0 if gross >= 300 else 0.0
        orders.append(
            {
                "id": oid,
                "shopper_id": shopper,
                "total": round(gross - discount, 2),
                "discount": discount,
                "status": order_status(world.end - t, config.fulfilment, fate.random()),
                "channel": channel,
                "created_at": _dt(t),
            }
        )
        order_items.extend(
            {"order_id": oid, "product_id": pid, "quantity": qty, "unit_price": world.price[pid]}
            for pid, qty in merged.items()
        )

    # Open carts: recent adds that were neither bought nor removed, newest first.
    recent = world.end - 5 * 86400
    carts = sorted((c for c in carts if c[0] >= recent), key=lambda c: (-c[0], c[1], c[2]))
    cart_items = [
        {"shopper_id": s, "product_id": p, "quantity": 1, "added_at": _dt(t)}
        for t, s, p in carts[: config.carts]
    ]
    return Simulation(
        config=config,
        catalog=catalog,
        shoppers=shoppers,
        events=events,
        orders=orders,
        order_items=order_items,
        cart_items=cart_items,
        tastes=tastes,
    )


def build_offers(catalog: Catalog, now: datetime) -> list[dict[str, Any]]:
    """A handful of promotions with validity windows around `now` (the seeding time).

    Windows follow the clock rather than the simulated history so that a freshly seeded store
    always has offers in force; one has ended and one has not started, to exercise the rules.
    """
    day = timedelta(days=1)
    newest = max(
        (p for p in catalog.products if "新品" in p["tags"]),
        key=lambda p: (catalog.latent[p["id"]].popularity, p["id"]),
        default=catalog.products[-1],
    )

    def offer(
        n: int,
        title: str,
        kind: str,
        scope: str,
        value: str | None,
        amount: float,
        threshold: float = 0.0,
        start: float = -7,
        end: float = 30,
        budget: int | None = None,
        cap: int = 1,
    ) -> dict[str, Any]:
        return {
            "id": f"of{n:03d}",
            "title": title,
            "kind": kind,
            "scope": scope,
            "scope_value": value,
            "amount": amount,
            "threshold": threshold,
            "starts_at": (now + start * day).replace(microsecond=0),
            "ends_at": (now + end * day).replace(microsecond=0),
            "budget_total": budget,
            "budget_used": 0,
            "per_shopper_cap": cap,
            "active": True,
        }

    return [
        offer(1, "全场满300减40", "threshold", "all", None, 40, 300, budget=5000, cap=2),
        offer(2, "华为品牌券 立减200元", "fixed", "brand", "华为", 200, 0, budget=300),
        offer(3, "运动鞋 9折", "percent", "category", "运动鞋", 10, 0, budget=1000, cap=2),
        offer(4, "奶粉 满500减60", "threshold", "category", "奶粉", 60, 500, budget=800, cap=3),
        offer(5, "耐克 满1000减150", "threshold", "brand", "耐克", 150, 1000, budget=200),
        offer(6, "咖啡 8.8折", "percent", "category", "咖啡", 12, 0, budget=2000, cap=3),
        offer(
            7,
            f"新品尝鲜 {newest['brand']} 立减30元",
            "fixed",
            "product",
            newest["id"],
            30,
            0,
            budget=100,
        ),
        offer(
            8,
            "双11 返场 满199减20",
            "threshold",
            "all",
            None,
            20,
            199,
            start=-20,
            end=-1,
            budget=3000,
        ),
        offer(
            9,
            "双12 预热 口红 满200减30",
            "threshold",
            "category",
            "口红",
            30,
            200,
            start=3,
            end=17,
            budget=500,
        ),
    ]
