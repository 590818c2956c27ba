"""A jieba tokenizer that drops whitespace tokens and splits glued Latin model names.

Rasa 3.6's JiebaTokenizer keeps the spaces jieba emits for `想买 iphone 15 pro` as tokens
(rasa issue 7910). They carry no meaning, dilute the bag-of-words features and push entity
spans off token boundaries. Shoppers also glue brand and model together (`iPhone15ProMax`,
`Mate60`); we split those at letter/digit and digit boundaries so `iPhone` lines up with a
brand span and `15` with a model number, while units such as `256G`, `1k` or `2w` stay whole.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

logger = logging.getLogger(__name__)

# Runs of letters or digits inside one jieba token.
_PIECES = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?|[^A-Za-z\d]+")
# Suffixes that belong to the number before them (storage, money, size), so are never split off.
_UNIT_SUFFIX = re.compile(r"(?i)^(k|w|g|gb|t|tb|mah|ml|mm|cm|kg|hz|w|p|x|xl|s|m|l|v|a)$")


def split_glued(word: str) -> list[tuple[str, int]]:
    """Split `iPhone15ProMax` into (piece, offset) pairs; leave `256G`, `1k`, `P60` whole."""
    if (
        not word.isascii()
        or not any(c.isdigit() for c in word)
        or not any(c.isalpha() for c in word)
    ):
        return [(word, 0)]
    pieces = [(m.group(0), m.start()) for m in _PIECES.finditer(word)]
    merged: list[tuple[str, int]] = []
    for text, offset in pieces:
        if merged and (
            # 256 + G, 1 + k: the unit stays with its number
            (merged[-1][0][-1].isdigit() and _UNIT_SUFFIX.match(text))
            # P60, X5, K50: a one-letter series name is part of the model number
            or (text[0].isdigit() and len(merged[-1][0]) == 1 and merged[-1][0].isalpha())
            # punctuation inside a word (e.g. "1.5" handled by the regex, "-" kept attached)
            or not text.isalnum()
        ):
            prev, prev_offset = merged.pop()
            merged.append((prev + text, prev_offset))
        else:
            merged.append((text, offset))
    return merged


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class ShopJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer without whitespace tokens and with glued model names split."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        config = dict(JiebaTokenizer.get_default_config())
        config["split_glued_latin"] = True
        return config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ShopJiebaTokenizer:
        _quiet_jieba()
        return super().create(config, model_storage, resource, execution_context)  # type: ignore[return-value]

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> ShopJiebaTokenizer:
        _quiet_jieba()
        return super().load(config, model_storage, resource, execution_context, **kwargs)  # type: ignore[return-value]

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        import jieba

        text = message.get(attribute)
        tokens: list[Token] = []
        for word, start in _reglued(jieba.tokenize(text)):
            if not word.strip():
                continue  # rasa issue 7910: whitespace is not a token
            if self._config.get("split_glued_latin", True):
                for piece, offset in split_glued(word):
                    tokens.append(Token(piece, start + offset))
            else:
                tokens.append(Token(word, start))
        return self._apply_token_pattern(tokens)


_ASCII_WORD = re.compile(r"[A-Za-z\d.]+")


def _reglued(words: Any) -> list[tuple[str, int]]:
    """jieba's (word, start, end) with adjacent Latin/digit words joined again.

    Its dictionary cuts inside numbers and model names as well (`512G` -> `5`, `12`, `G`,
    because `12` is a catalogue word), which leaves a storage size or a price in pieces that
    no entity span can line up with. Joined, `split_glued` cuts them where shoppers would."""
    out: list[tuple[str, int]] = []
    end = -1
    for word, start, stop in words:
        if (
            out
            and start == end
            and _ASCII_WORD.fullmatch(word)
            and _ASCII_WORD.fullmatch(out[-1][0])
        ):
            out[-1] = (out[-1][0] + word, out[-1][1])
        else:
            out.append((word, start))
        end = stop
    return out


def _quiet_jieba() -> None:
    import jieba

    jieba.setLogLevel(logging.WARNING)
