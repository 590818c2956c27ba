"""The quick intent baseline reads Rasa YAML as Rasa does and scores a separable toy set."""

from __future__ import annotations

from pathlib import Path

from bot.nlu_baseline import intent_baseline, intent_examples


def write_nlu(root: Path, body: str) -> Path:
    path = root / "data" / "nlu" / "toy.yml"
    path.parent.mkdir(parents=True)
    path.write_text(body, encoding="utf-8")
    return path


def test_markup_is_stripped_and_only_intents_are_read(tmp_path: Path) -> None:
    path = write_nlu(
        tmp_path,
        'version: "3.1"\nnlu:\n  - intent: search_product\n    examples: |\n'
        "      - 想买[跑鞋](category)\n"
        '      - [苹果]{"entity": "brand", "value": "苹果"}手机\n'
        "  - synonym: 运动鞋\n    examples: |\n      - 跑鞋\n",
    )
    assert intent_examples([path]) == (["想买跑鞋", "苹果手机"], ["search_product"] * 2)


def test_separable_intents_score_high_and_a_mislabel_is_listed(tmp_path: Path) -> None:
    greet = [f"你好{'呀啊哈呢'[i % 4]}{'～' * (i % 3)}" for i in range(12)]
    cart = [f"第{n}个加入购物车{'吧' * (i % 2)}" for i, n in enumerate("一二三四五六七八九十两几")]
    lines = "".join(f"      - {t}\n" for t in greet)
    lines_cart = "".join(f"      - {t}\n" for t in cart) + "      - 你好呀～～\n"
    write_nlu(
        tmp_path,
        f'version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n{lines}'
        f"  - intent: add_to_cart\n    examples: |\n{lines_cart}",
    )
    result = intent_baseline(folds=3, root=tmp_path)
    assert result["examples"] == 25
    assert result["per_intent_f1"]["add_to_cart"] > 0.9
    assert {"text": "你好呀～～", "intent": "add_to_cart", "predicted": "greet"} in result["errors"]
