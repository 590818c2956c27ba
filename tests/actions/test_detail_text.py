"""The text of a product detail reply: what the shopper reads about one product."""

from __future__ import annotations

import pytest

from actions.shop import blurb, detail_text
from shopbot.db.models import Product


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("轻量缓震，适合日常慢跑。", "轻量缓震，适合日常慢跑"),
        ("  透气网面！ ", "透气网面"),
        (
            "鞋面采用工程网布，轻盈透气；中底为全掌缓震材料，落地柔和回弹有力，"
            "外底耐磨橡胶，湿滑路面也抓地稳，适合城市路跑与健身房训练。",
            "鞋面采用工程网布，轻盈透气；中底为全掌缓震材料，落地柔和回弹有力，"
            "外底耐磨橡胶，湿滑路面也抓地稳",
        ),
        ("一" * 80, "一" * 60 + "…"),
    ],
)
def test_blurb_ends_cleanly(description: str, expected: str) -> None:
    assert blurb(description) == expected


def test_detail_reply_ends_with_one_full_stop() -> None:
    product = Product(
        id="d1",
        title="耐克 Pegasus 跑鞋",
        category="运动鞋",
        brand="耐克",
        price=459,
        list_price=599,
        stock=3,
        attributes={},
        description="轻量缓震，适合日常慢跑。",
    )
    text = detail_text(product, "介绍下第一个")
    assert text.endswith("适合日常慢跑。") and "。。" not in text


def test_detail_reply_names_attributes_in_chinese() -> None:
    product = Product(
        id="d2",
        title="李宁 轻薄系列 300g 墨绿 男士羽绒服",
        category="羽绒服",
        brand="李宁",
        price=859,
        list_price=1199,
        stock=20,
        attributes={"material": "白鸭绒", "fill": "300g", "color": ["绿色", "红色"]},
        description=None,
    )
    text = detail_text(product, "介绍下第二个")
    assert "材质：白鸭绒，充绒量：300g，颜色：绿色、红色" in text
    assert "fill" not in text and "material" not in text


@pytest.mark.parametrize(
    ("question", "answer"),
    [("有什么颜色", "颜色有：绿色、红色"), ("内存多大", "存储：12GB+256GB")],
)
def test_a_question_about_colours_or_storage_gets_just_that(question: str, answer: str) -> None:
    product = Product(
        id="d3",
        title="星河 S2 12GB+256GB",
        category="手机",
        brand="星河",
        price=3999,
        list_price=3999,
        stock=5,
        attributes={"storage": "12GB+256GB", "color": ["绿色", "红色"], "material": "玻璃"},
        description="旗舰影像。",
    )
    text = detail_text(product, question)
    assert answer in text and "材质" not in text and "旗舰影像" not in text, text
