from __future__ import annotations

import re
from pathlib import Path

import pytest

from shopbot.demo.vocabulary import CATALOG_PATH, VocabularyError, load_vocabulary

REQUIRED = [
    "手机",
    "笔记本电脑",
    "耳机",
    "智能手表",
    "运动鞋",
    "连衣裙",
    "T恤",
    "牛仔裤",
    "羽绒服",
    "背包",
    "口红",
    "面霜",
    "洗发水",
    "零食",
    "咖啡",
    "茶叶",
    "奶粉",
    "纸尿裤",
    "玩具",
    "图书",
    "电饭煲",
    "空气炸锅",
    "扫地机器人",
    "吸尘器",
    "床上用品",
    "手机壳",
    "充电器",
    "鼠标",
    "表带",
    "袜子",
]


def test_required_categories_and_brands_present() -> None:
    vocab = load_vocabulary()
    assert set(REQUIRED) <= set(vocab.categories)
    assert {"华为", "小米", "苹果", "OPPO", "vivo", "荣耀"} <= set(vocab.brands_for("手机"))
    assert {"耐克", "阿迪达斯", "李宁", "安踏", "特步"} <= set(vocab.brands_for("运动鞋"))
    assert "跑步鞋" in vocab.categories["运动鞋"]
    assert "Apple" in vocab.brands["苹果"]
    assert vocab.product_lines["Mate 60 Pro"] == "华为"
    assert vocab.product_lines["iPhone 15"] == "苹果"
    assert "我妈" in vocab.recipients["妈妈"]
    assert "黑" in vocab.colors["黑色"]
    assert {"手机壳", "充电器"} <= set(vocab.accessories["手机"])
    assert vocab.canonical_color(" Black ") == "黑色"


def test_aliases_are_unambiguous_across_canonicals() -> None:
    vocab = load_vocabulary()
    for table in (vocab.categories, vocab.brands, vocab.colors, vocab.recipients):
        seen: dict[str, str] = {}
        for canonical, variants in table.items():
            for alias in {canonical, *variants}:
                key = re.sub(r"\s+", "", alias).lower()
                assert seen.setdefault(key, canonical) == canonical, alias


def test_every_accessory_category_has_brands() -> None:
    vocab = load_vocabulary()
    for category, extras in vocab.accessories.items():
        for name in (category, *extras):
            assert vocab.brands_for(name), name


def test_vocabulary_is_immutable() -> None:
    vocab = load_vocabulary()
    with pytest.raises(AttributeError):
        vocab.sizes = []  # type: ignore[misc]


def test_inconsistent_file_is_rejected_with_a_clear_error(tmp_path: Path) -> None:
    text = CATALOG_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "catalog.yml"
    bad.write_text(text.replace("  手机: [华为, 小米,", "  手机: [华为, 诺基亚, 小米,", 1), "utf-8")
    with pytest.raises(VocabularyError, match="诺基亚"):
        load_vocabulary(bad)
    clash = tmp_path / "clash.yml"
    clash.write_text(text.replace("耐克: [Nike,", "耐克: [Apple, Nike,", 1), "utf-8")
    with pytest.raises(VocabularyError, match="Apple"):
        load_vocabulary(clash)
    with pytest.raises(VocabularyError, match="not found"):
        load_vocabulary(tmp_path / "missing.yml")


def test_gifts_leave_out_what_does_not_suit_the_recipient(tmp_path: Path) -> None:
    vocab = load_vocabulary()
    assert vocab.recipient_excludes["妈妈"] == ["男款", "儿童款"]
    assert vocab.recipient_excludes["领导"] == ["儿童款"]
    assert vocab.recipient_excludes["儿子"] == ["女款"]
    assert set(vocab.recipient_excludes) <= set(vocab.recipients)
    text = CATALOG_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "catalog.yml"
    bad.write_text(text.replace("  妈妈: [男款, 儿童款]", "  舅舅: [女款]", 1), "utf-8")
    with pytest.raises(VocabularyError, match="舅舅"):
        load_vocabulary(bad)


def test_fitted_accessories_name_known_categories(tmp_path: Path) -> None:
    assert load_vocabulary().fitted_accessories["手机壳"] == ["手机"]
    text = CATALOG_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "catalog.yml"
    bad.write_text(text.replace("  表带: [智能手表]", "  表带: [怀表]", 1), "utf-8")
    with pytest.raises(VocabularyError, match="怀表"):
        load_vocabulary(bad)


def test_gift_lists_and_interests_name_known_things(tmp_path: Path) -> None:
    vocab = load_vocabulary()
    assert "奶粉" not in vocab.recipient_gifts["妈妈"] and "面霜" in vocab.recipient_gifts["妈妈"]
    assert vocab.interest_categories["做饭"] == ["空气炸锅", "电饭煲"]
    assert "下厨" in vocab.interest_words["做饭"]
    assert vocab.recipient_uses["宝宝"] == "给宝宝用"
    text = CATALOG_PATH.read_text(encoding="utf-8")
    for old, new, problem in [
        ("  妈妈: [智能手表,", "  妈妈: [按摩椅,", "按摩椅"),
        ("  同事: [保温杯,", "  舅舅: [保温杯,", "舅舅"),
        ("  宝宝: 给宝宝用", "  小猫: 给小猫用", "小猫"),
        ("categories: [空气炸锅, 电饭煲]", "categories: [烤箱]", "烤箱"),
        # 喝茶 says 茶叶 already; an interest word must not be a catalog alias.
        ("[做饭, 下厨,", "[做饭, 绿茶, 下厨,", "绿茶"),
        ("[跑步, 慢跑,", "[跑步, 下厨, 慢跑,", "下厨"),
    ]:
        bad = tmp_path / "catalog.yml"
        assert old in text, old
        bad.write_text(text.replace(old, new, 1), "utf-8")
        with pytest.raises(VocabularyError, match=problem):
            load_vocabulary(bad)
