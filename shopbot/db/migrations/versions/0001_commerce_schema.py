"""commerce schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 13:13:57.347940
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "offers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Unicode(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_value", sa.Unicode(length=64), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column("threshold", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("budget_total", sa.Integer(), nullable=True),
        sa.Column("budget_used", sa.Integer(), nullable=False),
        sa.Column("per_shopper_cap", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('fixed', 'percent', 'threshold')", name=op.f("ck_offers_kind_known")
        ),
        sa.CheckConstraint(
            "scope IN ('all', 'product', 'brand', 'category')", name=op.f("ck_offers_scope_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_offers_amount_pos")),
        sa.CheckConstraint(
            "budget_total IS NULL OR budget_used <= budget_total",
            name=op.f("ck_offers_budget_not_exceeded"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_offers_window_valid")),
        sa.CheckConstraint("per_shopper_cap >= 1", name=op.f("ck_offers_cap_pos")),
        sa.CheckConstraint("threshold >= 0", name=op.f("ck_offers_threshold_nonneg")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Unicode(length=255), nullable=False),
        sa.Column("category", sa.Unicode(length=32), nullable=False),
        sa.Column("brand", sa.Unicode(length=64), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column("list_price", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("image", sa.String(length=512), nullable=True),
        sa.Column("description", sa.UnicodeText(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("list_price >= price", name=op.f("ck_products_list_price_ge_price")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_products_price_nonneg")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_products_stock_nonneg")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_brand"), ["brand"], unique=False)
        batch_op.create_index(batch_op.f("ix_products_category"), ["category"], unique=False)
        batch_op.create_index("ix_products_category_price", ["category", "price"], unique=False)

    op.create_table(
        "shoppers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("age_band", sa.String(length=16), nullable=True),
        sa.Column("gender", sa.String(length=8), nullable=True),
        sa.Column("region", sa.Unicode(length=32), nullable=True),
        sa.Column("occupation", sa.Unicode(length=32), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shoppers")),
    )
    op.create_table(
        "cart_items",
        sa.Column("shopper_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_items_quantity_pos")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_cart_items_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_cart_items_shopper_id_shoppers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shopper_id", "product_id", name=op.f("pk_cart_items")),
    )
    op.create_table(
        "channel_identities",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("shopper_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_channel_identities_shopper_id_shoppers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "external_id", name=op.f("pk_channel_identities")),
    )
    with op.batch_alter_table("channel_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_identities_shopper_id"), ["shopper_id"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("shopper_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("query", sa.Unicode(length=255), nullable=True),
        sa.Column("dwell_seconds", sa.Float(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "type IN ('search', 'view', 'click', 'add_to_cart', 'remove_from_cart', 'favorite', 'purchase')",
            name=op.f("ck_events_type_known"),
        ),
        sa.CheckConstraint(
            "dwell_seconds IS NULL OR dwell_seconds >= 0", name=op.f("ck_events_dwell_nonneg")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_events_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_events_shopper_id_shoppers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_product_ts", ["product_id", "ts"], unique=False)
        batch_op.create_index("ix_events_shopper_ts", ["shopper_id", "ts"], unique=False)
        batch_op.create_index("ix_events_type_ts", ["type", "ts"], unique=False)

    op.create_table(
        "handoffs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("shopper_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("summary", sa.UnicodeText(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_handoffs_shopper_id_shoppers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoffs_shopper_id"), ["shopper_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("shopper_id", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column("discount", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_orders_shopper_id_shoppers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_shopper_id"), ["shopper_id"], unique=False)

    op.create_table(
        "offer_grants",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("shopper_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Unicode(length=255), nullable=True),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_offer_grants_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_offer_grants_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_offer_grants_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_offer_grants_shopper_id_shoppers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_grants")),
    )
    with op.batch_alter_table("offer_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_grants_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(
            "ix_offer_grants_shopper_offer", ["shopper_id", "offer_id"], unique=False
        )

    op.create_table(
        "order_items",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_items_quantity_pos")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_order_items_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("order_id", "product_id", name=op.f("pk_order_items")),
    )


def downgrade() -> None:

    op.drop_table("order_items")
    with op.batch_alter_table("offer_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_offer_grants_shopper_offer")
        batch_op.drop_index(batch_op.f("ix_offer_grants_offer_id"))

    op.drop_table("offer_grants")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_shopper_id"))

    op.drop_table("orders")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoffs_shopper_id"))

    op.drop_table("handoffs")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_type_ts")
        batch_op.drop_index("ix_events_shopper_ts")
        batch_op.drop_index("ix_events_product_ts")

    op.drop_table("events")
    with op.batch_alter_table("channel_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_identities_shopper_id"))

    op.drop_table("channel_identities")
    op.drop_table("cart_items")
    op.drop_table("shoppers")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_category_price")
        batch_op.drop_index(batch_op.f("ix_products_category"))
        batch_op.drop_index(batch_op.f("ix_products_brand"))

    op.drop_table("products")
    op.drop_table("offers")
