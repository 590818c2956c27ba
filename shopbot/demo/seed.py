"""Fill a database with the demo store: catalog, shoppers, ~230k events, orders, carts, offers.

Seeding is all-or-nothing (one transaction) and refuses to run on a database that already holds
store data: demo rows mixed with real ones could not be told apart or removed cleanly, and
replacing would delete real shoppers' history. `if_empty=True` turns the refusal into a quiet
skip, which is what `make run` wants on every start.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import sessionmaker

from shopbot.db.models import (
    CartItem,
    Event,
    Offer,
    Order,
    OrderItem,
    Product,
    Shopper,
    utcnow,
)
from shopbot.demo.config import SimulationConfig, load_simulation_config
from shopbot.demo.simulator import build_offers, simulate

CHUNK = 5000
# Tables the demo store writes, in foreign-key order.
STORE_TABLES = (Product, Shopper, Event, Order, OrderItem, CartItem, Offer)


class StoreNotEmptyError(RuntimeError):
    """The database already holds store data; seeding would mix demo rows into it."""

    def __init__(self, existing: dict[str, int]) -> None:
        found = ", ".join(f"{n} {name}" for name, n in existing.items() if n)
        super().__init__(
            f"the database already holds store data ({found}); the demo store is only seeded "
            "into an empty database. Use --if-empty to skip quietly, or point DATABASE_URL at "
            "a fresh database."
        )
        self.existing = existing


def existing_rows(conn: Connection) -> dict[str, int]:
    return {
        model.__tablename__: int(conn.execute(select(func.count()).select_from(model)).scalar_one())
        for model in STORE_TABLES
    }


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed_demo(
    session_factory: sessionmaker,
    *,
    seed: int = 42,
    if_empty: bool = False,
    progress: bool = True,
    config: SimulationConfig | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Generate the demo store for `seed` and insert it in one transaction.

    Returns row counts per table and the seconds spent (`simulate_seconds`, `insert_seconds`,
    `seconds`). With `if_empty`, a database that already holds data is left alone and the
    result has `skipped: True`. Offers get validity windows around `now` (default: the clock).
    """
    started = time.perf_counter()
    config = config or load_simulation_config()
    with session_factory() as session:
        existing = existing_rows(session.connection())
    if any(existing.values()):
        if if_empty:
            return {"skipped": True, "existing": existing, "seconds": _since(started)}
        raise StoreNotEmptyError(existing)

    sim = simulate(seed, config=config, progress=progress)
    offers = build_offers(sim.catalog, now or utcnow())
    simulated = time.perf_counter()
    tables: list[tuple[Any, Sequence[Any]]] = [
        (Product, sim.catalog.products),
        (Shopper, sim.shoppers),
        (Event, sim.events),
        (Order, sim.orders),
        (OrderItem, sim.order_items),
        (CartItem, sim.cart_items),
        (Offer, offers),
    ]
    total = sum(len(rows) for _, rows in tables)
    bar = _progress_bar(total, progress)
    try:
        with session_factory() as session, session.begin():
            conn = session.connection()
            # Checked again inside the transaction: another seeder may have won the race.
            existing = existing_rows(conn)
            if any(existing.values()):
                raise StoreNotEmptyError(existing)
            for model, rows in tables:
                for chunk in _chunks(rows, CHUNK):
                    conn.execute(model.__table__.insert(), _as_dicts(chunk))
                    bar.update(len(chunk))
    finally:
        bar.close()
    done = time.perf_counter()
    counts = {model.__tablename__: len(rows) for model, rows in tables}
    return {
        "skipped": False,
        "seed": seed,
        **counts,
        "holdout_start": config.holdout_start.isoformat(),
        "simulate_seconds": round(simulated - started, 2),
        "insert_seconds": round(done - simulated, 2),
        "seconds": round(done - started, 2),
    }


def _as_dicts(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [row._asdict() if hasattr(row, "_asdict") else row for row in rows]


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 2)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="seeding rows", unit="row", unit_scale=True)
