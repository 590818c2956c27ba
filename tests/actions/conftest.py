"""A small real shop (SQLite, real RecommenderService) and Tracker builders for action tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import sessionmaker

from actions.lexicon import Lexicon
from actions.runtime import Runtime, set_runtime
from shopbot.db.models import Offer, Product, utcnow

LEXICON = Lexicon(
    categories={
        "运动鞋": ["跑鞋", "跑步鞋", "球鞋"],
        "手机": ["智能手机"],
        "耳机": ["蓝牙耳机", "无线耳机"],
        "保温杯": ["水杯"],
    },
    brands={
        "耐克": ["Nike", "NIKE"],
        "阿迪达斯": ["adidas", "阿迪"],
        "苹果": ["Apple", "iPhone", "apple"],
        "华为": ["HUAWEI", "huawei"],
        "膳魔师": ["THERMOS"],
    },
    colors={"黑色": ["黑"], "白色": ["白"], "红色": ["红"], "蓝色": ["蓝"]},
    sizes={"42": ["42码"], "43": ["43码"], "XL": ["xl"]},
    materials={"网面": [], "不锈钢": []},
    recipients={"妈妈": ["老妈", "我妈"], "女朋友": ["女票", "对象"]},
    product_lines={
        "Mate 60": "华为",
        "Mate 60 Pro": "华为",
        "iPhone 15": "苹果",
        "iPhone 15 Pro": "苹果",
    },
    line_categories={
        "Mate 60": "手机",
        "Mate 60 Pro": "手机",
        "iPhone 15": "手机",
        "iPhone 15 Pro": "手机",
    },
    category_brands={
        "运动鞋": ["耐克", "阿迪达斯"],
        "手机": ["苹果", "华为"],
        "耳机": ["苹果", "华为"],
        "保温杯": ["膳魔师"],
    },
)

# (id, title, category, brand, price, list_price, color, stock)
CATALOG = [
    ("s1", "耐克 Pegasus 跑鞋", "运动鞋", "耐克", 459, 599, "黑色", 10),
    ("s2", "耐克 Revolution 跑鞋", "运动鞋", "耐克", 299, 399, "白色", 8),
    ("s3", "阿迪达斯 Ultraboost", "运动鞋", "阿迪达斯", 899, 1099, "黑色", 5),
    ("s4", "阿迪达斯 Duramo", "运动鞋", "阿迪达斯", 359, 459, "蓝色", 6),
    ("s5", "耐克 Air Zoom", "运动鞋", "耐克", 699, 799, "红色", 3),
    ("s6", "阿迪达斯 Runfalcon", "运动鞋", "阿迪达斯", 249, 329, "白色", 9),
    ("s7", "耐克 Downshifter", "运动鞋", "耐克", 399, 449, "蓝色", 0),  # sold out
    ("s8", "阿迪达斯 Adizero", "运动鞋", "阿迪达斯", 499, 599, "红色", 4),
    ("p1", "华为 Mate60 Pro", "手机", "华为", 5999, 6999, "黑色", 7),
    ("p2", "苹果 iPhone 15", "手机", "苹果", 5399, 5999, "白色", 9),
    ("p3", "华为 nova 12", "手机", "华为", 2499, 2799, "蓝色", 12),
    ("e1", "苹果 AirPods Pro", "耳机", "苹果", 1799, 1999, "白色", 20),
    ("e2", "华为 FreeBuds 5", "耳机", "华为", 899, 999, "白色", 15),
    ("c1", "膳魔师 保温杯 500ml", "保温杯", "膳魔师", 199, 259, "红色", 30),
    ("c2", "膳魔师 保温杯 350ml", "保温杯", "膳魔师", 159, 199, "蓝色", 25),
]


def insert_catalog(factory: sessionmaker) -> None:
    with factory() as session:
        for pid, title, cat, brand, price, list_price, color, stock in CATALOG:
            session.add(
                Product(
                    id=pid,
                    title=title,
                    category=cat,
                    brand=brand,
                    price=price,
                    list_price=list_price,
                    attributes={"color": color, "size": ["41", "42", "43"], "material": "网面"}
                    if cat == "运动鞋"
                    else {"color": color},
                    tags=[],
                    stock=stock,
                    image=f"/img/{pid}.jpg",
                    description=f"{title}，好穿好用",
                )
            )
        now = utcnow()
        session.add(
            Offer(
                id="o-shoes",
                title="运动鞋满300减30",
                kind="threshold",
                scope="category",
                scope_value="运动鞋",
                amount=30,
                threshold=300,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=30),
                budget_total=100,
                per_shopper_cap=1,
            )
        )
        session.add(
            Offer(
                id="o-all",
                title="全场95折",
                kind="percent",
                scope="all",
                amount=5,
                threshold=0,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=30),
            )
        )
        session.commit()


@pytest.fixture
def shop(sqlite_session_factory: sessionmaker) -> Iterator[Runtime]:
    from recommender.service import RecommenderService

    insert_catalog(sqlite_session_factory)
    runtime = Runtime(
        session_factory=sqlite_session_factory,
        recommender=RecommenderService(sqlite_session_factory, None, random_state=0),
        lexicon=LEXICON,
    )
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


def make_tracker(
    text: str,
    intent: str,
    *,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    sender: str = "shopper-1",
    channel: str = "rest",
    past_slot_events: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A Tracker as the action server receives it after the user said `text`."""
    entities = entities or []
    for ent in entities:
        if "start" not in ent and ent.get("text"):
            start = text.find(ent["text"])
            ent.update(start=start, end=start + len(ent["text"]))
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities,
    }
    events: list[dict[str, Any]] = [{"event": "action", "name": "action_listen"}]
    events += past_slot_events or []
    events.append({"event": "user", "text": text, "parse_data": latest, "input_channel": channel})
    return Tracker(
        sender_id=sender,
        slots=dict(slots or {}),
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def payloads(dispatcher: CollectingDispatcher, type_: str) -> list[dict[str, Any]]:
    return [
        m["custom"]
        for m in dispatcher.messages
        if isinstance(m.get("custom"), dict) and m["custom"].get("type") == type_
    ]


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def add_products(runtime: Runtime, rows: list[dict[str, Any]]) -> None:
    """Add products to the test shop (title, category, price; optionally brand, colors, tags and
    other attributes), then let the recommender see them."""
    now = utcnow()
    with runtime.session_factory() as session:
        for n, row in enumerate(rows):
            session.add(
                Product(
                    id=row["id"],
                    title=row["title"],
                    category=row["category"],
                    brand=row.get("brand", "暖冬"),
                    price=row["price"],
                    list_price=row["price"],
                    attributes={"color": row.get("colors", ["黑色"]), **row.get("attributes", {})},
                    tags=row.get("tags", []),
                    stock=10,
                    image=None,
                    description=row["title"],
                    created_at=now - timedelta(days=60 + n),
                )
            )
        session.commit()
    runtime.recommender.refresh()
