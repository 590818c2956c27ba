"""Orders as checkout leaves them, for tests that read sales back."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from sqlalchemy.orm import Session

from shopbot.db import repo
from shopbot.db.models import Order, OrderItem

_order_ids = count(1)


def add_order(
    session: Session,
    shopper: str,
    items: dict[str, int],
    *,
    created_at: datetime,
    status: str = "delivered",
    unit_price: float = 100,
) -> str:
    """One order of `items` (product id -> quantity) by `shopper`, now in `status`; flushed."""
    repo.ensure_shopper(session, shopper)
    order_id = f"o{next(_order_ids):06d}"
    session.add(
        Order(
            id=order_id,
            shopper_id=shopper,
            total=unit_price * sum(items.values()),
            status=status,
            created_at=created_at,
        )
    )
    session.flush()
    session.add_all(
        OrderItem(order_id=order_id, product_id=pid, quantity=qty, unit_price=unit_price)
        for pid, qty in items.items()
    )
    session.flush()
    return order_id
