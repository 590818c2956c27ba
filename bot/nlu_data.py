"""Training examples for the product intents, composed from the catalog vocabulary.

The phrasings are written by hand the way shoppers type in Chinese shopping apps (short,
colloquial, particles, emoji, English brand names, digits, the odd typo); the catalog supplies
the fillers so every category, brand, colour, size and recipient the store knows appears in
training, annotated. Sampling is seeded: the same vocabulary always yields the same files.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from actions.lexicon import Lexicon

# --- money phrasings (surface, for the `price` entity) -----------------------------------------

_CN = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """2500 -> 两千五百, 300 -> 三百, 1500 -> 一千五百 (the way people write prices)."""
    if n >= 10000 and n % 1000 == 0:
        head, rest = divmod(n, 10000)
        return cn_number(head) + "万" + (cn_number(rest) if rest else "")
    out = ""
    for unit, name in ((1000, "千"), (100, "百"), (10, "十")):
        d, n = divmod(n, unit)
        if d:
            out += ("两" if d == 2 and unit >= 100 else _CN[d]) + name
        elif out and n:
            out += "零" if not out.endswith("零") else ""
    if n:
        out += _CN[n]
    return out or "零"


def _short_cn(n: int) -> str:
    """1500 -> 一千五, 2500 -> 两千五 (colloquial, drops the trailing unit)."""
    if n >= 1000 and n % 1000 == 500:
        return cn_number(n - 500) + "五"
    return cn_number(n)


def _k(n: int) -> str:
    v = n / 1000
    return f"{v:g}k" if v != int(v) else f"{int(v)}k"


PRICE_FORMS: list[Callable[[random.Random], str]] = [
    lambda r: f"{r.choice([100, 200, 300, 500, 800])}以内",
    lambda r: f"{cn_number(r.choice([100, 200, 300, 500, 800]))}以内",
    lambda r: f"{_k(r.choice([1000, 1500, 2000, 3000, 5000]))}以内",
    lambda r: f"{cn_number(r.choice([1000, 2000, 3000, 5000]))}左右",
    lambda r: f"{r.choice([200, 300, 500, 1000, 2000])}左右",
    lambda r: f"{_k(r.choice([2000, 3000, 4000, 6000]))}左右",
    lambda r: r.choice(
        ["一两百", "两三百", "三四百", "四五百", "一两千", "两三千", "三四千", "四五千"]
    ),
    lambda r: f"不超过{_short_cn(r.choice([1500, 2500, 800, 3000]))}",
    lambda r: f"{r.choice([100, 300, 500, 1000, 2000])}以上",
    lambda r: f"{r.choice([100, 200, 500, 1000])}到{r.choice([1500, 2000, 3000])}",
    lambda r: f"{cn_number(r.choice([100, 200, 500]))}到{cn_number(r.choice([800, 1000]))}",
    lambda r: f"预算{r.choice([300, 500, 1000, 3000, 5000])}",
    lambda r: f"预算{cn_number(r.choice([500, 1000, 2000]))}",
    lambda r: f"{r.choice([50, 100, 200, 300])}块以下",
    lambda r: f"{r.choice([1, 2, 3])}-{r.choice([4, 5])}k",
    lambda r: f"不到{r.choice([100, 200, 500, 1000])}",
    lambda r: f"{r.choice([99, 199, 299, 399])}元以内",
    lambda r: f"最多{cn_number(r.choice([500, 1000, 2000]))}",
    lambda r: f"{r.choice([800, 1000, 1500])}块左右",
    lambda r: f"{cn_number(r.choice([1000, 2000, 3000]))}块以内",
    lambda r: f"{r.choice([2, 3, 5])}k",
    lambda r: f"{r.choice([1, 2])}w以内",
]


def price_phrase(rng: random.Random) -> str:
    return rng.choice(PRICE_FORMS)(rng)


# --- noise -------------------------------------------------------------------------------------

PARTICLES = [
    "",
    "",
    "",
    "",
    "呀",
    "啊",
    "呢",
    "哈",
    "~",
    "～",
    "！",
    "。",
    "?",
    "？",
    "😊",
    "🙏",
    "👀",
    "😂",
]
TYPOS = [
    ("推荐", "推见"),
    ("有没有", "有木有"),
    ("有没有", "有么有"),
    ("什么", "神马"),
    ("一下", "一哈"),
]


def noisy(text: str, rng: random.Random) -> str:
    """Maybe swap in a common typo (outside entity brackets) and add a particle or emoji."""
    if rng.random() < 0.12:
        old, new = rng.choice(TYPOS)
        parts = re.split(r"(\[[^\]]*\]\([^)]*\))", text)
        parts = [p if p.startswith("[") else p.replace(old, new, 1) for p in parts]
        text = "".join(parts)
    tail = rng.choice(PARTICLES)
    if tail and not text.endswith(("吗", "？", "?", "！", "~", "～")):
        text += tail
    return text


# --- templates ---------------------------------------------------------------------------------
# Placeholders: {cat} {brand} {color} {size} {price} {recip} {line}. Each template is a distinct
# way of asking, not the same sentence with one word swapped.

SEARCH_TEMPLATES = [
    "想买{cat}",
    "我想买个{cat}",
    "有没有{cat}",
    "{cat}有吗",
    "看看{cat}",
    "帮我找找{cat}",
    "给我来个{cat}",
    "{cat}",
    "{cat}吧",
    "我要买{cat}",
    "最近想入{cat}",
    "有卖{cat}的吗",
    "店里有{cat}吗",
    "搜一下{cat}",
    "想看看{brand}的{cat}",
    "{brand}{cat}有哪些",
    "{brand}的{cat}有吗",
    "有没有{brand}家的{cat}",
    "来双{brand}的{cat}",
    "{brand}有什么{cat}",
    "想要{color}的{cat}",
    "有{color}{cat}吗",
    "{color}的{cat}有没有",
    "找一款{color}的{brand}{cat}",
    "{price}的{cat}",
    "有没有{price}的{cat}",
    "想买个{cat} {price}",
    "{cat}，{price}",
    "{cat} 预算{price_bare}",
    "{price}能买到什么{cat}",
    "帮我找{price}的{brand}{cat}",
    "{brand}{cat} {price}有吗",
    "想要{brand}的{cat}，{price}",
    "{price}的{color}{cat}有吗",
    "{size}的{cat}有吗",
    "找{size}的{color}{cat}",
    "要{size}的{brand}{cat}",
    "给{recip}买{cat}",
    "想给{recip}买个{cat}，{price}",
    "{recip}想要{cat}，有推荐的款吗",
    "帮{recip}挑个{brand}的{cat}",
    "送{recip}的{cat}有哪些",
    "有{line}吗",
    "{line}多少钱",
    "想入手{line}",
    "{line}有货不",
    "求{brand} {line}",
    "来个{price}的{cat}吧",
    "{cat}哪款好",
    "推荐个{cat}",
    "推荐一款{price}的{cat}",
    "学生党{price}的{cat}有啥",
    "{cat}怎么卖",
    "买{cat}",
    "要{color}的 {cat}",
    "需要一个{cat}",
    "求个{brand}的{cat}",
    "有{brand}的{color}{cat}吗 {size}",
    "{cat}要{brand}的",
    "{brand}的，{cat}，{color}",
    "我在找{cat}",
    "有啥{cat}可以推荐",
    "搜{brand}{cat}",
    "想买点东西",
    "我想买东西",
    "帮我找个东西",
    "看看有什么商品",
]

RECOMMEND_TEMPLATES = [
    "有什么推荐的吗",
    "推荐点好东西",
    "给我推荐一下",
    "不知道买什么，帮我挑挑",
    "最近有啥好物",
    "有什么值得买的",
    "帮我推荐几个",
    "猜我喜欢",
    "随便推荐点",
    "有啥热卖的",
    "给{recip}挑个礼物",
    "送{recip}什么好",
    "{recip}生日送什么",
    "想给{recip}买礼物",
    "给{recip}买点啥好呢",
    "{recip}过生日有啥推荐",
    "送{recip}的礼物，{price}",
    "{price}送{recip}买什么合适",
    "帮我给{recip}选个礼物 {price}",
    "{recip}最近想要点东西，推荐下",
    "有没有适合{recip}的",
    "适合送{recip}的东西有哪些",
    "我{recip}喜欢什么你推荐下",
    "{price}有啥好推荐的",
    "预算{price_bare}，推荐一下",
    "有没有爆款推荐",
    "你觉得我会喜欢啥",
    "有什么新品推荐",
    "按我的喜好推荐点",
    "帮我看看买什么好",
    "推荐{brand}家的东西",
    "{brand}有什么好推荐的",
    "有啥性价比高的推荐",
]

REFINE_TEMPLATES = [
    "有没有{color}的",
    "换成{color}的",
    "{color}的呢",
    "要{color}的",
    "有{color}款吗",
    "{brand}的呢",
    "换成{brand}的看看",
    "有{brand}的吗",
    "看看{brand}家的",
    "不要{brand}的",
    "不要{brand}",
    "{brand}的不要",
    "别给我推{brand}了",
    "不考虑{brand}",
    "除了{brand}还有别的吗",
    "不喜欢{brand}，换个牌子",
    "{brand}的就算了，看看别家",
    "{price}的呢",
    "有没有{price}的",
    "{price}的有吗",
    "预算只有{price_bare}",
    "控制在{price}",
    "{size}的有吗",
    "有{size}吗",
    "{price}，{color}的",
]

REFINE_FIXED = [
    "便宜点的",
    "有没有便宜点的",
    "太贵了",
    "太贵了，便宜一点的有吗",
    "再便宜些",
    "有更便宜的吗",
    "预算没那么多",
    "有没有贵一点好一点的",
    "来点高端的",
    "换个颜色",
    "有别的颜色吗",
    "还有其他颜色没",
    "颜色换一个",
    "不要这个牌子",
    "换个牌子",
    "换个品牌看看",
    "别的牌子有吗",
    "不喜欢这个牌子",
    "换一批",
    "换一批吧",
    "再换一批",
    "还有别的吗",
    "再来几个",
    "都不喜欢，换一批",
    "再看看别的",
    "下一批",
    "还有吗",
    "换几个看看",
    "不太喜欢这些",
    "这些都不行",
    "有没有小一码的",
    "换大一码",
    "要轻一点的",
    "能不能便宜一些的款",
    "价格低点的",
    "价位高一点的也行",
    "不要二手的",
    "要有货的",
]


# Ways to point at a shown product; the actions resolve them (parse_ordinal / focus item).
ORDINALS = [
    "第一个", "第二个", "第三个", "第1个", "第2款", "第3款", "第二款", "第四个", "第五款",
    "这款", "这个", "这双", "这件", "那个", "那款", "最后一个", "最后那款", "它", "1号", "2号",
]  # fmt: skip
QUANTITIES = ["一件", "两件", "2个", "一双", "两双", "一台", "3件", "一份"]

DETAIL_TEMPLATES = [
    "{ord}多少钱",
    "{ord}什么价",
    "{ord}现在卖多少",
    "{ord}有货吗",
    "{ord}还有库存不",
    "{ord}是什么材质",
    "{ord}是{material}的吗",
    "{ord}有{color}吗",
    "{ord}有没有{color}的",
    "{color}的{ord}还有吗",
    "{ord}有{size}吗",
    "{ord}{size}还有货吗",
    "{ord}的参数发一下",
    "{ord}具体配置是啥",
    "{ord}的尺码有哪些",
    "说说{ord}",
    "{ord}怎么样",
    "介绍一下{ord}",
    "{ord}详情",
    "{ord}原价多少",
    "{ord}质量好吗",
]
CART_TEMPLATES = [
    "{ord}加入购物车",
    "把{ord}加购物车",
    "{ord}加购",
    "{ord}放进购物车",
    "我要{ord}",
    "就要{ord}了",
    "买{ord}",
    "{ord}来{qty}",
    "给我来{qty}{ord}",
    "{ord}我要{qty}",
    "下单{ord}",
    "{ord}帮我加车",
    "拍{ord}",
]
SIMILAR_TEMPLATES = [
    "跟{ord}类似的还有吗",
    "有没有和{ord}差不多的",
    "{ord}有相似款吗",
    "像{ord}这样的再来几个",
    "找找{ord}的同款",
    "{ord}的平替有吗",
]


@dataclass
class Fillers:
    lexicon: Lexicon
    rng: random.Random

    def _pick(self, kind: str) -> tuple[str, str]:
        table = getattr(self.lexicon, kind)
        canonical = self.rng.choice(sorted(table))
        surfaces = [canonical, *table[canonical]]
        # canonical names half the time, aliases the rest: both must be understood
        surface = canonical if self.rng.random() < 0.5 else self.rng.choice(surfaces)
        return surface, canonical

    def category(self) -> tuple[str, str]:
        return self._pick("categories")

    def brand_for(self, category: str | None) -> tuple[str, str]:
        brands = self.lexicon.category_brands.get(category or "", [])
        if brands:
            canonical = self.rng.choice(sorted(brands))
            aliases = [canonical, *self.lexicon.brands.get(canonical, [])]
            surface = canonical if self.rng.random() < 0.5 else self.rng.choice(aliases)
            return surface, canonical
        return self._pick("brands")


def _fill(template: str, f: Fillers) -> str | None:
    """Fill a template with mutually consistent catalog terms, annotating each entity."""
    values: dict[str, str] = {}
    cat_surface, cat = f.category()
    if "{cat}" in template:
        values["cat"] = f"[{cat_surface}](category)"
    line = f.rng.choice(sorted(f.lexicon.product_lines)) if f.lexicon.product_lines else None
    if "{brand}" in template:
        if "{line}" in template and line:
            brand = f.lexicon.product_lines[line]
            surface = f.rng.choice([brand, *f.lexicon.brands.get(brand, [])])
        else:
            surface, _ = f.brand_for(cat if "{cat}" in template else None)
        if not surface:
            return None
        values["brand"] = f"[{surface}](brand)"
    if "{color}" in template:
        if not f.lexicon.colors:
            return None
        values["color"] = f"[{f._pick('colors')[0]}](color)"
    if "{size}" in template:
        if not f.lexicon.sizes:
            return None
        surface = f._pick("sizes")[0]
        if re.fullmatch(r"\d+(\.\d+)?", surface) and f.rng.random() < 0.7:
            surface += "码"
        values["size"] = f"[{surface}](size)"
    if "{recip}" in template:
        if not f.lexicon.recipients:
            return None
        values["recip"] = f"[{f._pick('recipients')[0]}](recipient)"
    if "{line}" in template:
        if line is None:
            return None
        values["line"] = f"[{line}](brand)"
    if "{ord}" in template:
        values["ord"] = f.rng.choice(ORDINALS)
    if "{qty}" in template:
        values["qty"] = f.rng.choice(QUANTITIES)
    if "{material}" in template:
        if not f.lexicon.materials:
            return None
        values["material"] = f.rng.choice(sorted(f.lexicon.materials))
    if "{price}" in template:
        values["price"] = f"[{price_phrase(f.rng)}](price)"
    if "{price_bare}" in template:
        values["price_bare"] = (
            f"[{f.rng.choice(['300', '500', '一千', '2000', '两千', '1k', '5000'])}](price)"
        )
    return template.format(**values)


def _expand(
    templates: list[str], lexicon: Lexicon, rng: random.Random, per_template: int
) -> Iterator[str]:
    fillers = Fillers(lexicon, rng)
    for template in templates:
        seen: set[str] = set()
        has_slot = "{" in template
        for _ in range(per_template if has_slot else 1):
            for _attempt in range(6):
                text = _fill(template, fillers)
                if text is None:
                    break
                text = noisy(text, rng) if has_slot else text
                if text not in seen:
                    seen.add(text)
                    yield text
                    break


def product_examples(lexicon: Lexicon, seed: int = 7) -> dict[str, list[str]]:
    """intent -> annotated examples for the catalog-dependent intents."""
    rng = random.Random(seed)
    out = {
        "search_product": list(_expand(SEARCH_TEMPLATES, lexicon, rng, 6)),
        "ask_recommendation": list(_expand(RECOMMEND_TEMPLATES, lexicon, rng, 5)),
        "refine_search": list(_expand(REFINE_TEMPLATES, lexicon, rng, 4)) + REFINE_FIXED,
        "ask_product_detail": list(_expand(DETAIL_TEMPLATES, lexicon, rng, 3)),
        "add_to_cart": list(_expand(CART_TEMPLATES, lexicon, rng, 3)),
        "ask_similar": list(_expand(SIMILAR_TEMPLATES, lexicon, rng, 3)),
    }
    for intent, examples in out.items():
        out[intent] = list(dict.fromkeys(examples))
    return out
