"""Deterministic demo catalog: ~1,800 products named and priced the way Chinese storefronts do.

`generate_catalog(seed)` returns the product rows (the columns of `products`) plus the latent
facts the behaviour simulator needs but the database does not keep (popularity, price level,
target gender). Same seed and config, same catalog, byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from shopbot.demo.config import SimulationConfig, load_product_spec, load_simulation_config
from shopbot.demo.vocabulary import Vocabulary, load_vocabulary

NEW_TAG_DAYS = 21
# A title that says it is for children (儿童款 保温杯, 儿童礼物) gets the 儿童款 tag, so a gift for
# an adult can leave it out the way a gift for 妈妈 leaves out 男款.
KIDS_WORDS = ("儿童", "童书")


@dataclass(frozen=True)
class Latent:
    """What the simulator knows about a product beyond its row."""

    popularity: float  # relative appeal; heavy-tailed so a few products are hits
    price_level: float  # 0 = cheapest in its category, 1 = dearest
    gender: str | None  # "M" / "F" for 男款 / 女款 products


@dataclass(frozen=True)
class Catalog:
    products: list[dict[str, Any]]
    latent: dict[str, Latent] = field(default_factory=dict)

    def by_category(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self.products:
            out.setdefault(row["category"], []).append(row)
        return out


def storefront_price(value: float) -> float:
    """Round the way shops price things: 5999, 399, 59.9, 9.9."""
    if value >= 1000:
        return float(round(value / 100) * 100 - 1)
    if value >= 100:
        return float(round(value / 10) * 10 - 1)
    return math.floor(max(value, 1.0)) + 0.9


def _allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `total` by weight with largest-remainder rounding (exact sum, deterministic)."""
    wsum = sum(weights.values())
    raw = {k: total * w / wsum for k, w in weights.items()}
    counts = {k: int(math.floor(v)) for k, v in raw.items()}
    rest = total - sum(counts.values())
    for k in sorted(raw, key=lambda k: (counts[k] - raw[k], k))[:rest]:
        counts[k] += 1
    return counts


class _Builder:
    def __init__(
        self, seed: int, vocab: Vocabulary, spec: dict[str, Any], config: SimulationConfig
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.vocab = vocab
        self.spec = spec
        self.config = config
        self.tiers: dict[str, float] = {str(k): float(v) for k, v in spec["brand_tier"].items()}
        self.international = set(spec.get("international", []))
        self.titles: set[str] = set()

    def pick(self, seq: list[Any]) -> Any:
        return seq[int(self.rng.integers(len(seq)))]

    def created_at(self) -> datetime:
        arrivals = self.config.arrivals
        start, end = self.config.start, self.config.end
        late_start = end - timedelta(days=float(arrivals["late_days"]))
        roll = self.rng.random()
        if roll < arrivals["before"]:
            lo, hi = start - timedelta(days=240), start
        elif roll < arrivals["before"] + arrivals["during"]:
            lo, hi = start, late_start
        else:
            # Late arrivals stop a day short of the end so they can still sell.
            lo, hi = late_start, end - timedelta(days=1)
        seconds = (hi - lo).total_seconds() * float(self.rng.random())
        return (lo + timedelta(seconds=seconds)).replace(microsecond=0)

    def product(self, category: str, brand: str, slot: int) -> tuple[dict[str, Any], Latent]:
        cat = self.spec["categories"][category]
        rng = self.rng
        lines = self.vocab.lines_for(brand, category)
        series_value = ""
        tier = self.tiers.get(brand, 0.5)
        if lines:
            index = slot % len(lines)
            series = lines[index]
            line_pos = index / max(1, len(lines) - 1)
            level = 0.6 * tier + 0.45 * line_pos - 0.03 + rng.normal(0, 0.05)
        else:
            series = self.pick(cat.get("series") or [""])
            # "西湖龙井|绿茶": a series may fix one attribute that must agree with it.
            series, _, series_value = str(series).partition("|")
            level = 0.8 * tier + rng.normal(0.08, 0.1)

        attributes: dict[str, Any] = {}
        variant = ""
        for name, values in (cat.get("attrs") or {}).items():
            if name == "priced":
                for pname, pvalues in values.items():
                    i = int(rng.integers(len(pvalues)))
                    attributes[pname] = pvalues[i]
                    variant = str(pvalues[i])
                    level += (i / max(1, len(pvalues) - 1) - 0.5) * 0.25
            else:
                attributes[name] = self.pick(values)
        level = float(min(1.0, max(0.0, level)))

        gender: str | None = None
        gspec = cat.get("gender")
        if gspec:
            gender = "F" if gspec == ["女"] else ("M" if rng.random() < 0.5 else "F")
        sizes = [str(s) for s in cat.get("sizes") or []]
        if sizes and category == "运动鞋":
            sizes = [s for s in sizes if (int(s) >= 39 if gender == "M" else int(s) <= 40)]
        elif sizes and gender == "F":
            sizes = [s for s in sizes if s != "XXL"]
        if sizes:
            attributes["size"] = sizes

        color_name = ""
        colors = cat.get("colors") or {}
        if colors:
            names = sorted(colors)
            k = min(len(names), 1 + int(rng.integers(3)))
            chosen = [names[i] for i in rng.choice(len(names), size=k, replace=False)]
            attributes["color"] = chosen
            color_name = self.pick(colors[chosen[0]])
        if "material" not in attributes and category in ("手机壳", "表带"):
            attributes["material"] = self.pick(self.vocab.materials)
        if lines:
            attributes["line"] = series
        elif series_value:
            attributes[str(cat.get("series_attr", "kind"))] = series_value

        lo, hi = (float(x) for x in cat["price"])
        price = storefront_price(lo * (hi / lo) ** level)
        list_price = price
        if rng.random() < 0.45:
            list_price = max(price, storefront_price(price / (1 - rng.uniform(0.05, 0.35))))

        words = cat.get("gender_words") or ["男士", "女士"]
        noun = str(self.pick(cat["nouns"]))
        noun = noun.replace("{gender}", words[0] if gender == "M" else words[1])
        points = [str(p) for p in cat.get("points") or []]
        # A selling point the series already says ("重磅纯棉 ... 重磅") reads as a typo.
        points = [
            p
            for p in points
            if p not in variant and (not series or (p not in series and series not in p))
        ]
        chosen_points = [points[i] for i in rng.choice(len(points), size=2, replace=False)]
        own = [str(p) for p in (cat.get("brand_points") or {}).get(brand, [])]
        if own and rng.random() < 0.8:
            chosen_points[0] = self.pick(own)
            if chosen_points[1] == chosen_points[0]:
                chosen_points[1] = next(p for p in points if p != chosen_points[0])
        title = self._title(cat, brand, series, variant, color_name, chosen_points, noun)

        tags = [str(t) for t in rng.choice(cat.get("tags") or ["精选"], size=1)]
        if brand in self.international:
            tags = [t for t in tags if t != "国潮"]
        if gender:
            tags.append("男款" if gender == "M" else "女款")
        if any(word in title for word in KIDS_WORDS):
            tags.append("儿童款")
        created = self.created_at()
        if created >= self.config.end - timedelta(days=NEW_TAG_DAYS):
            tags.append("新品")

        popularity = float(rng.lognormal(0.0, 1.0))
        stock = 0 if rng.random() < self.config.out_of_stock_share else int(rng.integers(5, 2000))
        description = (
            f"{brand}{series}{category}，{chosen_points[0]}、{chosen_points[1]}。"
            + (f"{color_name}配色，" if color_name else "")
            + ("正品保障，七天无理由退换。")
        )
        row = {
            "title": title,
            "category": category,
            "brand": brand,
            "price": price,
            "list_price": list_price,
            "attributes": attributes,
            "tags": list(dict.fromkeys(tags)),
            "stock": stock,
            "description": description,
            "created_at": created,
        }
        return row, Latent(popularity=popularity, price_level=level, gender=gender)

    def _title(
        self,
        cat: dict[str, Any],
        brand: str,
        series: str,
        variant: str,
        color: str,
        points: list[str],
        noun: str,
    ) -> str:
        if cat.get("title"):
            fmt = str(cat["title"])
            title = fmt.format(series=series, noun=noun, point=points[0], brand=brand)
        else:
            # The brand is not repeated when the line already carries it ("小米 14").
            head = series if series.startswith(brand) else f"{brand} {series}".strip()
            title = " ".join(p for p in [head, variant, color, points[0], noun] if p)
            if title in self.titles:
                title = " ".join(p for p in [head, variant, color, *points, noun] if p)
        title = " ".join(title.split())
        base, n = title, 2
        while title in self.titles:
            title = f"{base} 款{n}"
            n += 1
        self.titles.add(title)
        return title


def generate_catalog(
    seed: int = 42,
    *,
    config: SimulationConfig | None = None,
    vocabulary: Vocabulary | None = None,
    spec: dict[str, Any] | None = None,
) -> Catalog:
    """Build the catalog for `seed`; the product count is `config.products`."""
    config = config or load_simulation_config()
    vocab = vocabulary or load_vocabulary()
    spec = spec or load_product_spec()
    builder = _Builder(seed, vocab, spec, config)
    weights = {c: float(s["weight"]) for c, s in spec["categories"].items()}
    # Every category gets at least one product, whatever the scale.
    counts = _allocate(max(config.products - len(weights), 0), weights)
    rows: list[tuple[dict[str, Any], Latent]] = []
    for category in spec["categories"]:
        brands = vocab.brands_for(category)
        per_brand = _allocate(
            counts[category] + 1,
            {b: 1.0 + 0.6 * (len(brands) - i) / len(brands) for i, b in enumerate(brands)},
        )
        for brand in brands:
            for slot in range(per_brand[brand]):
                rows.append(builder.product(category, brand, slot))
    # Ids follow arrival order, the way an auto-increment catalog would number them.
    rows.sort(key=lambda r: (r[0]["created_at"], r[0]["title"]))
    products: list[dict[str, Any]] = []
    latent: dict[str, Latent] = {}
    for i, (row, lat) in enumerate(rows, start=1):
        pid = f"p{i:05d}"
        products.append({"id": pid, **row, "image": f"/images/products/{pid}.svg"})
        latent[pid] = lat
    # Top sellers by latent popularity carry the 爆款 tag storefronts show.
    ranked = sorted(latent, key=lambda p: -latent[p].popularity)
    hits = set(ranked[: max(1, len(ranked) // 12)])
    for row in products:
        if row["id"] in hits:
            row["tags"] = [*row["tags"], "爆款"]
    return Catalog(products=products, latent=latent)
