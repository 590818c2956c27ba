"""A small real catalogue written through the data layer, shared by the channel tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import Offer, Product, utcnow
from shopbot.db.schema import init_db

# (id, title, category, brand, price, list_price, color)
PRODUCTS = [
    ("shoe-001", "轻跑 透气跑步鞋", "运动鞋", "迅跑", 299.0, 399.0, "黑色"),
    ("shoe-002", "缓震 专业跑鞋", "运动鞋", "迅跑", 459.0, 599.0, "蓝色"),
    ("shoe-003", "城市 休闲板鞋", "运动鞋", "简行", 199.0, 259.0, "白色"),
    ("shoe-004", "碳板 竞速跑鞋", "运动鞋", "飞燕", 1299.0, 1499.0, "红色"),
    ("shoe-005", "入门 慢跑鞋", "运动鞋", "简行", 159.0, 199.0, "灰色"),
    ("phone-001", "星耀 X5 手机 128G", "手机", "星耀", 1999.0, 2299.0, "黑色"),
    ("phone-002", "星耀 X5 Pro 手机 256G", "手机", "星耀", 2899.0, 3199.0, "银色"),
    ("phone-003", "青柠 8 手机", "手机", "青柠", 1299.0, 1499.0, "绿色"),
    ("tee-001", "纯棉 圆领T恤", "服装", "棉语", 79.0, 99.0, "白色"),
    ("tee-002", "速干 运动T恤", "服装", "迅跑", 99.0, 129.0, "蓝色"),
    ("bag-001", "通勤 双肩包", "箱包", "行者", 239.0, 299.0, "黑色"),
    ("bag-002", "户外 登山包 40L", "箱包", "行者", 359.0, 459.0, "橙色"),
]


def build(
    path: Path | str,
    *,
    with_offer: bool = True,
    budget: int | None = 100,
    cap: int = 1,
    kind: str = "fixed",
    amount: float = 20,
) -> str:
    # A path means a fresh SQLite file; a string is a database URL (e.g. a PostgreSQL schema).
    url = f"sqlite:///{path}" if isinstance(path, Path) else path
    engine = make_engine(url)
    init_db(engine)
    factory = make_session_factory(engine)
    now = utcnow()
    with factory.begin() as s:
        for i, (pid, title, cat, brand, price, list_price, color) in enumerate(PRODUCTS):
            s.add(
                Product(
                    id=pid,
                    title=title,
                    category=cat,
                    brand=brand,
                    price=price,
                    list_price=list_price,
                    attributes={"color": color},
                    tags=[],
                    stock=50,
                    image=f"/images/products/{pid}.svg",
                    description=f"{brand}{title}",
                    created_at=now - timedelta(days=30 + i),
                )
            )
        if with_offer:
            s.add(
                Offer(
                    id="shoe-20",
                    title="跑鞋立减20元",
                    kind=kind,
                    scope="category",
                    scope_value="运动鞋",
                    amount=amount,
                    threshold=0,
                    starts_at=now - timedelta(days=1),
                    ends_at=now + timedelta(days=30),
                    budget_total=budget,
                    budget_used=0,
                    per_shopper_cap=cap,
                    active=True,
                )
            )
    engine.dispose()
    return url
