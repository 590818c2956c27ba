"""The catalog vocabulary: canonical categories, brands, colours ... and what shoppers type for them.

The data lives in `data/store/catalog.yml`; this module loads and checks it. The NLU lookups, the
action-side lexicon and the catalog generator all read it, so a name exists in one place only.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shopbot.config import PROJECT_ROOT

STORE_DIR = PROJECT_ROOT / "data" / "store"
CATALOG_PATH = STORE_DIR / "catalog.yml"


class VocabularyError(ValueError):
    """The vocabulary file is malformed or inconsistent."""


@dataclass(frozen=True)
class Vocabulary:
    categories: dict[str, list[str]]
    brands: dict[str, list[str]]
    category_brands: dict[str, list[str]]
    colors: dict[str, list[str]]
    sizes: list[str]
    materials: list[str]
    # model line as written in titles ("Mate 60 Pro", "iPhone 15") -> brand
    product_lines: dict[str, str]
    recipients: dict[str, list[str]]
    accessories: dict[str, list[str]]
    # brand -> category -> model lines, entry models first (what the generator names products after)
    brand_lines: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # recipient -> product tags that do not suit them (妈妈 -> 男款)
    recipient_excludes: dict[str, list[str]] = field(default_factory=dict)
    # accessory category -> device categories it is made for (手机壳 -> 手机)
    fitted_accessories: dict[str, list[str]] = field(default_factory=dict)
    # recipient -> categories a gift for them comes from when none is named (妈妈 -> 面霜, ...)
    recipient_gifts: dict[str, list[str]] = field(default_factory=dict)
    # recipient bought for rather than given to -> how it is said (宝宝 -> 给宝宝用)
    recipient_uses: dict[str, str] = field(default_factory=dict)
    # interest -> the words shoppers say for it (做饭 -> 下厨, 烧菜) and the categories suiting it
    interest_words: dict[str, list[str]] = field(default_factory=dict)
    interest_categories: dict[str, list[str]] = field(default_factory=dict)
    interest_tags: dict[str, list[str]] = field(default_factory=dict)

    def lines_for(self, brand: str, category: str) -> list[str]:
        return list(self.brand_lines.get(brand, {}).get(category, []))

    def brands_for(self, category: str) -> list[str]:
        return list(self.category_brands.get(category, []))

    def canonical_color(self, text: str) -> str | None:
        """The canonical colour for `text` (黑 -> 黑色), or None."""
        key = _fold(text)
        for canonical, variants in self.colors.items():
            if key in {_fold(canonical), *(_fold(v) for v in variants)}:
                return canonical
        return None


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with the C loader when PyYAML has it (the catalog files are large)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe loader


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", str(text)).lower()


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise VocabularyError(f"{where}: expected a list, got {type(value).__name__}")
    return [str(v) for v in value]


def _mapping(raw: dict[str, Any], key: str) -> dict[str, list[str]]:
    value = raw.get(key)
    if not isinstance(value, dict) or not value:
        raise VocabularyError(f"'{key}' must be a non-empty mapping")
    return {str(k): _str_list(v, f"{key}.{k}") for k, v in value.items()}


def _optional_mapping(raw: dict[str, Any], key: str) -> dict[str, list[str]]:
    """`key`'s mapping when the file has one, else none; present, it must be well formed."""
    return _mapping(raw, key) if raw.get(key) is not None else {}


def _require_known(names: Iterable[str], known: Container[str], where: str, what: str) -> None:
    for name in names:
        if name not in known:
            raise VocabularyError(f"{where}: unknown {what} {name!r}")


def _check_unique_aliases(kind: str, table: dict[str, list[str]]) -> None:
    """One typed alias must lead to one canonical name, or the NLU cannot resolve it."""
    owner: dict[str, str] = {}
    for canonical, variants in table.items():
        for alias in {canonical, *variants}:
            key = _fold(alias)
            if key in owner and owner[key] != canonical:
                raise VocabularyError(
                    f"{kind}: alias {alias!r} belongs to both {owner[key]!r} and {canonical!r}"
                )
            owner[key] = canonical


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Read and validate the catalog vocabulary (default: data/store/catalog.yml)."""
    path = Path(path) if path else CATALOG_PATH
    try:
        raw = read_yaml(path)
    except FileNotFoundError:
        raise VocabularyError(f"vocabulary file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise VocabularyError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise VocabularyError(f"{path}: expected a mapping at the top level")

    categories = _mapping(raw, "categories")
    brands = _mapping(raw, "brands")
    category_brands = _mapping(raw, "category_brands")
    colors = _mapping(raw, "colors")
    recipients = _mapping(raw, "recipients")
    accessories = _mapping(raw, "accessories")
    # Optional: a store whose products carry no audience tags has nothing to leave out.
    recipient_excludes = _optional_mapping(raw, "recipient_excludes")
    sizes = _str_list(raw.get("sizes"), "sizes")
    materials = _str_list(raw.get("materials"), "materials")

    for kind, table in (
        ("categories", categories),
        ("brands", brands),
        ("colors", colors),
        ("recipients", recipients),
    ):
        _check_unique_aliases(kind, table)
    _require_known(category_brands, categories, "category_brands", "category")
    for category, names in category_brands.items():
        _require_known(names, brands, f"category_brands.{category}", "brand")
    for category in categories:
        if not category_brands.get(category):
            raise VocabularyError(f"category {category!r} has no brands in category_brands")
    for category, extras in accessories.items():
        _require_known([category, *extras], categories, "accessories", "category")

    fitted_accessories = _optional_mapping(raw, "fitted_accessories")
    for accessory, devices in fitted_accessories.items():
        _require_known([accessory, *devices], categories, "fitted_accessories", "category")
    _require_known(recipient_excludes, recipients, "recipient_excludes", "recipient")
    recipient_gifts = _optional_mapping(raw, "recipient_gifts")
    _require_known(recipient_gifts, recipients, "recipient_gifts", "recipient")
    for recipient, names in recipient_gifts.items():
        _require_known(names, categories, f"recipient_gifts.{recipient}", "category")
    raw_uses = raw.get("recipient_uses") or {}
    if not isinstance(raw_uses, dict):
        raise VocabularyError("'recipient_uses' must be a mapping recipient -> phrase")
    recipient_uses = {str(k): str(v) for k, v in raw_uses.items()}
    _require_known(recipient_uses, recipients, "recipient_uses", "recipient")
    interest_words, interest_categories, interest_tags = _interests(
        raw.get("interests"), categories
    )

    brand_lines: dict[str, dict[str, list[str]]] = {}
    product_lines: dict[str, str] = {}
    raw_lines = raw.get("product_lines") or {}
    if not isinstance(raw_lines, dict):
        raise VocabularyError("'product_lines' must be a mapping brand -> category -> lines")
    for brand, per_category in raw_lines.items():
        brand = str(brand)
        if brand not in brands:
            raise VocabularyError(f"product_lines: unknown brand {brand!r}")
        if not isinstance(per_category, dict):
            raise VocabularyError(f"product_lines.{brand}: expected category -> lines")
        brand_lines[brand] = {}
        for category, lines in per_category.items():
            category = str(category)
            if brand not in category_brands.get(category, []):
                raise VocabularyError(
                    f"product_lines.{brand}.{category}: {brand} is not sold in {category}"
                )
            names = _str_list(lines, f"product_lines.{brand}.{category}")
            brand_lines[brand][category] = names
            for line in names:
                if product_lines.setdefault(line, brand) != brand:
                    raise VocabularyError(f"product line {line!r} names two brands")

    return Vocabulary(
        categories=categories,
        brands=brands,
        category_brands=category_brands,
        colors=colors,
        sizes=sizes,
        materials=materials,
        product_lines=product_lines,
        recipients=recipients,
        accessories=accessories,
        brand_lines=brand_lines,
        recipient_excludes=recipient_excludes,
        fitted_accessories=fitted_accessories,
        recipient_gifts=recipient_gifts,
        recipient_uses=recipient_uses,
        interest_words=interest_words,
        interest_categories=interest_categories,
        interest_tags=interest_tags,
    )


def _interests(
    raw: Any, categories: dict[str, list[str]]
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]:
    """Words, categories and favoured tags per interest, checked: a word names one interest and
    no category (a catalog alias already says what is wanted), and every category exists."""
    if raw is None:
        return {}, {}, {}
    if not isinstance(raw, dict):
        raise VocabularyError("'interests' must be a mapping interest -> {words, categories}")
    aliases = {_fold(a) for name, variants in categories.items() for a in [name, *variants]}
    words: dict[str, list[str]] = {}
    suits: dict[str, list[str]] = {}
    favoured: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for interest, spec in raw.items():
        interest = str(interest)
        if not isinstance(spec, dict):
            raise VocabularyError(f"interests.{interest}: expected words and categories")
        said = _str_list(spec.get("words"), f"interests.{interest}.words")
        kinds = _str_list(spec.get("categories"), f"interests.{interest}.categories")
        if not said or not kinds:
            raise VocabularyError(f"interests.{interest}: needs words and categories")
        _require_known(kinds, categories, f"interests.{interest}", "category")
        for word in [interest, *said]:
            key = _fold(word)
            if key in aliases:
                raise VocabularyError(f"interests.{interest}: {word!r} is a category alias")
            if owner.setdefault(key, interest) != interest:
                raise VocabularyError(
                    f"interests: {word!r} belongs to both {owner[key]!r} and {interest!r}"
                )
        words[interest], suits[interest] = said, kinds
        favoured[interest] = _str_list(spec.get("tags"), f"interests.{interest}.tags")
    return words, suits, favoured
