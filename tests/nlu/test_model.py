"""The trained assistant end to end (slow): data validation, test stories, typical sentences.

Trains the small CI model once per session through bot.training.train_rasa(fast=True); an
unchanged tree reuses the cached model.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from actions.lexicon import catalog_lexicon
from actions.normalize import normalize_size, normalize_term, parse_price
from bot.training import DATA_DIRS, DOMAIN, _env
from shopbot.config import PROJECT_ROOT

pytestmark = pytest.mark.slow
RASA = str(Path(sys.executable).parent / "rasa")
KIND = {"category": "categories", "brand": "brands", "color": "colors", "recipient": "recipients"}


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RASA, *args], cwd=PROJECT_ROOT, env=_env(), capture_output=True, text=True, timeout=600
    )


def test_training_data_validates() -> None:
    done = rasa(
        "data", "validate", "--domain", str(DOMAIN), "--config", "config.yml",
        "--data", *map(str, DATA_DIRS),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_stories_predict_every_action(model: Path, tmp_path: Path) -> None:
    done = rasa(
        "test", "core", "--model", str(model), "--stories", "tests/nlu_tests",
        "--fail-on-prediction-errors", "--out", str(tmp_path),
    )  # fmt: skip
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.exists() else done.stderr[-3000:]
    assert done.returncode == 0, detail


def understand(agent: Any, text: str) -> tuple[str, dict[str, Any]]:
    """Intent and the slots our validation would set (canonical values, prices in yuan)."""
    parsed = asyncio.run(agent.parse_message(text))
    lexicon = catalog_lexicon()
    slots: dict[str, Any] = {}
    prices = []
    for ent in parsed["entities"]:
        name, raw = ent["entity"], text[ent["start"] : ent["end"]]
        if name in KIND:
            slots[name] = normalize_term(KIND[name], ent["value"], lexicon) or normalize_term(
                KIND[name], raw, lexicon
            )
        elif name == "size":
            slots["size"] = normalize_size(raw, lexicon)
        elif name == "price":
            prices.append(raw)
    found = parse_price(" ".join(prices)) if prices else parse_price(text)
    if found:
        slots["price_min"], slots["price_max"] = found.min, found.max
    return parsed["intent"]["name"], slots


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("想买双跑鞋 500以内", "search_product", {"category": "运动鞋", "price_max": 500}),
        (
            # Known confusion with refine_search ("有没有两三百的"); both run the same search.
            "有没有两三百的球鞋",
            ("search_product", "refine_search"),
            {"category": "运动鞋", "price_min": 200, "price_max": 300},
        ),
        ("苹果手机 预算5000", "search_product", {"brand": "苹果", "price_max": 5000}),
        ("给妈妈挑个礼物", "ask_recommendation", {"recipient": "妈妈"}),
        ("有没有便宜点的", "refine_search", {}),
        ("换一批", "refine_search", {}),
        ("第二个多少钱", "ask_product_detail", {}),
        ("第四个呢", "ask_product_detail", {}),
        ("颜色都有啥", "ask_product_detail", {}),
        ("有没有512G的", "refine_search", {"size": "512GB"}),
        ("华为手机 1TB的", ("search_product", "refine_search"), {"size": "1TB"}),
        ("加入购物车", "add_to_cart", {}),
        ("看看购物车", "view_cart", {}),
        ("第二个不要了", "remove_from_cart", {}),
        ("清空购物车", "remove_from_cart", {}),
        ("去结算", "checkout", {}),
        ("帮我下单", "checkout", {}),
        ("有类似的吗", "ask_similar", {}),
        ("搭配什么好", "ask_bundle", {}),
        ("有优惠券吗", "ask_offers", {}),
        ("包邮吗", "ask_policy", {}),
        ("几天能到", "ask_policy", {}),
        ("怎么退货", "ask_policy", {}),
        ("能开发票吗", "ask_policy", {}),
        ("我的快递到哪了", "ask_policy", {}),
        ("是正品吗", "ask_policy", {}),
        ("收货地址填错了怎么改", "ask_policy", {}),
        ("为啥推荐这个", "ask_why", {}),
        ("转人工", "human_handoff", {}),
        ("删除我的数据", "forget_me", {}),
        ("今天天气怎么样", "out_of_scope", {}),
        ("<script>alert(1)</script>", "out_of_scope", {}),
        ("'; DROP TABLE products; --", "out_of_scope", {}),
        ("<b>想买跑鞋</b>", "search_product", {"category": "运动鞋"}),
        ("你好呀", "greet", {}),
        ("谢谢啦", "thank", {}),
        ("拜拜", "goodbye", {}),
    ],
)
def test_typical_shopper_sentences(
    agent: Any, text: str, intent: str | tuple[str, ...], expected: dict
) -> None:
    got_intent, slots = understand(agent, text)
    assert got_intent in ((intent,) if isinstance(intent, str) else intent)
    for key, value in expected.items():
        assert slots.get(key) == value, (key, slots)
