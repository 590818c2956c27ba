"""What `shopbot bench chat` counts as an answered turn, and the conversations it sends."""

from __future__ import annotations

import json
import random

import pytest

from bot.channels.turns import SILENT_TEXT, SLOW_TEXT
from shopbot.bench_chat import FLOOR, LADDER, answered, conversation


@pytest.mark.parametrize(
    ("status", "body", "ok"),
    [
        (200, json.dumps([{"recipient_id": "a", "text": "按「运动鞋」给你找到这些👇"}]), True),
        (200, json.dumps([{"recipient_id": "a", "custom": {"type": "products"}}]), True),
        (200, "[]", False),  # Rasa's answer when a custom action failed: no message at all
        (200, json.dumps([{"text": SLOW_TEXT}]), False),
        (200, json.dumps([{"text": "好的"}, {"text": SILENT_TEXT}]), False),
        (500, json.dumps([{"text": "好的"}]), False),
        (401, json.dumps({"error": "unauthorised"}), False),
        (200, "<html>bad gateway</html>", False),
        (200, json.dumps({"text": "not a list"}), False),
    ],
)
def test_only_real_answers_count(status: int, body: str, ok: bool) -> None:
    assert answered(status, body) is ok


def test_conversations_walk_search_refine_follow_then_close() -> None:
    script = conversation(random.Random(1), 6)
    assert len(script) == 6
    assert script[-3:] == ["第一个加入购物车", "看看购物车", "谢谢"]
    assert len(conversation(random.Random(1), 9)) == 9


def test_ladder_bots_ship_what_rasa_needs() -> None:
    for rung in (FLOOR, *LADDER):
        for name in (rung.config, "domain.yml", rung.endpoints, rung.credentials, *rung.data):
            assert (rung.bot / name).exists(), (rung.target, name)
    text = (LADDER[0].bot / LADDER[0].endpoints).read_text()
    # Quoted scalars would reach Rasa with the ${...} unreplaced.
    assert "url: http://127.0.0.1:${SHOPBOT_BENCH_ACTIONS_PORT}/webhook" in text
