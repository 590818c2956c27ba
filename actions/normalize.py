"""Normalisers that turn what shoppers type into canonical slot values.

Money is the hard part: people write 两千, 2k, 1k以内, 五百以内, 两三百, 四五千, 不超过一千五,
500以上, 1000到2000, 预算3000, ¥800左右. `parse_price` finds every money mention in a text and
folds them into one (min, max) range in yuan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from actions.lexicon import Lexicon, fold

CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "俩": 2, "三": 3,
    "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
SUFFIX_MULT = {"k": 1000, "千": 1000, "w": 10000, "万": 10000, "百": 100}

_CN = "零〇一二两俩三四五六七八九十百千万"
_ARABIC = r"\d+(?:[.,]\d+)?"
# An amount: 1500 / 1.5k / 1千5 / 2w / 两千五 / 一千五百.  "千万别" is "never", not ten million.
_AMOUNT = rf"(?:{_ARABIC}\s*(?:[kKwW千万百](?:\d(?!\d))?)?|[{_CN}]*[十百千万][{_CN}]*)(?!别|不)"
_CURRENCY = r"(?:块钱|块|元|rmb|RMB|人民币|大洋|米)?"
# Units that make a number something other than money (sizes, storage, counts, ages ...).
_NOT_MONEY = re.compile(
    r"\s*(?:码|号|寸|英寸|[gG][bB]?(?![a-z])|[tT][bB]?(?![a-z])|ml|ML|毫升|mAh|mah|个|件|双|只|台|部|"
    r"岁|年|代|cm|CM|厘米|米(?!饭)|斤|kg|KG|公斤|克|瓦|度|天|小时|分钟|人|折|%|％|层|核|档|款|色|[pP](?![a-z])|"
    r"[hH][zZ]|升|L(?![a-z])|匹|mm|毫米|分)"
)
_UPPER_PREFIX = r"(?:不超过|不要超过|别超过|不能超过|不高于|低于|少于|不到|最多|最高|顶多|封顶|控制在|以下|小于|在)"
_UPPER_SUFFIX = r"(?:以内|以下|之内|之下|内|封顶|以里|以下的|往下|下)"
_LOWER_PREFIX = r"(?:不低于|至少|起码|最少|高于|超过|大于|多于)"
_LOWER_SUFFIX = r"(?:以上|起步|起|往上|多|\+|朝上)"
_APPROX_PREFIX = r"(?:大概|大约|差不多|约|估计)"
_APPROX_SUFFIX = r"(?:左右|上下|附近|出头|的样子)"
_RANGE_SEP = r"\s*(?:到|至|-|~|～|—|－|－)\s*"
_PRICE_CONTEXT = re.compile(r"价|钱|预算|便宜|贵|块|元|¥|￥|rmb|RMB")


@dataclass(frozen=True)
class PriceRange:
    min: float | None = None
    max: float | None = None

    def __bool__(self) -> bool:
        return self.min is not None or self.max is not None


def cn_to_number(text: str) -> float | None:
    """Chinese numerals to a number: 两千五 -> 2500, 一万二 -> 12000, 十五 -> 15."""
    text = text.strip()
    if not text or any(ch not in CN_DIGITS and ch not in CN_UNITS for ch in text):
        return None
    total = 0
    section = 0
    digit: int | None = None
    last_unit: int | None = None
    prev_was_unit = False
    for ch in text:
        if ch in CN_DIGITS:
            if digit is not None and not prev_was_unit:
                digit = digit * 10 + CN_DIGITS[ch]  # 一五 read digit by digit
            else:
                digit = CN_DIGITS[ch]
            prev_was_unit = False
        else:
            unit = CN_UNITS[ch]
            if unit == 10000:
                total += (section + (digit or 0)) * 10000 if (section or digit) else 10000
                section = 0
            else:
                section += (digit if digit is not None else 1) * unit
            digit = None
            last_unit = unit
            prev_was_unit = True
    if digit is not None:
        # 两千五 means 2500: a lone digit after a unit counts in the next unit down.
        if last_unit and last_unit >= 100 and text[-2] in CN_UNITS:
            section += digit * (last_unit // 10 if last_unit != 10000 else 1000)
        else:
            section += digit
    return float(total + section)


def parse_amount(text: str) -> float | None:
    """One amount of money: '1500', '1.5k', '1千5', '2w', '两千五', '¥800', '800块'."""
    text = text.strip().lstrip("¥￥").strip()
    text = re.sub(r"(?:块钱|块|元|rmb|RMB|人民币|大洋)$", "", text).strip()
    if not text:
        return None
    cn = cn_to_number(text)
    if cn is not None:
        return cn
    m = re.fullmatch(rf"({_ARABIC})\s*([kKwW千万百])?(\d)?", text)
    if not m:
        return None
    number = (
        float(m.group(1).replace(",", ""))
        if "," in m.group(1) and len(m.group(1).split(",")[-1]) == 3
        else float(m.group(1).replace(",", "."))
    )
    suffix = (m.group(2) or "").lower()
    mult = SUFFIX_MULT.get(suffix, 1)
    value = number * mult
    if m.group(3) and mult >= 100:
        value += int(m.group(3)) * mult / 10  # 1千5 = 1500, 2w5 = 25000
    return value


def _has_magnitude(text: str) -> bool:
    return bool(re.search(r"[kKwW千万百十]", text))


_PAIR = re.compile(r"([一二两三四五六七八])([二三四五六七八九])([十百千万])")
_RANGE = re.compile(
    rf"[¥￥]?(?P<a>{_AMOUNT}|[一二两三四五六七八九十]){_CURRENCY}{_RANGE_SEP}[¥￥]?(?P<b>{_AMOUNT}){_CURRENCY}"
)
_MONEY = re.compile(rf"[¥￥]?(?P<amt>{_AMOUNT})(?P<cur>{_CURRENCY})")


def _is_model_number(text: str, start: int) -> bool:
    """iPhone15 / Mate 60 / P60: digits glued to (or one space after) Latin letters."""
    i = start - 1
    if i >= 0 and text[i] == " ":
        i -= 1
    return i >= 0 and text[i].isascii() and text[i].isalpha() and text[i] not in "¥"


# Amounts no budget can be: 1e99 (read as "1" it would become a 1-yuan ceiling) and negative
# ones (负五百, 预算-500; a "-" between two numbers is a range, not a sign).
_SCIENTIFIC = re.compile(r"(?<![A-Za-z\d.])\d+(?:\.\d+)?[eE][+-]?\d+")
_NEGATIVE = re.compile(rf"(?:负|[-−－](?=\s*\d))\s*(?:{_AMOUNT}){_CURRENCY}")
_RANGE_END = re.compile(rf"[\d{_CN}kKwW块元¥￥]\s*$")


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def drop_impossible_amounts(text: str) -> str:
    """Blank amounts that cannot be a budget, keeping offsets (entity spans still line up)."""
    for m in list(_SCIENTIFIC.finditer(text)):
        text = _blank(text, *m.span())
    for m in list(_NEGATIVE.finditer(text)):
        if m.group().startswith("负") or not _RANGE_END.search(text[: m.start()]):
            text = _blank(text, *m.span())
    return text


def parse_price(text: str | None) -> PriceRange:
    """Every money constraint in `text` folded into one range (empty when none)."""
    if not text:
        return PriceRange()
    text = text.replace("，", ",").replace("～", "~")
    # "千万别/千万不要" is "by no means", not ten million; blank it keeping offsets.
    text = re.sub(r"千万(?=别|不|要)", "  ", text)
    text = drop_impossible_amounts(text)
    lows: list[float] = []
    highs: list[float] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for m in _RANGE.finditer(text):
        if _is_model_number(text, m.start()) or _NOT_MONEY.match(text, m.end()):
            continue
        b = parse_amount(m.group("b"))
        raw_a = m.group("a")
        a = parse_amount(raw_a)
        if a is None and raw_a in CN_DIGITS:
            a = float(CN_DIGITS[raw_a])
        if a is None or b is None:
            continue
        if not _has_magnitude(raw_a):
            # 1-2k / 一到两千 / 3到5百: the first number borrows the second's unit.
            unit_match = re.search(r"([kKwW千万百])", m.group("b"))
            mult = SUFFIX_MULT.get(unit_match.group(1).lower(), 1) if unit_match else 1
            if mult > 1 and a * mult <= b:
                a *= mult
        if a > b:
            a, b = b, a
        lows.append(a)
        highs.append(b)
        taken.append(m.span())

    for m in _PAIR.finditer(text):
        if not free(*m.span()) or _NOT_MONEY.match(text, m.end()):
            continue
        first, second = CN_DIGITS[m.group(1)], CN_DIGITS[m.group(2)]
        if second != first + 1:
            continue
        unit = CN_UNITS[m.group(3)]
        lows.append(float(first * unit))
        highs.append(float(second * unit))
        taken.append(m.span())

    for m in _MONEY.finditer(text):
        start, end = m.span()
        if not free(start, end) or m.group("amt").strip() == "":
            continue
        if _is_model_number(text, start):
            continue
        if not m.group("cur") and _NOT_MONEY.match(text, end):
            continue
        value = parse_amount(m.group("amt"))
        if value is None or value <= 0:
            continue
        before = text[max(0, start - 6) : start]
        after = text[end : end + 5]
        has_unit = bool(m.group("cur")) or _has_magnitude(m.group("amt"))
        upper = re.match(_UPPER_SUFFIX, after) or re.search(_UPPER_PREFIX + r"\s*$", before)
        # "在500" alone is not a ceiling ("控制在500以内" is, via the suffix)
        if upper and (
            re.match(r"以内|以下|之内|内|封顶", after) or not re.search(r"在\s*$", before)
        ):
            highs.append(value)
            taken.append((start, end))
            continue
        if re.match(_LOWER_SUFFIX, after) or re.search(_LOWER_PREFIX + r"\s*$", before):
            # "2000多" / "2k+" mean a bit above: still a floor.
            lows.append(value)
            taken.append((start, end))
            continue
        if re.match(_APPROX_SUFFIX, after) or re.search(_APPROX_PREFIX + r"\s*$", before):
            lows.append(float(round(value * 0.8)))
            highs.append(float(round(value * 1.2)))
            taken.append((start, end))
            continue
        if re.search(r"预算\s*(?:是|有|在|大概|就|只有|差不多)?\s*$", before):
            highs.append(value)
            taken.append((start, end))
            continue
        if has_unit or _PRICE_CONTEXT.search(text):
            if not has_unit and value < 10:
                continue  # "要2个" style counts that slipped through
            lows.append(float(round(value * 0.8)))
            highs.append(float(round(value * 1.2)))
            taken.append((start, end))

    low = max(lows) if lows else None
    high = min(highs) if highs else None
    if low is not None and high is not None and low > high:
        low = None  # contradictory mentions: the ceiling is what shoppers care about
    return PriceRange(low, high)


# --- ordinals -------------------------------------------------------------------------------

_ORDINAL = re.compile(
    rf"(?:第\s*(?P<n>\d+|[{_CN}]+)\s*(?:个|款|件|只|条|台|部|双|种|项|号)?|(?P<m>\d+)\s*号)"
)
_LAST = re.compile(r"最后(?:一|那)?(?:个|款|件|只|双|台)")
_THIS = re.compile(r"这(?:个|款|件|只|双|台|部|条)|那(?:个|款|件|只|双|台|部|条)|它|该商品")


def parse_ordinals(text: str | None) -> list[int]:
    """Every position named, in order and once each (第一个和第三个 -> [1, 3], 第二个和最后一个 ->
    [2, -1]); for comparisons."""
    if not text:
        return []
    found: list[tuple[int, int]] = []
    for m in _ORDINAL.finditer(text):
        raw = m.group("n") or m.group("m")
        value = int(raw) if raw.isdigit() else cn_to_number(raw)
        if value and value > 0:
            found.append((m.start(), int(value)))
    found += [(m.start(), -1) for m in _LAST.finditer(text)]
    return list(dict.fromkeys(position for _, position in sorted(found)))


def parse_ordinal(text: str | None) -> int | None:
    """1-based position named in text (第二个 -> 2, 最后一个 -> -1); 0 means 'this one'."""
    if not text:
        return None
    m = _ORDINAL.search(text)
    if m:
        raw = m.group("n") or m.group("m")
        value = int(raw) if raw.isdigit() else cn_to_number(raw)
        if value and value > 0:
            return int(value)
    if _LAST.search(text):
        return -1
    if _THIS.search(text):
        return 0
    return None


# --- catalog terms --------------------------------------------------------------------------

# Letter sizes stand apart from other Latin letters and digits (XL码 / 要M的, not 5L or Mate);
# `\b` would not do: Chinese characters count as word characters, so XL码 has no boundary.
_SIZE = re.compile(
    r"(?i)(?<![A-Za-z0-9])(XXS|XS|S|M|L|XL|XXL|XXXL|[2-5]XL)(?![A-Za-z])"
    r"|(?<![\d.])(\d{2}(?:\.5)?)\s*(?:码|号)"
)
_BARE_SIZE = re.compile(r"\d{2}(?:\.5)?")
# 256G / 512GB / 1T: storage, which shoppers ask for like a size. Two digits at least before G,
# so that 5G (the network) is not read as storage.
_STORAGE = re.compile(r"(?i)(?<![\d.+])(?:(\d{2,4})\s*GB?|(\d)\s*TB?)(?![A-Za-z0-9])")


def normalize_size(value: str | None, lexicon: Lexicon | None = None) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if lexicon is not None:
        known = lexicon.canonical("sizes", text)
        if known:
            return known
    storage = _STORAGE.search(text)
    if storage:
        return f"{storage.group(1)}GB" if storage.group(1) else f"{storage.group(2)}TB"
    m = _SIZE.search(text)
    if m:
        return (m.group(1) or m.group(2)).upper()
    if _BARE_SIZE.fullmatch(text):
        return text  # a size entity that is just the number: 43
    return None


def normalize_term(kind: str, value: object, lexicon: Lexicon) -> str | None:
    """Canonical catalog name for a slot value (lists take their first known member)."""
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    for item in values:
        canonical = lexicon.canonical(kind, str(item))
        if canonical:
            return canonical
    return None


def find_terms(kind: str, text: str, lexicon: Lexicon) -> list[str]:
    """Canonical names of every `kind` alias in text, longest alias first, in order found."""
    key = fold(text)
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    for alias, canonical in sorted(lexicon.aliases(kind).items(), key=lambda kv: -len(kv[0])):
        if len(alias) < 2 and not ("\u4e00" <= alias <= "\u9fff"):
            continue
        start = key.find(alias)
        while start >= 0:
            end = start + len(alias)
            if all(end <= s or start >= e for s, e in spans):
                spans.append((start, end))
                found.append((start, canonical))
                break
            start = key.find(alias, start + 1)
    return list(dict.fromkeys(c for _, c in sorted(found)))
