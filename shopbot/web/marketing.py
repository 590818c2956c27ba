"""Real-time targeted offers (实时定向营销): rules over live behaviour, pushed into an open chat.

A rule only decides *that* a moment looks right (the same product viewed again and again, a cart
left alone, long dwell in one category). Whether an offer is worth giving and which one is the
recommender's offer engine's call (`choose_offer`), which also records the grant under the
budget and per-shopper caps. The offer then reaches the shopper through Rasa's external-event API
(`trigger_intent`), so it appears in the conversation and the tracker knows about it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shopbot.db.models import CartItem, Event, OfferGrant, Product, utcnow

log = logging.getLogger(__name__)

OFFER_INTENT = "EXTERNAL_offer"
PUSH_CHANNEL = "socketio"


@dataclass(frozen=True)
class Rules:
    repeat_views: int = 3
    repeat_window: timedelta = timedelta(minutes=30)
    category_dwell_seconds: float = 90.0
    category_window: timedelta = timedelta(minutes=30)
    abandoned_after: timedelta = timedelta(minutes=10)
    # At most one proactive offer per shopper in this period, whatever the rule: more is spam.
    cooldown: timedelta = timedelta(minutes=10)

    @classmethod
    def from_env(cls) -> Rules:
        """Thresholds an operator (or a test) can tune without code: SHOPBOT_OFFER_* variables."""
        env = os.environ

        def minutes(name: str, default: timedelta) -> timedelta:
            value = env.get(name)
            return timedelta(minutes=float(value)) if value else default

        base = cls()
        return cls(
            repeat_views=int(env.get("SHOPBOT_OFFER_REPEAT_VIEWS", base.repeat_views)),
            repeat_window=minutes("SHOPBOT_OFFER_WINDOW_MINUTES", base.repeat_window),
            category_dwell_seconds=float(
                env.get("SHOPBOT_OFFER_CATEGORY_DWELL_SECONDS", base.category_dwell_seconds)
            ),
            category_window=minutes("SHOPBOT_OFFER_WINDOW_MINUTES", base.category_window),
            abandoned_after=minutes("SHOPBOT_OFFER_ABANDONED_CART_MINUTES", base.abandoned_after),
            cooldown=minutes("SHOPBOT_OFFER_COOLDOWN_MINUTES", base.cooldown),
        )


@dataclass(frozen=True)
class Trigger:
    rule: str  # repeat_views | abandoned_cart | category_dwell
    item_ids: tuple[str, ...]
    reason: str  # shown to nobody; kept with the push for analysis


class OfferChooser(Protocol):
    def choose_offer(
        self, shopper_id: str, item_ids: Any, *, channel: str | None = None, grant: bool = True
    ) -> Any: ...


class Presence:
    """Which shoppers have the chat widget connected right now (refreshed by heartbeats)."""

    def __init__(self, ttl: float = 45.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def update(self, shopper_id: str, is_open: bool) -> None:
        with self._lock:
            if is_open:
                self._seen[shopper_id] = self.clock() + self.ttl
            else:
                self._seen.pop(shopper_id, None)

    def is_open(self, shopper_id: str) -> bool:
        with self._lock:
            expires = self._seen.get(shopper_id)
            if expires is None:
                return False
            if expires < self.clock():
                del self._seen[shopper_id]
                return False
            return True

    def open_shoppers(self) -> list[str]:
        now = self.clock()
        with self._lock:
            return [s for s, exp in self._seen.items() if exp >= now]


# --- rules (pure reads over the database) ----------------------------------------------------


def in_cooldown(session: Session, shopper_id: str, rules: Rules) -> bool:
    since = utcnow() - rules.cooldown
    recent = session.scalar(
        select(func.count(OfferGrant.id)).where(
            OfferGrant.shopper_id == shopper_id, OfferGrant.granted_at >= since
        )
    )
    return bool(recent)


def trigger_for_event(
    session: Session, shopper_id: str, event: Event, rules: Rules
) -> Trigger | None:
    """The rule a just-recorded event fires, if any."""
    if event.type != "view" or event.product_id is None:
        return None
    now = utcnow()
    views = session.scalar(
        select(func.count(Event.id)).where(
            Event.shopper_id == shopper_id,
            Event.type == "view",
            Event.product_id == event.product_id,
            Event.ts >= now - rules.repeat_window,
        )
    )
    if views and views >= rules.repeat_views:
        return Trigger("repeat_views", (event.product_id,), f"{views}次浏览同一商品")
    product = session.get(Product, event.product_id)
    if product is None:
        return None
    rows = session.execute(
        select(Event.product_id, func.sum(Event.dwell_seconds), func.max(Event.ts))
        .join(Product, Product.id == Event.product_id)
        .where(
            Event.shopper_id == shopper_id,
            Event.type == "view",
            Product.category == product.category,
            Event.ts >= now - rules.category_window,
        )
        .group_by(Event.product_id)
    ).all()
    dwell = sum(float(d or 0) for _, d, _ in rows)
    if dwell >= rules.category_dwell_seconds:
        items = tuple(pid for pid, _, _ in sorted(rows, key=lambda r: r[2], reverse=True))[:5]
        return Trigger("category_dwell", items, f"在{product.category}停留{dwell:.0f}秒")
    return None


def abandoned_carts(session: Session, shopper_ids: list[str], rules: Rules) -> dict[str, Trigger]:
    """Carts of these shoppers untouched for `abandoned_after` and not bought since."""
    if not shopper_ids:
        return {}
    cutoff = utcnow() - rules.abandoned_after
    out: dict[str, Trigger] = {}
    rows = session.execute(
        select(CartItem.shopper_id, CartItem.product_id, CartItem.added_at).where(
            CartItem.shopper_id.in_(shopper_ids)
        )
    ).all()
    carts: dict[str, list[tuple[str, Any]]] = {}
    for shopper_id, product_id, added_at in rows:
        carts.setdefault(shopper_id, []).append((product_id, added_at))
    for shopper_id, items in carts.items():
        last_touch = session.scalar(
            select(func.max(Event.ts)).where(
                Event.shopper_id == shopper_id,
                Event.type.in_(["add_to_cart", "remove_from_cart", "purchase"]),
            )
        )
        latest = max([a for _, a in items] + ([last_touch] if last_touch else []))
        if latest <= cutoff:
            ids = tuple(pid for pid, _ in sorted(items, key=lambda i: i[1], reverse=True))
            out[shopper_id] = Trigger("abandoned_cart", ids, f"购物车{len(ids)}件商品未结算")
    return out


# --- pushing into the chat ---------------------------------------------------------------------


@dataclass
class RasaPusher:
    """Calls Rasa's `POST /conversations/{id}/trigger_intent` with the HTTP API token."""

    base_url: str
    token: str | None
    timeout: float = 10.0

    async def push(self, shopper_id: str, entities: dict[str, Any]) -> bool:
        url = (
            f"{self.base_url.rstrip('/')}/conversations/{quote(shopper_id, safe='')}/trigger_intent"
        )
        params = {"output_channel": PUSH_CHANNEL}
        if self.token:
            params["token"] = self.token
        body = {"name": OFFER_INTENT, "entities": entities}
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(url, params=params, json=body) as resp,
            ):
                if resp.status != 200:
                    log.warning("trigger_intent answered %s: %s", resp.status, await resp.text())
                    return False
                return True
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("cannot reach Rasa at %s: %s", self.base_url, exc)
            return False


@dataclass
class PushRecord:
    shopper_id: str
    rule: str
    offer_id: str
    grant_id: int | None
    delivered: bool


@dataclass
class Marketing:
    factory: sessionmaker
    offers: Callable[[], OfferChooser | None]
    pusher: RasaPusher
    presence: Presence
    rules: Rules = field(default_factory=Rules)
    history: list[PushRecord] = field(default_factory=list)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _tried_carts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def _lock(self, shopper_id: str) -> asyncio.Lock:
        # One evaluation per shopper at a time, so two quick events cannot both pass the cooldown.
        lock = self._locks.get(shopper_id)
        if lock is None:
            lock = self._locks[shopper_id] = asyncio.Lock()
        return lock

    async def on_event(self, shopper_id: str, event_id: str) -> PushRecord | None:
        if not self.presence.is_open(shopper_id):
            return None
        async with self._lock(shopper_id):
            trigger = await asyncio.to_thread(self._trigger_for, shopper_id, event_id)
            if trigger is None:
                return None
            return await self._offer(shopper_id, trigger)

    def _trigger_for(self, shopper_id: str, event_id: str) -> Trigger | None:
        with self.factory() as session:
            if in_cooldown(session, shopper_id, self.rules):
                return None
            event = session.get(Event, event_id)
            if event is None:
                return None
            return trigger_for_event(session, shopper_id, event, self.rules)

    async def sweep_abandoned(self) -> list[PushRecord]:
        """Offer something to shoppers with an open chat whose cart has been left alone."""
        shoppers = self.presence.open_shoppers()
        if not shoppers:
            return []
        found = await asyncio.to_thread(self._abandoned, shoppers)
        pushed = []
        for shopper_id, trigger in found.items():
            # Ask once per cart content: the engine's "no" stands until the cart changes.
            if self._tried_carts.get(shopper_id) == trigger.item_ids:
                continue
            self._tried_carts[shopper_id] = trigger.item_ids
            async with self._lock(shopper_id):
                record = await self._offer(shopper_id, trigger)
            if record is not None:
                pushed.append(record)
        return pushed

    def _abandoned(self, shoppers: list[str]) -> dict[str, Trigger]:
        with self.factory() as session:
            found = abandoned_carts(session, shoppers, self.rules)
            return {s: t for s, t in found.items() if not in_cooldown(session, s, self.rules)}

    async def _offer(self, shopper_id: str, trigger: Trigger) -> PushRecord | None:
        engine = self.offers()
        if engine is None:
            return None
        decision = await asyncio.to_thread(
            engine.choose_offer, shopper_id, list(trigger.item_ids), channel=PUSH_CHANNEL
        )
        if decision is None:
            return None
        entities = {
            "offer_id": decision.offer_id,
            "offer_title": decision.title,
            "offer_text": decision.text,
            "grant_id": decision.grant_id,
            "product_id": trigger.item_ids[0] if trigger.item_ids else None,
            "offer_trigger": trigger.rule,
        }
        # The grant stands even if the push fails: checkout applies it and the cart shows it.
        delivered = await self.pusher.push(shopper_id, entities)
        record = PushRecord(
            shopper_id, trigger.rule, decision.offer_id, decision.grant_id, delivered
        )
        self.history.append(record)
        del self.history[:-200]
        log.info(
            "offer %s for %s via %s: %s", decision.offer_id, shopper_id, trigger.rule, delivered
        )
        return record
