"""Normalisers: money in every way shoppers write it, ordinals, sizes, catalog aliases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.normalize import (
    cn_to_number,
    find_terms,
    normalize_size,
    normalize_term,
    parse_amount,
    parse_ordinal,
    parse_price,
)
from bot.nlu_data import cn_number
from tests.actions.conftest import LEXICON


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("两千的手机", 1600, 2400),
        ("2k的耳机", 1600, 2400),
        ("1k以内", None, 1000),
        ("五百以内的跑鞋", None, 500),
        ("两三百的卫衣", 200, 300),
        ("四五千的手机", 4000, 5000),
        ("不超过一千五", None, 1500),
        ("500以上", 500, None),
        ("1000到2000", 1000, 2000),
        ("预算3000", None, 3000),
        ("1-2k的耳机", 1000, 2000),
        ("一到两千", 1000, 2000),
        ("三百到五百块", 300, 500),
        ("2w以内", None, 20000),
        ("500以上1000以下", 500, 1000),
        ("来个一百块以内的", None, 100),
        ("¥800左右", 640, 960),
        ("预算两千五左右", 2000, 3000),
        ("不到200", None, 200),
        ("最多一千", None, 1000),
        ("2000多的", 2000, None),
        ("1千5以内", None, 1500),
    ],
)
def test_money_phrasings(text: str, low: float | None, high: float | None) -> None:
    found = parse_price(text)
    assert (found.min, found.max) == (low, high)


@pytest.mark.parametrize(
    "text",
    [
        "想买 iphone 15 pro",
        "华为Mate60",
        "42码的跑鞋",
        "256G的手机",
        "千万别太贵",
        "要2个",
        "XL码",
        "第二个",
    ],
)
def test_numbers_that_are_not_money(text: str) -> None:
    assert not parse_price(text)


@pytest.mark.parametrize(
    "text",
    ["预算1e99的手机", "预算1E5", "预算负五百", "预算-500", "预算 -500块的跑鞋", "负500到1000"],
)
def test_impossible_budgets_set_no_price(text: str) -> None:
    # "1e99" read as "1" became a 1-yuan ceiling; 负五百 became 400-600.
    assert not parse_price(text)


@pytest.mark.parametrize(
    ("text", "low", "high"), [("500-1000", 500, 1000), ("两千-三千", 2000, 3000)]
)
def test_a_dash_between_amounts_is_still_a_range(text: str, low: float, high: float) -> None:
    found = parse_price(text)
    assert (found.min, found.max) == (low, high)


@given(st.integers(min_value=1, max_value=99).map(lambda n: n * 100))
def test_any_hundreds_in_chinese_numerals_round_trip(amount: int) -> None:
    assert cn_to_number(cn_number(amount)) == amount
    assert parse_price(f"{cn_number(amount)}以内").max == amount
    assert parse_price(f"{amount}块以内的").max == amount


@given(
    st.integers(min_value=1, max_value=500).map(lambda n: n * 10),
    st.integers(min_value=1, max_value=500).map(lambda n: n * 10),
)
def test_ranges_are_ordered_whatever_the_order_typed(a: int, b: int) -> None:
    found = parse_price(f"{a}到{b}元")
    assert (found.min, found.max) == (min(a, b), max(a, b))


@given(st.text(max_size=40))
def test_parse_price_never_crashes_and_ranges_are_sane(text: str) -> None:
    found = parse_price(text)
    if found.min is not None and found.max is not None:
        assert found.min <= found.max
    for value in (found.min, found.max):
        assert value is None or value >= 0


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1.5k", 1500), ("2w", 20000), ("1千5", 1500), ("两千五", 2500), ("一万二", 12000)],
)
def test_amounts(raw: str, value: float) -> None:
    assert parse_amount(raw) == value


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("第二个多少钱", 2),
        ("第3款有货吗", 3),
        ("最后一个", -1),
        ("这款怎么样", 0),
        ("1号加购物车", 1),
        ("看看", None),
    ],
)
def test_ordinals(text: str, position: int | None) -> None:
    assert parse_ordinal(text) == position


def test_catalog_terms_normalise_to_canonical_names() -> None:
    assert normalize_term("categories", "跑鞋", LEXICON) == "运动鞋"
    assert normalize_term("categories", "跑步鞋", LEXICON) == "运动鞋"
    assert normalize_term("categories", "球鞋", LEXICON) == "运动鞋"
    for alias in ("苹果", "Apple", "apple", "iPhone", "IPHONE"):
        assert normalize_term("brands", alias, LEXICON) == "苹果"
    assert normalize_term("brands", "Mate60", LEXICON) == "华为"  # a product line names its brand
    assert normalize_term("recipients", "老妈", LEXICON) == "妈妈"
    assert normalize_term("colors", "黑", LEXICON) == "黑色"
    assert normalize_term("brands", "不存在的牌子", LEXICON) is None
    assert find_terms("categories", "想买双跑鞋和一个水杯", LEXICON) == ["运动鞋", "保温杯"]


@pytest.mark.parametrize(
    ("raw", "size"), [("42码", "42"), ("xl", "XL"), ("XL码", "XL"), ("43", "43")]
)
def test_sizes(raw: str, size: str) -> None:
    assert normalize_size(raw, LEXICON) == size


@pytest.mark.parametrize(
    ("raw", "size"),
    [("256G", "256GB"), ("有512g的吗", "512GB"), ("1T", "1TB"), ("2TB", "2TB"), ("128GB", "128GB")],
)
def test_storage_is_asked_for_like_a_size(raw: str, size: str) -> None:
    assert normalize_size(raw, LEXICON) == size


@pytest.mark.parametrize("raw", ["5G", "5G手机", "8+256", "iPhone 15"])
def test_network_and_model_numbers_are_not_storage(raw: str) -> None:
    assert normalize_size(raw, LEXICON) is None


LETTER_SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "2XL", "3XL")


@given(
    st.sampled_from(LETTER_SIZES),
    st.lists(st.booleans(), min_size=4, max_size=4),
    st.sampled_from(["", "要", "尺码", "穿", "有没有"]),
    st.sampled_from(["", "码", "号", "的", "码的", " "]),
)
def test_letter_sizes_in_any_case_and_phrasing(
    size: str, upper: list[bool], before: str, after: str
) -> None:
    # Without the lexicon too: "XL码" and "M号" were missed (no word boundary next to 码).
    typed = "".join(c.upper() if u else c.lower() for c, u in zip(size, upper * 2, strict=False))
    assert normalize_size(before + typed + after) == size


@given(
    st.integers(min_value=20, max_value=49),
    st.booleans(),
    st.sampled_from(["码", "号", " 码", "码的"]),
)
def test_shoe_sizes_round_trip(number: int, half: bool, unit: str) -> None:
    size = f"{number}.5" if half else str(number)
    assert normalize_size(f"穿{size}{unit}") == size
    assert normalize_size(size) == size  # the entity alone


@given(st.text(max_size=30))
def test_normalize_size_never_crashes_and_only_returns_what_was_typed(text: str) -> None:
    size = normalize_size(text)
    if size is not None:
        assert size in text.upper()


@pytest.mark.parametrize("text", ["5L的保温杯", "Mate60", "500ML", "iPhone 15 Pro Max", "142码"])
def test_things_that_are_not_sizes(text: str) -> None:
    assert normalize_size(text) is None
