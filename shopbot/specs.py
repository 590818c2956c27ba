"""Product attributes as shoppers read them: Chinese names in a fixed order.

The catalogue stores attributes under English keys (`fill`, `suction`, ...). The chat's detail
reply and the storefront's product page both show them, so the names live here once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# In the order a product page lists them: what it is, then what it is made of, then the rest.
SPEC_NAMES: dict[str, str] = {
    "line": "系列",
    "kind": "种类",
    "type": "类型",
    "genre": "分类",
    "tea_type": "茶类",
    "config": "配置",
    "storage": "存储",
    "capacity": "容量",
    "volume": "净含量",
    "weight": "净重",
    "count": "数量",
    "pack": "规格",
    "material": "材质",
    "fill": "充绒量",
    "texture": "质地",
    "flavour": "口味",
    "scent": "香型",
    "roast": "烘焙度",
    "form": "形态",
    "power": "功率",
    "suction": "吸力",
    "runtime": "续航",
    "case_size": "表盘尺寸",
    "stage": "段数",
    "age": "适用年龄",
    "skin": "适用肤质",
    "season": "适用季节",
    "size": "尺码",
    "color": "颜色",
}

_LATIN_KEY = re.compile(r"^[A-Za-z0-9_ .-]+$")


def spec_name(key: str) -> str | None:
    """The Chinese name of an attribute key; None for an English key we have no name for.

    A store's own Chinese key (`产地`) is already readable and is shown as it is."""
    if key in SPEC_NAMES:
        return SPEC_NAMES[key]
    return None if _LATIN_KEY.match(key) else key


def spec_value(value: Any, sep: str = "、") -> str:
    if isinstance(value, list | tuple):
        return sep.join(str(v) for v in value if v not in (None, ""))
    return "" if value is None else str(value)


def specs(attributes: Mapping[str, Any] | None, sep: str = "、") -> list[tuple[str, str]]:
    """(name, value) pairs to show, known keys first in SPEC_NAMES order, empty ones left out."""
    order = {key: n for n, key in enumerate(SPEC_NAMES)}
    out: list[tuple[int, str, str]] = []
    for n, (key, value) in enumerate((attributes or {}).items()):
        name = spec_name(str(key))
        text = spec_value(value, sep)
        if name is None or not text:
            continue
        out.append((order.get(str(key), len(order) + n), name, text))
    return [(name, text) for _, name, text in sorted(out)]
