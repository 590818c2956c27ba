"""Attribute names shoppers read: the demo store's every attribute has one."""

from __future__ import annotations

from shopbot.demo.simulator import Simulation
from shopbot.specs import spec_name, specs


def test_every_demo_attribute_is_shown_under_a_chinese_name(full_sim: Simulation) -> None:
    keys = {key for product in full_sim.catalog.products for key in product["attributes"]}
    assert len(keys) > 20
    unnamed = {key for key in keys if spec_name(key) is None}
    assert not unnamed, f"attributes without a shopper-facing name: {sorted(unnamed)}"


def test_known_keys_first_in_page_order_and_lists_joined() -> None:
    pairs = specs({"color": ["黑色", "红色"], "fill": "300g", "material": "白鸭绒"})
    assert pairs == [("材质", "白鸭绒"), ("充绒量", "300g"), ("颜色", "黑色、红色")]
    assert specs({"size": ["S", "M"]}, " / ") == [("尺码", "S / M")]


def test_a_chinese_key_is_kept_and_an_unnamed_english_key_is_not_shown() -> None:
    assert specs({"产地": "云南", "sku_internal": "A-17", "color": []}) == [("产地", "云南")]
    assert specs(None) == []
