from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest

from shopbot.demo.catalog import Catalog, generate_catalog, storefront_price
from shopbot.demo.config import load_product_spec, load_simulation_config
from shopbot.demo.vocabulary import load_vocabulary

from .test_vocabulary import REQUIRED


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(42)


def test_same_seed_same_catalog_other_seed_other_catalog(catalog: Catalog) -> None:
    assert generate_catalog(42).products == catalog.products
    other = generate_catalog(43).products
    assert [p["title"] for p in other] != [p["title"] for p in catalog.products]


def test_size_ids_images_and_every_category(catalog: Catalog) -> None:
    products = catalog.products
    assert len(products) >= 1500
    assert [p["id"] for p in products] == [f"p{i:05d}" for i in range(1, len(products) + 1)]
    assert all(p["image"] == f"/images/products/{p['id']}.svg" for p in products)
    per_category = Counter(p["category"] for p in products)
    for category in REQUIRED:
        assert per_category[category] >= 10, category
    assert len({p["title"] for p in products}) == len(products)


def test_brands_and_lines_agree_with_the_vocabulary(catalog: Catalog) -> None:
    vocab = load_vocabulary()
    for p in catalog.products:
        assert p["brand"] in vocab.brands_for(p["category"]), p["title"]
        line = p["attributes"].get("line")
        if line:
            assert vocab.product_lines[line] == p["brand"]
            assert line in p["title"]
        for color in p["attributes"].get("color", []):
            assert color in vocab.colors
    phones = {p["brand"] for p in catalog.products if p["category"] == "手机"}
    assert {"华为", "小米", "苹果", "OPPO", "vivo", "荣耀"} <= phones


def test_prices_are_storefront_prices_within_category_ranges(catalog: Catalog) -> None:
    spec = load_product_spec()["categories"]
    discounted = 0
    for p in catalog.products:
        lo, hi = spec[p["category"]]["price"]
        assert 0.8 * lo <= p["price"] <= hi * 1.05, p["title"]
        assert p["list_price"] >= p["price"]
        discounted += p["list_price"] > p["price"]
        assert re.fullmatch(r"\d+(\.9|\.0)?", f"{p['price']:g}"), p["price"]
    assert 0.25 * len(catalog.products) < discounted < 0.65 * len(catalog.products)

    # Premium brands cost more than budget brands for the same kind of thing.
    def median(brand: str, category: str) -> float:
        prices = sorted(
            p["price"] for p in catalog.products if (p["brand"], p["category"]) == (brand, category)
        )
        return prices[len(prices) // 2]

    assert median("苹果", "手机") > 2 * median("小米", "手机")
    assert median("兰蔻", "口红") > median("完美日记", "口红")
    assert storefront_price(5987) == 5999 and storefront_price(412) == 409
    assert storefront_price(59.3) == 59.9


def test_category_attributes(catalog: Catalog) -> None:
    by_cat = catalog.by_category()
    for shoe in by_cat["运动鞋"]:
        sizes = [int(s) for s in shoe["attributes"]["size"]]
        assert sizes and min(sizes) >= 35 and max(sizes) <= 45
        assert ("男款" in shoe["tags"]) != ("女款" in shoe["tags"])
        assert shoe["attributes"]["color"] and shoe["attributes"]["material"]
    for category in ("T恤", "牛仔裤", "羽绒服", "连衣裙"):
        for item in by_cat[category]:
            assert set(item["attributes"]["size"]) <= {"XS", "S", "M", "L", "XL", "XXL"}
    assert all(
        re.fullmatch(r"\d+GB\+\d+(GB|TB)", p["attributes"]["storage"]) for p in by_cat["手机"]
    )
    assert {p["attributes"]["stage"] for p in by_cat["奶粉"]} == {"1段", "2段", "3段"}
    assert all(p["attributes"]["age"].endswith(("岁", "岁以上")) for p in by_cat["玩具"])
    assert all(p["attributes"]["flavour"] for p in by_cat["零食"])
    assert all(p["attributes"]["capacity"] for p in by_cat["电饭煲"])
    assert all("女款" in p["tags"] for p in by_cat["连衣裙"])


def test_titles_read_like_a_chinese_storefront(catalog: Catalog) -> None:
    titles = {p["title"] for p in catalog.products}
    assert any(t.startswith("华为 Mate 60 Pro ") and t.endswith("手机") for t in titles)
    assert any(t.startswith("耐克 Air Zoom Pegasus 40 ") and "男子" in t for t in titles)
    assert any(t.startswith("《三体》") for t in titles)
    for p in catalog.products:
        assert len(p["title"]) <= 60 and "  " not in p["title"]
        assert p["description"].endswith("。")


def test_stock_tags_and_arrivals(catalog: Catalog) -> None:
    config = load_simulation_config()
    products = catalog.products
    out = sum(p["stock"] == 0 for p in products)
    assert 0.02 * len(products) < out < 0.1 * len(products)
    late = [p for p in products if p["created_at"] >= config.end - timedelta(days=14)]
    assert 0.06 * len(products) < len(late) < 0.2 * len(products)
    assert any(p["created_at"] >= config.holdout_start for p in products)
    assert all("新品" in p["tags"] for p in late)
    assert all(p["created_at"] < config.end for p in products)
    assert sum("爆款" in p["tags"] for p in products) >= len(products) // 15
    # 国潮 is for domestic brands only.
    assert not [p for p in products if "国潮" in p["tags"] and p["brand"] in {"耐克", "苹果"}]


def test_childrens_products_are_tagged_so_an_adults_gift_can_leave_them_out(
    catalog: Catalog,
) -> None:
    kids = [p for p in catalog.products if "儿童款" in p["tags"]]
    assert kids and {p["category"] for p in kids} >= {"保温杯", "玩具"}
    assert all("儿童" in p["title"] or "童书" in p["title"] for p in kids)
    assert not [p for p in catalog.products if "儿童" in p["title"] and p not in kids]
