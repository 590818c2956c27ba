"""indexes for a product's sales over a window

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 22:40:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_created_at", "orders", ["created_at"])
    op.create_index("ix_order_items_product", "order_items", ["product_id"])


def downgrade() -> None:
    op.drop_index("ix_order_items_product", table_name="order_items")
    op.drop_index("ix_orders_created_at", table_name="orders")
