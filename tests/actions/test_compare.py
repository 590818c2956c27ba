"""第一个和第二个哪个好: two shown products compared on what differs, on the real test shop."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.compare import compared_positions
from actions.normalize import parse_ordinals
from actions.runtime import Runtime
from actions.shop import ActionProductDetail
from shopbot.db.models import Event
from tests.actions.conftest import make_tracker, texts

SHOWN = [
    {"id": "p1", "title": "华为 Mate60 Pro"},
    {"id": "p3", "title": "华为 nova 12"},
    {"id": "p2", "title": "苹果 iPhone 15"},
]


@pytest.mark.parametrize(
    ("text", "positions"),
    [
        ("第一个和第二个哪个好", [1, 2]),
        ("第3款跟第1款比呢", [3, 1]),
        ("第二个和最后一个有什么区别", [2, -1]),
        ("第二个多少钱", [2]),
        ("第一个和第一个", [1]),
        ("这个怎么样", []),
    ],
)
def test_every_position_named_is_read_in_order(text: str, positions: list[int]) -> None:
    assert parse_ordinals(text) == positions


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("第一个和第二个哪个好", (1, 2)),
        ("第二个和最后一个有什么区别", (2, 3)),
        ("第一个和第五个哪个好", None),  # only three shown: not a comparison
        ("第二个怎么样", None),
    ],
)
def test_a_comparison_needs_two_shown_positions(text: str, pair: tuple[int, int] | None) -> None:
    assert compared_positions(text, 3) == pair


async def test_two_shown_phones_are_compared_on_what_differs(shop: Runtime) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "第一个和第二个哪个好", "ask_product_detail", slots={"shown_items": SHOWN}
    )
    events = await ActionProductDetail().run(dispatcher, tracker, {})
    said = texts(dispatcher)
    assert said.splitlines() == [
        "「华为 Mate60 Pro」和「华为 nova 12」比一比：",
        "价格：¥5999 vs ¥2499，第二个便宜¥3500",
        "颜色：黑色 vs 蓝色",
        "预算优先就选第二个；想看哪个的细节，说「第一个怎么样」就行～",
    ]
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["要第一个", "要第二个"]
    assert dispatcher.messages[0]["buttons"][1]["payload"] == '/add_to_cart{"product_id": "p3"}'
    assert events == []
    with shop.session_factory() as session:
        clicks = [e.product_id for e in session.query(Event).filter_by(type="click")]
    assert sorted(clicks) == ["p1", "p3"]  # both looked at, for the recommender


async def test_one_position_is_still_a_detail_question(shop: Runtime) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("第二个多少钱", "ask_product_detail", slots={"shown_items": SHOWN})
    await ActionProductDetail().run(dispatcher, tracker, {})
    assert texts(dispatcher).startswith("「华为 nova 12」")


async def test_a_sold_out_one_is_said_and_cannot_be_chosen(shop: Runtime) -> None:
    dispatcher = CollectingDispatcher()
    shoes = [{"id": "s1", "title": "耐克 Pegasus 跑鞋"}, {"id": "s7", "title": "耐克 Downshifter"}]
    tracker = make_tracker("第一个和第二个比呢", "ask_product_detail", slots={"shown_items": shoes})
    await ActionProductDetail().run(dispatcher, tracker, {})
    said = texts(dispatcher)
    assert "第二个暂时缺货" in said and "预算优先" not in said
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["要第一个"]
