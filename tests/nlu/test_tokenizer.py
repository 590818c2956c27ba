"""ShopJiebaTokenizer: no whitespace tokens (rasa issue 7910), sensible Latin model names."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.tokenizer import ShopJiebaTokenizer, split_glued


@pytest.fixture
def tokenizer(tmp_path) -> ShopJiebaTokenizer:
    storage = LocalModelStorage(tmp_path)
    config = {**ShopJiebaTokenizer.get_default_config()}
    return ShopJiebaTokenizer.create(
        config,
        storage,
        Resource("tokenizer"),
        ExecutionContext(graph_schema=None),  # type: ignore[arg-type]
    )


def words(tokenizer: JiebaTokenizer, text: str) -> list[tuple[str, int, int]]:
    return [(t.text, t.start, t.end) for t in tokenizer.tokenize(Message(data={TEXT: text}), TEXT)]


def test_rasa_jieba_keeps_whitespace_tokens_which_we_drop(tokenizer, tmp_path) -> None:
    text = "想买 iphone 15 pro"
    stock = JiebaTokenizer.create(
        JiebaTokenizer.get_default_config(),
        LocalModelStorage(tmp_path / "stock"),
        Resource("stock"),
        ExecutionContext(graph_schema=None),  # type: ignore[arg-type]
    )
    assert " " in [w for w, _, _ in words(stock, text)]  # the upstream bug we work around
    assert words(tokenizer, text) == [
        ("想", 0, 1), ("买", 1, 2), ("iphone", 3, 9), ("15", 10, 12), ("pro", 13, 16),
    ]  # fmt: skip


def test_offsets_still_index_the_original_text(tokenizer) -> None:
    text = "给妈妈买个保温杯  预算500左右 😊"
    for word, start, end in words(tokenizer, text):
        assert text[start:end] == word and word.strip()


def test_glued_model_names_split_at_letter_digit_boundaries(tokenizer) -> None:
    assert [w for w, _, _ in words(tokenizer, "华为Mate60多少钱")][:3] == ["华为", "Mate", "60"]
    pieces = [w for w, _, _ in words(tokenizer, "iPhone15ProMax")]
    # With the catalog dictionary loaded jieba also cuts Pro|Max; either way the brand and
    # the model number are tokens of their own.
    assert pieces[:2] == ["iPhone", "15"] and "".join(pieces[2:]) == "ProMax"


@pytest.mark.parametrize("word", ["256G", "1k", "2w", "1.5k", "P60", "XL", "42", "AirPods"])
def test_units_and_short_series_names_stay_whole(word: str) -> None:
    assert split_glued(word) == [(word, 0)]


def test_empty_and_whitespace_only_messages(tokenizer) -> None:
    assert words(tokenizer, "   ") == []


@pytest.mark.parametrize(
    ("text", "whole"),
    [("有没有512G的", "512G"), ("预算12000", "12000"), ("要1TB的", "1TB")],
)
def test_numbers_the_catalog_dictionary_cuts_are_joined_again(tmp_path, text, whole) -> None:
    # The catalogue dictionary holds words such as "12" (nova 12), and jieba cut 512G into
    # 5 | 12 | G with it: no entity span could then cover the storage size.
    catalog = Path(__file__).resolve().parents[2] / "bot" / "jieba_dict"
    config = {**ShopJiebaTokenizer.get_default_config(), "dictionary_path": str(catalog)}
    with_catalog = ShopJiebaTokenizer.create(
        config,
        LocalModelStorage(tmp_path),
        Resource("tokenizer"),
        ExecutionContext(graph_schema=None),  # type: ignore[arg-type]
    )
    assert whole in [w for w, _, _ in words(with_catalog, text)]
