"""The commerce schema: catalog, shoppers, behaviour, carts, orders, offers."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Unicode,
    UnicodeText,
)
from sqlalchemy.orm import Mapped, declarative_base, relationship

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Base: Any = declarative_base(metadata=MetaData(naming_convention=NAMING))

EVENT_TYPES = (
    "search",
    "view",
    "click",
    "add_to_cart",
    "remove_from_cart",
    "favorite",
    "purchase",
)
OFFER_KINDS = ("fixed", "percent", "threshold")
OFFER_SCOPES = ("all", "product", "brand", "category")

# Money is stored exactly and read back as float: prices are shown, compared and fed to models,
# never summed into ledgers where binary rounding would matter.
Money = Numeric(12, 2, asdecimal=False)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[str] = Column(String(64), primary_key=True)
    title: Mapped[str] = Column(Unicode(255), nullable=False)
    category: Mapped[str] = Column(Unicode(32), nullable=False, index=True)
    brand: Mapped[str] = Column(Unicode(64), nullable=False, index=True)
    price: Mapped[float] = Column(Money, nullable=False)
    list_price: Mapped[float] = Column(Money, nullable=False)
    # color, size, material, model line, ...: free-form per category.
    attributes: Mapped[dict] = Column(JSON, nullable=False, default=dict)
    tags: Mapped[list] = Column(JSON, nullable=False, default=list)
    stock: Mapped[int] = Column(Integer, nullable=False, default=0)
    image: Mapped[str | None] = Column(String(512))
    description: Mapped[str | None] = Column(UnicodeText)
    created_at: Mapped[datetime] = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_nonneg"),
        CheckConstraint("list_price >= price", name="list_price_ge_price"),
        CheckConstraint("stock >= 0", name="stock_nonneg"),
        Index("ix_products_category_price", "category", "price"),
    )


class Shopper(Base):
    __tablename__ = "shoppers"
    id: Mapped[str] = Column(String(64), primary_key=True)
    age_band: Mapped[str | None] = Column(String(16))
    gender: Mapped[str | None] = Column(String(8))
    region: Mapped[str | None] = Column(Unicode(32))
    occupation: Mapped[str | None] = Column(Unicode(32))
    # Profile fields may be used for recommendations only when this is true.
    consent: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = Column(DateTime, nullable=False, default=utcnow)


class ChannelIdentity(Base):
    """Maps a channel's sender id (socket.io session, Telegram chat, WeCom user) to a shopper."""

    __tablename__ = "channel_identities"
    channel: Mapped[str] = Column(String(32), primary_key=True)
    external_id: Mapped[str] = Column(String(128), primary_key=True)
    shopper_id: Mapped[str] = Column(
        String(64), ForeignKey("shoppers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = Column(DateTime, nullable=False, default=utcnow)


class Event(Base):
    __tablename__ = "events"
    id: Mapped[str] = Column(String(64), primary_key=True)
    shopper_id: Mapped[str] = Column(
        String(64), ForeignKey("shoppers.id", ondelete="CASCADE"), nullable=False
    )
    product_id: Mapped[str | None] = Column(
        String(64), ForeignKey("products.id", ondelete="SET NULL"), nullable=True
    )
    type: Mapped[str] = Column(String(20), nullable=False)
    query: Mapped[str | None] = Column(Unicode(255))
    dwell_seconds: Mapped[float | None] = Column(Float)
    channel: Mapped[str | None] = Column(String(32))
    session_id: Mapped[str | None] = Column(String(64))
    ts: Mapped[datetime] = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint(f"type IN ({_in(EVENT_TYPES)})", name="type_known"),
        CheckConstraint("dwell_seconds IS NULL OR dwell_seconds >= 0", name="dwell_nonneg"),
        Index("ix_events_shopper_ts", "shopper_id", "ts"),
        Index("ix_events_product_ts", "product_id", "ts"),
        Index("ix_events_type_ts", "type", "ts"),
    )


class CartItem(Base):
    __tablename__ = "cart_items"
    shopper_id: Mapped[str] = Column(
        String(64), ForeignKey("shoppers.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = Column(
        String(64), ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    quantity: Mapped[int] = Column(Integer, nullable=False, default=1)
    added_at: Mapped[datetime] = Column(DateTime, nullable=False, default=utcnow)

    product = relationship("Product", lazy="joined")
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_pos"),)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[str] = Column(String(64), primary_key=True)
    shopper_id: Mapped[str] = Column(
        String(64), ForeignKey("shoppers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    total: Mapped[float] = Column(Money, nullable=False)
    discount: Mapped[float] = Column(Money, nullable=False, default=0)
    status: Mapped[str] = Column(String(16), nullable=False, default="paid")
    channel: Mapped[str | None] = Column(String(32))
    created_at: Mapped[datetime] = Column(DateTime, nullable=False, default=utcnow)

    items = relationship("OrderItem", cascade="all, delete-orphan", lazy="selectin")
    # Sales over a window (销量怎么样) start from the orders since a date.
    __table_args__ = (Index("ix_orders_created_at", "created_at"),)


class OrderItem(Base):
    __tablename__ = "order_items"
    order_id: Mapped[str] = Column(
        String(64), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = Column(
        String(64), ForeignKey("products.id", ondelete="RESTRICT"), primary_key=True
    )
    quantity: Mapped[int] = Column(Integer, nullable=False, default=1)
    unit_price: Mapped[float] = Column(Money, nullable=False)
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_pos"),
        # The primary key leads with the order; a product's sales need its lines by product.
        Index("ix_order_items_product", "product_id"),
    )


class Offer(Base):
    """A coupon or promotion. `amount` is yuan off (fixed/threshold) or percent off (percent)."""

    __tablename__ = "offers"
    id: Mapped[str] = Column(String(64), primary_key=True)
    title: Mapped[str] = Column(Unicode(128), nullable=False)
    kind: Mapped[str] = Column(String(16), nullable=False)
    scope: Mapped[str] = Column(String(16), nullable=False, default="all")
    # product id, brand or category name, according to scope; NULL for "all".
    scope_value: Mapped[str | None] = Column(Unicode(64))
    amount: Mapped[float] = Column(Money, nullable=False)
    # 满减: spend at least this much (yuan) to qualify; 0 for no threshold.
    threshold: Mapped[float] = Column(Money, nullable=False, default=0)
    starts_at: Mapped[datetime] = Column(DateTime, nullable=False)
    ends_at: Mapped[datetime] = Column(DateTime, nullable=False)
    # Total grants allowed; NULL means unlimited.
    budget_total: Mapped[int | None] = Column(Integer)
    budget_used: Mapped[int] = Column(Integer, nullable=False, default=0)
    per_shopper_cap: Mapped[int] = Column(Integer, nullable=False, default=1)
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)

    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(OFFER_KINDS)})", name="kind_known"),
        CheckConstraint(f"scope IN ({_in(OFFER_SCOPES)})", name="scope_known"),
        CheckConstraint("amount > 0", name="amount_pos"),
        CheckConstraint("threshold >= 0", name="threshold_nonneg"),
        CheckConstraint("ends_at > starts_at", name="window_valid"),
        CheckConstraint(
            "budget_total IS NULL OR budget_used <= budget_total", name="budget_not_exceeded"
        ),
        CheckConstraint("per_shopper_cap >= 1", name="cap_pos"),
    )


class OfferGrant(Base):
    __tablename__ = "offer_grants"
    id: Mapped[int] = Column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    offer_id: Mapped[str] = Column(
        String(64), ForeignKey("offers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    shopper_id: Mapped[str] = Column(
        String(64), ForeignKey("shoppers.id", ondelete="CASCADE"), nullable=False
    )
    product_id: Mapped[str | None] = Column(
        String(64), ForeignKey("products.id", ondelete="SET NULL")
    )
    channel: Mapped[str | None] = Column(String(32))
    reason: Mapped[str | None] = Column(Unicode(255))
    granted_at: Mapped[datetime] = Column(DateTime, nullable=False, default=utcnow)
    redeemed_at: Mapped[datetime | None] = Column(DateTime)
    order_id: Mapped[str | None] = Column(String(64), ForeignKey("orders.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_offer_grants_shopper_offer", "shopper_id", "offer_id"),)


class Handoff(Base):
    """A request to talk to a human agent, kept until an agent picks it up."""

    __tablename__ = "handoffs"
    id: Mapped[int] = Column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    shopper_id: Mapped[str] = Column(
        String(64), ForeignKey("shoppers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    channel: Mapped[str | None] = Column(String(32))
    summary: Mapped[str | None] = Column(UnicodeText)
    status: Mapped[str] = Column(String(16), nullable=False, default="open")
    created_at: Mapped[datetime] = Column(DateTime, nullable=False, default=utcnow)
