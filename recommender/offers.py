"""Real-time offers (实时优惠): eligibility, uplift targeting, Thompson sampling, safe grants.

Budget and per-shopper caps hold under concurrency: the grant transaction first runs a conditional
`UPDATE offers SET budget_used = budget_used + 1 WHERE id = :id AND budget_used < budget_total`;
its row lock (PostgreSQL) or the database write lock (SQLite) serialises grants of one offer until
commit, so the per-shopper count that follows cannot race either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from shopbot.db import repo
from shopbot.db.models import Offer, OfferGrant, Product, utcnow
from shopbot.db.repo import offer_applies, offer_base, offer_discount

# Above this purchase probability the shopper will very likely buy anyway: no coupon needed.
WILL_BUY_ANYWAY = 0.8
MIN_UPLIFT = 0.01


@dataclass(frozen=True)
class OfferCandidate:
    offer: Offer
    products: tuple[str, ...]
    base: float  # price of the items in scope
    discount: float
    missing_for_threshold: float
    p_buy: float
    sampled_rate: float
    expected_uplift: float


def offer_text(offer: Offer, discount: float, missing: float) -> str:
    if missing > 0:
        return f"再买{missing:.0f}元即可用「{offer.title}」，立减{float(offer.amount):.0f}元"
    if offer.kind == "percent":
        return f"「{offer.title}」：这单可享{(100 - float(offer.amount)) / 10:g}折，约省{discount:.0f}元"
    return f"「{offer.title}」：下单立减{discount:.0f}元"


def redemption_stats(session: Session, offer_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(granted, redeemed) per offer, straight from the grants table, so every process agrees."""
    if not offer_ids:
        return {}
    rows = session.execute(
        select(
            OfferGrant.offer_id,
            func.count(OfferGrant.id),
            func.count(OfferGrant.redeemed_at),
        )
        .where(OfferGrant.offer_id.in_(list(offer_ids)))
        .group_by(OfferGrant.offer_id)
    ).all()
    return {oid: (int(g), int(r)) for oid, g, r in rows}


def eligible_offers(
    session: Session,
    shopper_id: str,
    products: Sequence[Product],
    *,
    now: object = None,
    units: Mapping[str, int] | None = None,
) -> list[tuple[Offer, list[Product], float, float, float]]:
    """Offers in their window, with budget left, under the shopper's cap, applying to some item.

    `units` counts a product bought more than once (two pairs reach a 满减 one does not).
    Returns (offer, products in scope, base price, discount, yuan missing to reach the threshold).
    """
    lines = [(p, (units or {}).get(p.id, 1)) for p in products]
    now = now or utcnow()
    offers = session.scalars(
        select(Offer).where(
            Offer.active.is_(True),
            Offer.starts_at <= now,
            Offer.ends_at >= now,
            or_(Offer.budget_total.is_(None), Offer.budget_used < Offer.budget_total),
        )
    ).all()
    if not offers:
        return []
    used = dict(
        session.execute(
            select(OfferGrant.offer_id, func.count(OfferGrant.id))
            .where(OfferGrant.shopper_id == shopper_id)
            .group_by(OfferGrant.offer_id)
        ).all()
    )
    out = []
    for offer in offers:
        if used.get(offer.id, 0) >= offer.per_shopper_cap:
            continue
        scoped = [p for p in products if offer_applies(offer, p)]
        if not scoped:
            continue
        base = offer_base(offer, lines)
        threshold = float(offer.threshold or 0)
        missing = max(0.0, threshold - base)
        # A 满减 more than half the basket away is not an offer, it is an upsell: skip it.
        if missing > 0 and missing > 0.5 * threshold:
            continue
        discount = offer_discount(offer, max(base, threshold))
        out.append((offer, scoped, base, discount, missing))
    return out


def choose(
    session: Session,
    shopper_id: str,
    products: Sequence[Product],
    p_buy: Callable[[Sequence[str]], dict[str, float]],
    *,
    rng: np.random.Generator,
    units: Mapping[str, int] | None = None,
) -> OfferCandidate | None:
    """Pick the offer with the highest sampled expected uplift, or None if none is worth it.

    uplift = θ_offer · (1 - p_buy): θ is a Thompson draw from Beta(1 + redeemed, 1 + not redeemed)
    for this offer, so offers that get redeemed are shown more; (1 - p_buy) is the purchase the
    coupon can still cause — a shopper who will buy anyway gains nothing from it.
    """
    candidates = eligible_offers(session, shopper_id, products, units=units)
    if not candidates:
        return None
    probs = p_buy([p.id for p in products])
    stats = redemption_stats(session, [o.id for o, *_ in candidates])
    best: OfferCandidate | None = None
    for offer, scoped, base, discount, missing in candidates:
        p = max(probs.get(s.id, 0.0) for s in scoped)
        if p >= WILL_BUY_ANYWAY:
            continue
        granted, redeemed = stats.get(offer.id, (0, 0))
        theta = float(rng.beta(1 + redeemed, 1 + max(granted - redeemed, 0)))
        # Bigger discounts relative to the basket persuade more; the effect saturates.
        strength = 1.0 - np.exp(-3.0 * discount / max(base, 1.0))
        uplift = theta * (1.0 - p) * float(strength)
        cand = OfferCandidate(
            offer, tuple(s.id for s in scoped), base, discount, missing, p, theta, uplift
        )
        if uplift >= MIN_UPLIFT and (best is None or uplift > best.expected_uplift):
            best = cand
    return best


def grant(
    factory: sessionmaker,
    offer_id: str,
    shopper_id: str,
    *,
    product_id: str | None,
    channel: str | None,
    reason: str,
) -> int | None:
    """Record a grant if budget and the shopper's cap allow; returns the grant id or None.

    One transaction: conditional budget UPDATE (row count 1 or give up), then the cap check,
    then the insert; any failure rolls the budget back with it.
    """
    with factory() as session:
        try:
            done = session.execute(
                update(Offer)
                .where(
                    Offer.id == offer_id,
                    Offer.active.is_(True),
                    or_(Offer.budget_total.is_(None), Offer.budget_used < Offer.budget_total),
                )
                .values(budget_used=Offer.budget_used + 1)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:
                session.rollback()
                return None
            cap = session.execute(
                select(Offer.per_shopper_cap).where(Offer.id == offer_id)
            ).scalar_one()
            held = session.execute(
                select(func.count(OfferGrant.id)).where(
                    OfferGrant.offer_id == offer_id, OfferGrant.shopper_id == shopper_id
                )
            ).scalar_one()
            if held >= cap:
                session.rollback()  # gives the budget unit back
                return None
            repo.ensure_shopper(session, shopper_id)  # a first-time visitor may get a coupon
            row = OfferGrant(
                offer_id=offer_id,
                shopper_id=shopper_id,
                product_id=product_id,
                channel=channel,
                reason=reason[:255],
            )
            session.add(row)
            session.flush()
            grant_id = int(row.id)
            session.commit()
            return grant_id
        except BaseException:
            session.rollback()
            raise


def record_outcome(
    factory: sessionmaker, grant_id: int, *, redeemed: bool, order_id: str | None = None
) -> bool:
    """Mark a grant redeemed (the bandit's success signal). Returns False for unknown grants."""
    with factory() as session, session.begin():
        row = session.get(OfferGrant, grant_id)
        if row is None:
            return False
        if redeemed and row.redeemed_at is None:
            row.redeemed_at = utcnow()
            row.order_id = order_id
        return True
