"""Who a search is for: a gift for 妈妈 shows no 男款, and says so when nothing else is left."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import Runtime, set_runtime
from actions.shop import ActionSearchProducts, ActionSimilarItems
from tests.actions.conftest import add_products, make_tracker, payloads, texts

pytestmark = pytest.mark.asyncio

JACKETS = [
    ("j1", "男士 长款羽绒服", "羽绒服", 699, "男款"),
    ("j2", "男士 连帽羽绒服", "羽绒服", 599, "男款"),
    ("j3", "男士 轻薄羽绒服", "羽绒服", 499, "男款"),
    ("j4", "女士 长款羽绒服", "羽绒服", 689, "女款"),
    ("j5", "女士 短款面包服", "羽绒服", 459, "女款"),
    ("j6", "女士 轻薄羽绒服", "羽绒服", 559, "女款"),
    ("r1", "男士 电动剃须刀", "剃须刀", 299, "男款"),
    ("r2", "男士 旅行剃须刀", "剃须刀", 199, "男款"),
]


@pytest.fixture
def gifts(shop: Runtime) -> Iterator[Runtime]:
    add_products(
        shop,
        [
            {"id": pid, "title": title, "category": category, "price": price, "tags": [tag]}
            for pid, title, category, price, tag in JACKETS
        ],
    )
    runtime = replace(
        shop,
        lexicon=replace(shop.lexicon, recipient_excludes={"妈妈": ["男款"], "爸爸": ["女款"]}),
    )
    set_runtime(runtime)
    yield runtime
    set_runtime(shop)


async def shown_for(slots: dict[str, str]) -> tuple[list[str], str]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("想买件羽绒服", "search_product", slots=slots)
    await ActionSearchProducts().run(dispatcher, tracker, {})
    [payload] = payloads(dispatcher, "products")
    return [item["title"] for item in payload["items"]], texts(dispatcher)


async def test_a_gift_for_mum_shows_no_mens_items(gifts: Runtime) -> None:
    titles, text = await shown_for({"category": "羽绒服", "recipient": "妈妈"})
    assert titles and all(t.startswith("女士") for t in titles), titles
    assert "送妈妈的话" in text
    titles, _ = await shown_for({"category": "羽绒服", "recipient": "爸爸"})
    assert titles and all(t.startswith("男士") for t in titles), titles


async def test_nobody_named_means_no_audience_filter(gifts: Runtime) -> None:
    titles, _ = await shown_for({"category": "羽绒服"})
    assert {t[:2] for t in titles} == {"男士", "女士"}


async def test_only_mens_items_left_are_shown_with_a_note(gifts: Runtime) -> None:
    titles, text = await shown_for({"category": "剃须刀", "recipient": "妈妈"})
    assert titles and all(t.startswith("男士") for t in titles)
    assert "没找到特别适合妈妈的「剃须刀」款式" in text


async def test_similar_items_for_dad_show_no_womens_items(gifts: Runtime) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "有类似的吗", "ask_similar", slots={"focus_item": "j3", "recipient": "爸爸"}
    )
    await ActionSimilarItems().run(dispatcher, tracker, {})
    [payload] = payloads(dispatcher, "products")
    titles = [item["title"] for item in payload["items"]]
    assert titles and not any(t.startswith("女士") for t in titles), titles
