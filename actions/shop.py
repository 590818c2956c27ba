"""The shopping actions. Thin: slots -> recommender request -> events in the database -> reply."""

from __future__ import annotations

import logging
import math
import re
import statistics
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions import replies
from actions.attributes import Mention, attribute_matcher
from actions.compare import compared_positions, comparison_buttons, comparison_text
from actions.lexicon import fold
from actions.normalize import cn_to_number, parse_ordinal, parse_price
from actions.reputation import asks_reputation, reputation_reply
from actions.runtime import Runtime, get_runtime
from actions.service_answers import answer_lines, topics_in
from actions.validation import previous_value
from shopbot.db import repo
from shopbot.db.engine import session_scope
from shopbot.db.models import Offer, OfferGrant, Product, utcnow
from shopbot.policies import store_policies
from shopbot.specs import spec_value
from shopbot.specs import specs as spec_pairs

logger = logging.getLogger(__name__)

PAGE = 5
SORRY = "抱歉，系统开小差了😥 稍后再试试，或者说「转人工」找客服。"
_CHEAPER = re.compile(r"便宜|太贵|贵了|低一?点|实惠|划算点|预算没那么多|价格低|省钱")
_PRICIER = re.compile(r"贵一?点|高端|好一?点的|档次高|价位高|更好的")
_OTHER_COLOR = re.compile(
    r"换个?颜色|别的颜色|其他颜色|颜色换|其它颜色|换个色|别的色|其他色|其它色|换个色号|还有什么颜色"
)
# Asking for items other than those shown, which still holds next to a budget (换一批300以内的).
_OTHER_ITEMS = re.compile(r"换一?批|换一?些|换个?(?:牌子|品牌)|别的|其他|其它|不一样")
# Refinements relative to what was shown; the shown items that still fit may come back.
RELATIVE_REFINES = ("cheaper", "pricier")
BUNDLE_SIZE = 4
# Refinements that state a new constraint: shown items that meet it stay eligible.
KEEPS_SHOWN = ("budget", "stated")
STATED_ENTITIES = ("color", "brand", "size")
# 两件 / 3个 / 十二瓶, but not the position in 第二个 (which asked for one of the second item).
_QUANTITY = re.compile(
    r"(?<![第\d一二两三四五六七八九十百])(\d+|[一二两三四五六七八九十百]+)\s*"
    r"(?:件|个|双|台|份|只|部|条|盒|瓶)"
)
_COUNT = r"(\d+|[一二两三四五六七八九十]+)\s*(?:件|个|双|台|份|只|部|条|盒|瓶|套|支|本|包|袋|罐)"
# 耳机少要一个 / 删掉两件: that many fewer. 只要一个 / 改成两件 / 一个就够了: that many left.
_FEWER = re.compile(
    rf"(?:少(?:要|买|拿|来)?|减(?:掉|少|去)?|删(?:掉|除)?|去掉|拿掉|拿出|退掉)\s*{_COUNT}"
)
_KEEP = re.compile(
    rf"(?:只要|只留|只买|留|改成|改为|换成|变成|数量改?[成为])\s*{_COUNT}|{_COUNT}就(?:够|行|好|可以)"
)


# --- shared plumbing -------------------------------------------------------------------------


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "rest"


@contextmanager
def unit_of_work(runtime: Runtime) -> Any:
    with session_scope(runtime.session_factory) as session:
        yield session


def shopper_of(session: Session, tracker: Tracker) -> str:
    # Not resolve_shopper: creating the row up front cost a query per turn, and every write of
    # a turn ensures the shopper anyway.
    return repo.shopper_id_for(session, channel_of(tracker), tracker.sender_id)


def session_key(tracker: Tracker) -> str:
    return (tracker.sender_id or "")[:64]


def shown(tracker: Tracker) -> list[dict[str, Any]]:
    items = tracker.get_slot("shown_items") or []
    return [i for i in items if isinstance(i, dict) and i.get("id")]


def target_item(tracker: Tracker) -> str | None:
    """The product the shopper means: a button's id, 第N个, 这款 (focus), else the first shown."""
    for ent in tracker.latest_message.get("entities", []) or []:
        if ent.get("entity") == "product_id" and ent.get("value"):
            return str(ent["value"])
    items = shown(tracker)
    position = parse_ordinal(tracker.latest_message.get("text"))
    if position is not None and position != 0 and items:
        index = position - 1 if position > 0 else len(items) + position
        if 0 <= index < len(items):
            return str(items[index]["id"])
        return None
    focus = tracker.get_slot("focus_item")
    if focus:
        return str(focus)
    return str(items[0]["id"]) if items else None


# Actions whose reply is about one item (the focus): 这个/帮我下单 after them means it.
ITEM_REPLIES = (
    "action_product_detail",
    "action_add_to_cart",
    "action_store_policy",
    "action_explain",
    "action_push_offer",
)


def last_listing(tracker: Tracker) -> str | None:
    """The action that answered the shopper's previous message (ignoring the listen)."""
    seen_user = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif event.get("event") == "action" and seen_user:
            name = event.get("name")
            if name and name not in ("action_listen", "action_validate_slot_mappings"):
                return str(name)
    return None


def ordinal_out_of_range(tracker: Tracker) -> bool:
    position = parse_ordinal(tracker.latest_message.get("text"))
    items = shown(tracker)
    return position is not None and position > len(items) > 0


def active_offers(session: Session) -> list[Offer]:
    now = utcnow()
    return list(
        session.scalars(
            select(Offer).where(
                Offer.active.is_(True), Offer.starts_at <= now, Offer.ends_at >= now
            )
        )
    )


def best_offer_label(product: Product, offers: Iterable[Offer]) -> str | None:
    best: tuple[float, str] | None = None
    for offer in offers:
        if offer.budget_total is not None and offer.budget_used >= offer.budget_total:
            continue
        if not repo.offer_applies(offer, product):
            continue
        value = repo.offer_discount(offer, float(product.price))
        if best is None or value > best[0]:
            best = (value, replies.offer_label(offer))
    return best[1] if best else None


def satisfies(product: Product, query: dict[str, Any]) -> bool:
    """The stated constraints a shown product must meet (unless labelled an alternative)."""
    return not unmet(product, query)


def unmet(product: Product, query: dict[str, Any]) -> list[str]:
    """The stated constraints `product` misses, in the shopper's words (比预算高¥20, 不是红色)."""
    out = []
    price = float(product.price)
    if query.get("category") and product.category != query["category"]:
        out.append(f"不是{query['category']}")
    if query.get("brand") and product.brand != query["brand"]:
        out.append(f"不是{query['brand']}的")
    if product.brand in (query.get("exclude_brands") or []):
        out.append(f"是你说不要的{product.brand}")
    if query.get("price_max") is not None and price > query["price_max"]:
        out.append(f"比预算高{replies.yuan(price - query['price_max'])}")
    if query.get("price_min") is not None and price < query["price_min"]:
        out.append(f"比你说的价位低{replies.yuan(query['price_min'] - price)}")
    for key in ("color", "size"):
        if query.get(key) and not _attr_has(product.attributes, key, str(query[key])):
            out.append(f"没有{query[key]}" if key == "size" else f"不是{query[key]}")
    if product.stock <= 0:
        out.append("暂时缺货")
    return out


def _attr_has(attributes: dict | None, key: str, wanted: str) -> bool:
    from recommender.catalog import SIZE_ATTRIBUTES

    keys = SIZE_ATTRIBUTES if key == "size" else (key,)
    values: list[Any] = []
    for k in keys:
        value = (attributes or {}).get(k)
        values += value if isinstance(value, list) else [value]
    return any(v is not None and (wanted == str(v) or wanted in str(v)) for v in values)


def show_products(
    dispatcher: CollectingDispatcher,
    session: Session,
    recs: Sequence[Any],
    query: dict[str, Any],
    intro: str,
    *,
    strict: bool,
) -> list[dict[str, Any]]:
    """Send the product reply; returns the shown items for the `shown_items` slot."""
    products = repo.get_products(session, [r.item_id for r in recs])
    offers = active_offers(session)
    cards, memory = [], []
    for rec in recs:
        product = products.get(rec.item_id)
        if product is None or product.stock <= 0:
            continue
        if strict and not satisfies(product, query):
            logger.warning("recommender returned %s outside %s; dropped", product.id, query)
            continue
        cards.append(replies.product_card(product, rec.reason, best_offer_label(product, offers)))
        memory.append(
            {
                "id": product.id,
                "title": product.title,
                "price": float(product.price),
                "brand": product.brand,
                "category": product.category,
                "color": (product.attributes or {}).get("color"),
                "reason": rec.reason,
            }
        )
        if len(cards) >= PAGE:
            break
    if cards:
        dispatcher.utter_message(
            text=replies.products_text(intro, cards),
            buttons=replies.PRODUCT_BUTTONS,
            json_message=replies.products_payload(cards, query),
        )
    return memory


def record(session: Session, shopper_id: str, tracker: Tracker, *events: repo.NewEvent) -> None:
    """Store a turn's events in one batch, stamped with the turn's channel and conversation."""
    channel, key = channel_of(tracker), session_key(tracker)
    repo.record_events(
        session, shopper_id, [replace(e, channel=channel, session_id=key) for e in events]
    )


def views(items: Iterable[dict[str, Any]]) -> list[repo.NewEvent]:
    return [repo.NewEvent(type="view", product_id=item["id"]) for item in items]


def _filters(
    query: dict[str, Any],
    exclude_items: Iterable[str] = (),
    exclude_tags: Iterable[str] = (),
    categories: Iterable[str] = (),
    suited: str | None = None,
) -> Any:
    from recommender.service import Filters

    return Filters(
        category=query.get("category"),
        categories=tuple(categories),
        brands=(query["brand"],) if query.get("brand") else (),
        exclude_brands=tuple(query.get("exclude_brands") or ()),
        price_min=query.get("price_min"),
        price_max=query.get("price_max"),
        color=query.get("color"),
        size=query.get("size"),
        in_stock=True,
        exclude_items=frozenset(exclude_items),
        exclude_tags=tuple(exclude_tags),
        suited=suited if categories else None,
    )


def suited_categories(lexicon: Any, recipient: str | None, interest: str | None) -> tuple[str, ...]:
    """Where to look when the shopper names no category: what suits the interest, else what
    makes a gift for the recipient. The interest wins whole: a keyboard is a fine gift for a
    father who games, though not one on his general list."""
    liked = tuple(lexicon.interest_categories.get(interest or "", ()))
    return liked or lexicon.gift_categories(recipient)


def for_whom(lexicon: Any, recipient: str) -> str:
    """送妈妈 for a gift; 给宝宝用 / 自己用 for those one buys for rather than gives to."""
    return lexicon.recipient_uses.get(recipient) or f"送{recipient}"


def suited_phrase(lexicon: Any, recipient: str | None, interest: str | None) -> str | None:
    """What a page chosen for a gift or an interest says for each item: for whom it suits."""
    if interest:
        who = recipient if recipient and recipient != "自己" else "你"
        return f"适合喜欢{interest}的{who}"
    if recipient:
        return f"{for_whom(lexicon, recipient)}很合适"
    return None


def asks_product_fact(lexicon: Any, text: str) -> bool:
    """Whether `text` asks what product_fact answers (no database needed to tell)."""
    return asks_reputation(text) or lexicon.find_interest(text) is not None


def product_fact(session: Session, lexicon: Any, product: Product, text: str) -> str | None:
    """销量怎么样 / 口碑好吗: its sales; 这个打游戏行吗 / 适合跑步穿吗: whether it suits that, from
    its kind, tags and title. None for other questions."""
    if asks_reputation(text):
        return reputation_reply(session, product, text, name=device_name(lexicon, product))
    interest = lexicon.find_interest(text)
    if interest:
        return interest_fit_text(lexicon, product, interest, device_name(lexicon, product))
    return None


def interest_fit_text(lexicon: Any, product: Product, interest: str, name: str) -> str:
    """Whether `product` suits someone who likes `interest` (打游戏 -> a 游戏本 does), and what
    does when it does not."""
    named = f"「{name}」"
    marks = [
        t
        for t in lexicon.interest_tags.get(interest, [])
        if t in product.title or t in (product.tags or [])
    ]
    kinds = list(lexicon.interest_categories.get(interest, []))
    if marks:
        # 游戏本 in the title says more than the 游戏 inside it.
        mark = max(marks, key=lambda t: (t in product.title, len(t)))
        why = f"它是{mark}" if mark in product.title else f"主打{mark}"
        return f"{named}{interest}用挺合适，{why}👍"
    if product.category in kinds:
        return f"{named}{interest}也用得上，不过不是专门为{interest}设计的款～"
    others = "、".join([k for k in kinds if k != product.category][:3])
    return f"{named}不太适合{interest}😅 想{interest}用的话，更推荐看看{others}。"


def colours_of(product: Product) -> list[str]:
    """The colours a product comes in (its attributes hold one or a list)."""
    raw = (product.attributes or {}).get("color")
    values = raw if isinstance(raw, list) else [raw] if raw else []
    return [str(c) for c in values]


def colour_words(color: str, lexicon: Any) -> list[str]:
    """How a title may name `color`: its aliases and its stem (红色 -> 红, as in 中国红)."""
    words = [color, *lexicon.colors.get(color, []), color.removesuffix("色")]
    return [w for w in dict.fromkeys(words) if w]


def ranked_for_request(
    recs: Sequence[Any], text: str, color: str | None, lexicon: Any, session: Session
) -> list[Any]:
    """The recommender's page, reordered for what the shopper literally asked for.

    '华为Mate60多少钱': the Mate 60 itself before the brand's other phones. '有红色的吗': products
    whose title is the red one before those that only offer red among other colours, and those
    say so in their reason (a card titled 墨绿 under a red search looks wrong otherwise)."""
    line = lexicon.named_line(text)
    if line is None and not color:
        return list(recs)
    products = repo.get_products(session, [r.item_id for r in recs])
    titles = {pid: fold(p.title) for pid, p in products.items()}

    def title(rec: Any) -> str:
        return titles.get(rec.item_id, "")

    out = list(recs)
    if color:
        words = [fold(w) for w in colour_words(color, lexicon)]
        named = {r.item_id for r in out if any(w in title(r) for w in words)}
        out = sorted(out, key=lambda r: r.item_id not in named)
        out = [
            r if r.item_id in named else replace(r, reason=f"有{color}可选，{r.reason}")
            for r in out
        ]
    if line is not None:
        wanted = fold(line)
        out = sorted(out, key=lambda r: wanted not in title(r))
    return out


def relaxed_intro(
    relaxed: Sequence[str], query: dict[str, Any], recipient: str | None = None
) -> str:
    wanted = replies.describe_query(query)
    if tuple(relaxed) == ("audience",) and recipient:
        # Say what is missing in the shopper's terms, not as a filter name.
        what = f"「{wanted}」" if wanted else ""
        return f"没找到特别适合{recipient}的{what}款式😥 这些也可以看看："
    names = "、".join(replies.RELAXED_NAMES.get(r, r) for r in relaxed)
    return f"没有完全符合「{wanted}」的商品😥 放宽了{names}，这些是最接近的替代："


# --- action bases ----------------------------------------------------------------------------


class ShopAction(Action, ABC):
    """An action whose failures become a polite apology instead of a crash or a 500."""

    failure_text = SORRY

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            return self.act(dispatcher, tracker, get_runtime())
        except Exception:
            logger.exception("%s failed", self.name())
            dispatcher.utter_message(text=self.failure_text)
            return []

    @abstractmethod
    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]: ...


@dataclass
class ItemTurn:
    """One product-specific turn: who asked, about which product, in which unit of work."""

    dispatcher: CollectingDispatcher
    tracker: Tracker
    runtime: Runtime
    session: Session
    shopper_id: str
    product: Product


class ItemAction(ShopAction):
    """An action about one product: 第N个 / 这款 / a card button / the first one shown."""

    missing_text = "先告诉我想看什么商品吧，比如「500以内的跑鞋」～"
    gone_text = "这款商品已经下架了😥 换一个看看？"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        if ordinal_out_of_range(tracker):
            dispatcher.utter_message(text=f"只展示了{len(shown(tracker))}款哦，是第几个呢？")
            return []
        item_id = target_item(tracker)
        if item_id is None:
            dispatcher.utter_message(text=self.missing_text)
            return []
        with unit_of_work(runtime) as session:
            product = repo.get_products(session, [item_id]).get(item_id)
            if product is None:
                dispatcher.utter_message(text=self.gone_text)
                return []
            shopper_id = shopper_of(session, tracker)
            return self.act_on(ItemTurn(dispatcher, tracker, runtime, session, shopper_id, product))

    @abstractmethod
    def act_on(self, turn: ItemTurn) -> list[EventType]: ...


# --- search / recommend / refine -------------------------------------------------------------

# Broad, popular departments to offer when the shopper has not said what they want.
SUGGESTED_CATEGORIES = ("手机", "运动鞋", "耳机", "口红", "零食", "保温杯")


def category_suggestions(lexicon: Any, n: int = 4) -> list[str]:
    known = [c for c in SUGGESTED_CATEGORIES if c in lexicon.categories]
    rest = [c for c in lexicon.categories if c not in known]
    return (known + rest)[:n]


def unfitting(
    session: Session, lexicon: Any, anchor: Product, category: str | None = None
) -> list[str]:
    """Fitted accessories (cases, screen protectors, straps) that are not made for `anchor`."""
    kinds = [category] if category else list(lexicon.fitted_accessories)
    rows = session.execute(
        select(Product.id, Product.title, Product.brand, Product.category).where(
            Product.category.in_(kinds)
        )
    ).all()
    return [row.id for row in rows if not lexicon.fits(anchor, row)]


def accessory_anchor(
    session: Session,
    tracker: Tracker,
    shopper_id: str,
    lexicon: Any,
    category: str | None,
    text: str,
) -> Product | None:
    """The device a 手机壳 / 钢化膜 search is for: the newest such device in the cart, else the
    one just talked about. None when the message names a model itself (iPhone 15的壳)."""
    devices = lexicon.fitted_accessories.get(category or "")
    if not devices or lexicon.device_line(text, devices):
        return None
    candidates = [i.product_id for i in reversed(repo.cart_items(session, shopper_id))]
    focus = previous_value(tracker, "focus_item")
    if focus and last_listing(tracker) in ITEM_REPLIES:
        # Only an item the shopper acted on; the first of a page of results is no choice.
        candidates.append(str(focus))
    products = repo.get_products(session, candidates)
    for product_id in candidates:
        product = products.get(product_id)
        if product is not None and product.category in devices:
            return product
    return None


def device_name(lexicon: Any, device: Product) -> str:
    """荣耀 X50 rather than the whole storefront title with storage, colour and selling points."""
    line = lexicon.device_line(device.title, [device.category])
    if not line:
        return device.title
    return line if fold(line).startswith(fold(device.brand)) else f"{device.brand} {line}"


class ActionSearchProducts(ShopAction):
    def name(self) -> str:
        return "action_search_products"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        query = {
            key: tracker.get_slot(key)
            for key in ("category", "brand", "color", "size", "price_min", "price_max")
        }
        query["exclude_brands"] = list(tracker.get_slot("exclude_brands") or [])
        recipient = tracker.get_slot("recipient")
        interest = tracker.get_slot("interest")
        suited = suited_categories(runtime.lexicon, recipient, interest)
        previous = shown(tracker)
        exclude: list[str] = []
        events: list[EventType] = []
        mentioned_price = bool(parse_price(text))
        # 有红色的吗 / 要耐克的 / 42码的: a constraint this message changes ("还有红色的吗" on a
        # page of red ones changes nothing and asks for more of them).
        stated = any(
            query.get(key) and query.get(key) != previous_value(tracker, key)
            for key in {e.get("entity") for e in tracker.latest_message.get("entities") or []}
            if key in STATED_ENTITIES
        )
        refining = intent == "refine_search" and bool(previous)
        focus = tracker.get_slot("focus_item")
        if (
            refining
            and focus
            and _OTHER_COLOR.search(text)
            and not query.get("color")
            and last_listing(tracker) in ITEM_REPLIES
        ):
            # 有别的色号吗 right after one product's details: that product in other colours.
            other = self._other_colours(dispatcher, tracker, runtime, str(focus))
            if other is not None:
                return other
        kind: str | None = None
        if refining:
            kind = self._refine(
                text, query, previous, exclude, mentioned_price, stated, events, bool(suited)
            )
        # A named category or brand is the request; otherwise the gift's or the interest's.
        kinds = () if query.get("category") or query.get("brand") else suited
        asked = list(tracker.get_slot("asked") or [])
        question = self._missing(intent, query, recipient, asked, interest)
        if question:
            slot, prompt, buttons = question
            dispatcher.utter_message(text=prompt, buttons=buttons)
            return [*events, SlotSet("asked", [*asked, slot])]
        with unit_of_work(runtime) as session:
            shopper_id = shopper_of(session, tracker)
            context = {
                **{k: v for k, v in query.items() if v},
                "recipient": recipient,
                # 打游戏 + 笔记本: the 游戏本 first (the content model weighs product tags).
                "query": [text, *runtime.lexicon.interest_tags.get(interest or "", [])],
                "shown": [i["id"] for i in previous],
            }

            audience = runtime.lexicon.unsuitable_tags(recipient)
            why = suited_phrase(runtime.lexicon, recipient, interest)
            # 还要个手机壳 after choosing a phone: only cases that fit it (and universal ones).
            anchor = accessory_anchor(
                session, tracker, shopper_id, runtime.lexicon, query["category"], text
            )
            unfit = unfitting(session, runtime.lexicon, anchor, query["category"]) if anchor else []

            def recommend(leave_out: list[str]) -> Any:
                return runtime.recommender.recommend(
                    shopper_id,
                    PAGE * 2,
                    context=context,
                    filters=_filters(query, [*leave_out, *unfit], audience, kinds, why),
                )

            result = recommend(exclude)
            if kind in RELATIVE_REFINES and (result.relaxed or not result.items):
                # 便宜点 with nothing unseen under the new ceiling: the cheaper items already shown
                # answer it better than alternatives over the ceiling it just set.
                again = recommend([])
                if again.items and not again.relaxed:
                    result = again
            relaxed = tuple(result.relaxed or ())
            color = query.get("color") if "color" not in relaxed else None
            recs = ranked_for_request(result.items, text, color, runtime.lexicon, session)
            intro = (
                self._intro(intent, query, recipient, kind, interest if kinds else None)
                if not relaxed
                else relaxed_intro(relaxed, query, recipient)
            )
            if anchor is not None and not relaxed:
                intro = f"适合你的「{device_name(runtime.lexicon, anchor)}」的{query['category']}👇"
            items = show_products(
                dispatcher,
                session,
                recs,
                self._public(query),
                intro,
                strict=not relaxed,
            )
            search = repo.NewEvent(type="search", query=text[:255] or None)
            record(session, shopper_id, tracker, search, *views(items))
        if not items:
            wanted = replies.describe_query(query) or "这个需求"
            dispatcher.utter_message(
                text=f"暂时没有符合「{wanted}」的商品😥 换个预算或品牌试试？",
                buttons=[{"title": "看看热卖", "payload": "/ask_recommendation"}],
            )
            return [*events, SlotSet("asked", [])]
        return [
            *events,
            SlotSet("shown_items", items),
            SlotSet("focus_item", items[0]["id"]),
            SlotSet("asked", []),
        ]

    @staticmethod
    def _public(query: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in query.items() if v not in (None, [], "")}

    @staticmethod
    def _refine(
        text: str,
        query: dict[str, Any],
        previous: list[dict[str, Any]],
        exclude: list[str],
        mentioned_price: bool,
        stated: bool,
        events: list[EventType],
        mixed: bool = False,
    ) -> str | None:
        """Turn 便宜点 / 换个颜色 / 换一批 / 300以内 into constraints relative to what was shown.

        Fills `exclude` with the shown items the next page must leave out, appends the slot
        changes to `events`, and returns the kind of refinement: "cheaper", "pricier",
        "budget" (a new budget stated), "stated" (a colour, brand or size stated), or None
        (another batch of the same need). `mixed`: the page answers a gift or an interest, whose
        categories are chosen afresh each time rather than read off the page."""
        kind: str | None = None
        prices = [float(i["price"]) for i in previous if i.get("price") is not None]
        if _CHEAPER.search(text) and not mentioned_price and prices:
            kind = "cheaper"
            # Whole yuan: shoppers read "¥323以内", not "¥323.10以内".
            ceiling = float(math.floor(statistics.median(prices) * 0.9))
            if query.get("price_max") is None or ceiling < query["price_max"]:
                query["price_max"] = ceiling
            floor = query.get("price_min")
            if floor is not None and floor > query["price_max"] * 0.7:
                # 300左右 (¥240-360) then 便宜点: a ¥240-269 sliver is not "cheaper"; the
                # floor of a rough budget gives way.
                query["price_min"] = None
            events += [
                SlotSet("price_max", query["price_max"]),
                SlotSet("price_min", query["price_min"]),
            ]
        elif _PRICIER.search(text) and not mentioned_price and prices:
            kind = "pricier"
            query["price_min"] = float(math.ceil(statistics.median(prices)))
            query["price_max"] = None
            events += [SlotSet("price_min", query["price_min"]), SlotSet("price_max", None)]
        elif mentioned_price and not (_OTHER_ITEMS.search(text) or _OTHER_COLOR.search(text)):
            # 有没有300以内的: the new budget changes the page by itself. Shown items that fit it
            # still answer it, and leaving them out could empty the budget, so that the
            # recommender would relax the very budget just stated.
            kind = "budget"
        elif stated and not (_OTHER_ITEMS.search(text) or _OTHER_COLOR.search(text)):
            # 有红色的吗 after a page with a red jacket on it: that jacket answers it too.
            kind = "stated"
        if kind not in KEEPS_SHOWN:
            # 换一批 / 换个颜色 / 别的牌子 / 还有吗, and 便宜点 / 贵一点: something not shown yet
            # (for the relative ones, unless nothing unseen fits; see the caller).
            exclude.extend(i["id"] for i in previous)
        if _OTHER_COLOR.search(text) and not query.get("color"):
            # Filters hold one colour, not an exclusion; the shown ones are left out by id.
            query["color"] = None
        if not query.get("category") and not mixed:
            categories = {i.get("category") for i in previous if i.get("category")}
            if len(categories) == 1:
                query["category"] = categories.pop()
                events.append(SlotSet("category", query["category"]))
        return kind

    @staticmethod
    def _other_colours(
        dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime, focus: str
    ) -> list[EventType] | None:
        """Products like `focus` in colours it does not come in: its brand's first, any brand's
        when the brand has too few. None when `focus` is gone."""
        from recommender.service import Filters

        with unit_of_work(runtime) as session:
            product = repo.get_products(session, [focus]).get(focus)
            if product is None:
                return None
            offered = colours_of(product)
            base = Filters(
                category=product.category,
                exclude_items=frozenset([focus]),
                exclude_tags=runtime.lexicon.unsuitable_tags(tracker.get_slot("recipient")),
            )
            recs: list[Any] = []
            whose = ""
            for filters, owner in (
                (replace(base, brands=(product.brand,)), product.brand),
                (base, ""),
            ):
                result = runtime.recommender.similar_items(focus, PAGE * 4, filters=filters)
                if result.relaxed:
                    continue
                found = repo.get_products(session, [r.item_id for r in result.items])
                recs = []
                for rec in result.items:
                    other = found.get(rec.item_id)
                    new = [c for c in colours_of(other) if c not in offered] if other else []
                    if new:
                        recs.append(replace(rec, reason=f"还有{'、'.join(new)}可选"))
                whose = owner
                if len(recs) >= 2:
                    break
            if len(offered) > 1:
                has = f"这款有{'、'.join(offered)}可选"
            else:
                has = f"这款只有{offered[0]}" if offered else "这款没有别的颜色"
            intro = f"{has}～{whose}{product.category}里这些是别的颜色👇"
            items = show_products(dispatcher, session, recs[:PAGE], {}, intro, strict=False)
            record(session, shopper_of(session, tracker), tracker, *views(items))
        if not items:
            dispatcher.utter_message(text=f"{has}，暂时没找到别的颜色的同类款😥")
            return []
        return [SlotSet("shown_items", items), SlotSet("focus_item", focus)]

    @staticmethod
    def _missing(
        intent: str | None,
        query: dict[str, Any],
        recipient: str | None,
        asked: list[str],
        interest: str | None = None,
    ) -> tuple[str, str, list[dict[str, str]]] | None:
        """The one question that matters, if any; never the same one twice in a row."""
        lexicon = get_runtime().lexicon
        has_need = bool(interest) or any(
            query.get(k) for k in ("category", "brand", "color", "size")
        )
        has_budget = query.get("price_min") is not None or query.get("price_max") is not None
        if (
            intent == "search_product"
            and not has_need
            and not recipient
            and "category" not in asked
        ):
            options = category_suggestions(lexicon)
            return (
                "category",
                "想看哪一类呢？比如" + "、".join(options) + "～",
                [{"title": c, "payload": f'/search_product{{"category": "{c}"}}'} for c in options],
            )
        if recipient and not has_need and not has_budget and "budget" not in asked:
            return (
                "budget",
                f"{lexicon.recipient_uses[recipient]}的话，预算大概多少呢？"
                if recipient in lexicon.recipient_uses
                else f"给{recipient}挑礼物呀🎁 预算大概多少呢？",
                [
                    {"title": title, "payload": f'/refine_search{{"price": "{price}"}}'}
                    for title, price in (
                        ("200以内", "200以内"),
                        ("200-500", "200到500"),
                        ("500以上", "500以上"),
                    )
                ],
            )
        return None

    @staticmethod
    def _intro(
        intent: str | None,
        query: dict[str, Any],
        recipient: str | None,
        kind: str | None = None,
        interest: str | None = None,
    ) -> str:
        wanted = replies.describe_query(query)
        aside = f"（{wanted}）" if wanted else ""
        if interest and recipient and recipient != "自己":
            return f"{recipient}喜欢{interest}的话，这几款挺合适{aside}："
        if interest:
            return f"喜欢{interest}的话，可以看看这几款{aside}👇"
        if recipient:
            return f"{for_whom(get_runtime().lexicon, recipient)}的话，这几款挺合适{aside}："
        quoted = f"「{wanted}」" if wanted else ""
        # Items already shown may be among these, so not 换了一批.
        if kind == "budget":
            return f"按新预算{quoted}挑了这些👇"
        if kind == "stated":
            return f"按{quoted}挑了这些👇" if quoted else "按你说的挑了这些👇"
        if kind == "cheaper":
            return f"挑了些更实惠的{quoted}👇"
        if kind == "pricier":
            return f"挑了些档次更高的{quoted}👇"
        if intent == "refine_search":
            return f"换了一批{quoted}，看看这些："
        if wanted:
            return f"按「{wanted}」给你找到这些👇"
        return "按你的喜好挑了几款👇"


# --- similar / bundle ------------------------------------------------------------------------


class _ItemListAction(ItemAction):
    """Shared flow for 看相似 and 搭配: anchor item -> recommender call -> product reply."""

    intro = ""
    empty = ""

    @abstractmethod
    def fetch(self, runtime: Runtime, item_id: str, filters: Any) -> Any: ...

    def unsuitable(self, turn: ItemTurn) -> list[str]:
        """Products never to offer with this anchor, besides those already shown."""
        return []

    def act_on(self, turn: ItemTurn) -> list[EventType]:
        from recommender.service import Filters

        exclude = [i["id"] for i in shown(turn.tracker)] + self.unsuitable(turn)
        # Shopping for 爸爸: no 女士 socks with his shoes either.
        audience = turn.runtime.lexicon.unsuitable_tags(turn.tracker.get_slot("recipient"))
        filters = Filters(in_stock=True, exclude_items=frozenset(exclude), exclude_tags=audience)
        result = self.fetch(turn.runtime, turn.product.id, filters)
        intro = self.intro.format(title=turn.product.title)
        if result.relaxed:
            intro += "（部分条件已放宽）"
        items = show_products(turn.dispatcher, turn.session, result.items, {}, intro, strict=True)
        record(turn.session, turn.shopper_id, turn.tracker, *views(items))
        if not items:
            turn.dispatcher.utter_message(text=self.empty)
            return []
        return [SlotSet("shown_items", items), SlotSet("focus_item", items[0]["id"])]


class ActionSimilarItems(_ItemListAction):
    intro = "和「{title}」相似的几款："
    empty = "暂时没找到相似的款😥 要不换个条件搜搜？"

    def name(self) -> str:
        return "action_similar_items"

    def fetch(self, runtime: Runtime, item_id: str, filters: Any) -> Any:
        return runtime.recommender.similar_items(item_id, PAGE, filters=filters)


class ActionBundle(_ItemListAction):
    intro = "搭配「{title}」一起买的推荐："
    empty = "这款暂时没有合适的搭配😥"

    def name(self) -> str:
        return "action_bundle"

    def fetch(self, runtime: Runtime, item_id: str, filters: Any) -> Any:
        return runtime.recommender.bundle([item_id], BUNDLE_SIZE, filters=filters)

    def unsuitable(self, turn: ItemTurn) -> list[str]:
        # A Mate 60 Pro case is no bundle for a 小米 14 Ultra, however often cases sell with it.
        # Left out before ranking, so that the page still gets the best case that does fit.
        lexicon = turn.runtime.lexicon
        if not lexicon.fitted_accessories:
            return []
        return unfitting(turn.session, lexicon, turn.product)


# --- detail / cart ---------------------------------------------------------------------------


ATTRIBUTE_NAMES = {"material": "材质", "color": "颜色", "size": "尺码"}
# What 内存多大 / 容量多少 asks about.
STORAGE_KEYS = ("storage", "config", "capacity", "volume")


def attribute_answers(product: Product, mentions: Sequence[Mention]) -> list[str]:
    """有黑色吗 / 是纯棉的吗 / 有42码吗 answered from the product's own attributes."""
    attrs = product.attributes or {}
    out = []
    for mention in mentions:
        have = attrs.get(mention.attribute)
        values = [str(v) for v in (have if isinstance(have, list) else [have]) if v is not None]
        name = ATTRIBUTE_NAMES[mention.attribute]
        if mention.value in values or any(mention.value in v for v in values):
            out.append(
                f"有{mention.value}✅"
                if mention.attribute != "material"
                else f"是{mention.value}的✅"
            )
        elif values:
            out.append(f"没有{mention.value}，{name}有：{'、'.join(values)}")
        else:
            out.append(f"详情页没写{name}")
    return out


def detail_text(product: Product, text: str, mentions: Sequence[Mention] = ()) -> str:
    attrs = product.attributes or {}
    price = replies.yuan(float(product.price))
    if float(product.list_price) > float(product.price):
        price += f"（原价{replies.yuan(float(product.list_price))}）"
    stock = f"有货（库存{product.stock}件）" if product.stock > 0 else "暂时缺货"
    asks = {
        "price": bool(re.search(r"多少钱|价|贵|便宜", text)),
        "stock": bool(re.search(r"货|库存|能买|卖完", text)),
        "material": bool(re.search(r"材质|面料|材料|纯棉|真皮|什么做的", text)),
        "size": bool(re.search(r"尺码|码|尺寸|大小|规格", text)),
        "color": bool(re.search(r"颜色|什么色|几种色|配色|色号", text)),
        "storage": bool(re.search(r"内存|存储|容量|配置|多少G|几个G", text)),
    }
    parts: list[str] = attribute_answers(product, mentions)
    if mentions:
        # answered above, precisely
        asks["material"] = asks["size"] = asks["color"] = False
    if asks["price"]:
        parts.append(f"价格{price}")
    if asks["stock"]:
        parts.append(stock)
    if asks["material"]:
        parts.append(f"材质：{attrs.get('material', '详情页未注明')}")
    if asks["size"]:
        sizes = attrs.get("size")
        sizes_text = "、".join(map(str, sizes)) if isinstance(sizes, list) else sizes
        parts.append(f"尺码/规格：{sizes_text or '均码'}")
    if asks["color"]:
        colors = spec_value(attrs.get("color"))
        parts.append(f"颜色有：{colors}" if colors else "颜色以详情页图片为准")
    if asks["storage"]:
        held = {k: v for k, v in attrs.items() if k in STORAGE_KEYS}
        parts.extend(f"{name}：{value}" for name, value in spec_pairs(held))
    if not parts:
        specs = "，".join(f"{name}：{value}" for name, value in spec_pairs(attrs))
        parts = [f"{product.brand} · {product.category}", f"价格{price}", stock]
        if specs:
            parts.append(specs)
        if product.description:
            parts.append(blurb(product.description))
    return f"「{product.title}」" + "，".join(parts) + "。"


_SENTENCE_END = "。！？!?；;"


def blurb(description: str, limit: int = 60) -> str:
    """A description short enough for a chat line, ending where a sentence or clause ends.

    The reply adds its own 。, so the blurb carries no closing punctuation."""
    text = description.strip()
    if len(text) > limit:
        head = text[:limit]
        cut = max(head.rfind(ch) for ch in _SENTENCE_END + "，,")
        text = head[:cut] if cut >= limit // 2 else head + "…"
    return text.rstrip(_SENTENCE_END + "，,、 ")


class ActionProductDetail(ItemAction):
    missing_text = "你想了解哪款呢？先搜一下商品吧，比如「华为手机」～"

    def name(self) -> str:
        return "action_product_detail"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        items = shown(tracker)
        pair = compared_positions(tracker.latest_message.get("text") or "", len(items))
        if pair is None:
            return super().act(dispatcher, tracker, runtime)
        ids = [str(items[p - 1]["id"]) for p in pair]
        with unit_of_work(runtime) as session:
            products = repo.get_products(session, ids)
            if len(products) < 2:
                dispatcher.utter_message(text=self.gone_text)
                return []
            first, second = products[ids[0]], products[ids[1]]
            clicks = [repo.NewEvent(type="click", product_id=i) for i in ids]
            record(session, shopper_of(session, tracker), tracker, *clicks)
        dispatcher.utter_message(
            text=comparison_text(first, second, pair),
            buttons=comparison_buttons([first, second], pair),
        )
        return []

    def act_on(self, turn: ItemTurn) -> list[EventType]:
        click = repo.NewEvent(type="click", product_id=turn.product.id)
        record(turn.session, turn.shopper_id, turn.tracker, click)
        turn.dispatcher.utter_message(
            text=self._answer(turn, turn.tracker.latest_message.get("text") or ""),
            buttons=[
                {"title": "加入购物车", "payload": "/add_to_cart"},
                {"title": "看相似", "payload": "/ask_similar"},
            ],
        )
        return [SlotSet("focus_item", turn.product.id)]

    @staticmethod
    def _answer(turn: ItemTurn, text: str) -> str:
        # Checked before the service topics, which would read 退款率高吗 as a returns question.
        about = product_fact(turn.session, turn.runtime.lexicon, turn.product, text)
        if about is not None:
            return about
        # 第二个保修多久 read as a detail question still gets the service answer for that item.
        service = [t for t in topics_in(text, timing=False) if t != "order"]
        if service:
            return "\n".join(answer_lines(store_policies(), service, turn.product, text))
        return detail_text(turn.product, text, attribute_matcher(turn.runtime.lexicon).find(text))


def parse_quantity(text: str) -> int:
    m = _QUANTITY.search(text or "")
    if not m:
        return 1
    raw = m.group(1)
    value = int(raw) if raw.isdigit() else int(cn_to_number(raw) or 1)
    return max(1, min(value, 99))


def quantity_change(text: str | None) -> tuple[str, int] | None:
    """("fewer", n) for 少要一个, ("keep", n) for 只要两个; None when no count is said."""
    for kind, pattern in (("keep", _KEEP), ("fewer", _FEWER)):
        m = pattern.search(text or "")
        if m:
            raw = next(g for g in m.groups() if g)
            value = int(raw) if raw.isdigit() else cn_to_number(raw)
            if value is not None:
                return kind, int(value)
    return None


def quantity_wanted(change: tuple[str, int], had: int) -> int:
    """How many of a line `had` long a quantity_change leaves (never below none)."""
    kind, count = change
    return max(count if kind == "keep" else had - count, 0)


def set_cart_quantity(
    dispatcher: CollectingDispatcher,
    session: Session,
    shopper_id: str,
    item: Any,
    keep: int,
    *,
    channel: str | None = None,
) -> None:
    """少要一个 / 只要两个 / 改成三个 on one cart line: that many of it (none takes the line
    out), and the cart."""
    title, had = item.product.title, item.quantity
    if keep == 0:
        repo.cart_remove(session, shopper_id, item.product_id, channel=channel)
        head = f"已从购物车删掉「{title}」。"
    elif keep != had:
        repo.cart_set_quantity(session, shopper_id, item.product_id, keep)
        head = f"好的，「{title}」改成{keep}件了。"
    else:
        head = f"「{title}」现在就是{had}件哦～"
    lines, count, total = cart_summary(session, shopper_id)
    if count == 0:
        dispatcher.utter_message(text=head + "购物车空了～想再看看别的吗？")
        return
    dispatcher.utter_message(
        text=f"{head}购物车共{count}件：\n{lines}\n合计{replies.yuan(total)}",
        buttons=[{"title": "去结算", "payload": "/checkout"}],
    )


def cart_summary(session: Session, shopper_id: str) -> tuple[str, int, float]:
    return cart_lines(repo.cart_items(session, shopper_id))


def cart_lines(items: Sequence[Any]) -> tuple[str, int, float]:
    """The numbered lines, item count and total of cart rows already loaded."""
    count = sum(i.quantity for i in items)
    total = sum(float(i.product.price) * i.quantity for i in items)
    lines = [
        f"{n}. {i.product.title} ×{i.quantity} {replies.yuan(float(i.product.price))}"
        for n, i in enumerate(items, start=1)
    ]
    return "\n".join(lines), count, round(total, 2)


class ActionAddToCart(ItemAction):
    missing_text = "要加哪款呢？先搜一下商品吧～"

    def name(self) -> str:
        return "action_add_to_cart"

    def act_on(self, turn: ItemTurn) -> list[EventType]:
        if turn.product.stock <= 0:
            turn.dispatcher.utter_message(
                text="这款暂时缺货😥 看看相似的？",
                buttons=[{"title": "看相似", "payload": "/ask_similar"}],
            )
            return []
        text = turn.tracker.latest_message.get("text") or ""
        change = quantity_change(text)
        line = repo.cart_line(turn.session, turn.shopper_id, turn.product.id) if change else None
        if change is not None and (line is not None or change[0] == "fewer"):
            # 改成两个 / 只要一个 about what is already in the cart sets it (adding would leave
            # three), and 少要一个 never adds.
            if line is None:
                turn.dispatcher.utter_message(
                    text=f"「{turn.product.title}」还不在购物车里哦～",
                    buttons=[{"title": "看购物车", "payload": "/view_cart"}],
                )
            else:
                set_cart_quantity(
                    turn.dispatcher,
                    turn.session,
                    turn.shopper_id,
                    line,
                    quantity_wanted(change, line.quantity),
                    channel=channel_of(turn.tracker),
                )
            return [SlotSet("focus_item", turn.product.id)]
        quantity = parse_quantity(text)
        repo.cart_add(
            turn.session,
            turn.shopper_id,
            turn.product.id,
            quantity,
            channel=channel_of(turn.tracker),
        )
        _, count, total = cart_summary(turn.session, turn.shopper_id)
        turn.dispatcher.utter_message(
            text=f"已加入购物车🛒 {turn.product.title} ×{quantity}\n"
            f"购物车共{count}件，合计{replies.yuan(total)}",
            buttons=[
                {"title": "去结算", "payload": "/checkout"},
                {"title": "看购物车", "payload": "/view_cart"},
                {"title": "有优惠吗", "payload": "/ask_offers"},
                {"title": "搭配推荐", "payload": "/ask_bundle"},
            ],
        )
        return [SlotSet("focus_item", turn.product.id)]


class ActionViewCart(ShopAction):
    def name(self) -> str:
        return "action_view_cart"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        with unit_of_work(runtime) as session:
            lines, count, total = cart_summary(session, shopper_of(session, tracker))
        if count == 0:
            dispatcher.utter_message(text="购物车还是空的～想买点什么？")
            return []
        dispatcher.utter_message(
            text=f"购物车里有{count}件：\n{lines}\n合计{replies.yuan(total)}",
            buttons=[
                {"title": "去结算", "payload": "/checkout"},
                {"title": "有优惠吗", "payload": "/ask_offers"},
            ],
        )
        return []


# --- offers / why ----------------------------------------------------------------------------


class ActionOffers(ShopAction):
    def name(self) -> str:
        return "action_offers"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        with unit_of_work(runtime) as session:
            shopper_id = shopper_of(session, tracker)
            # One id per unit: two of a ¥150 item reach 满300.
            cart = [
                i.product_id
                for i in repo.cart_items(session, shopper_id)
                for _ in range(i.quantity)
            ]
            general = [o for o in active_offers(session) if o.scope == "all"]
        # 第二个能用券吗 asks about that item; otherwise the cart, else what was shown.
        named = parse_ordinal(tracker.latest_message.get("text")) is not None
        target = target_item(tracker) if named else None
        item_ids = [target] if target else (cart or [i["id"] for i in shown(tracker)])
        decision = None
        if item_ids:
            decision = runtime.recommender.choose_offer(
                shopper_id, item_ids, channel=channel_of(tracker), grant=True
            )
        # The coupon just given is not listed again as a store-wide offer.
        others = [o for o in general if decision is None or o.id != decision.offer_id][:3]
        general_text = "、".join(replies.offer_name(o) for o in others)
        if decision is not None:
            text = f"给你领了一张券🎉 {decision.text}"
            if general_text:
                text += f"\n全场活动：{general_text}"
            dispatcher.utter_message(
                text=text,
                json_message={
                    "type": "offer",
                    "offer_id": decision.offer_id,
                    "title": decision.title,
                    "text": decision.text,
                    "grant_id": decision.grant_id,
                },
            )
        elif general_text:
            dispatcher.utter_message(text=f"现在有这些活动：{general_text}")
        else:
            dispatcher.utter_message(text="暂时没有可用的优惠券😥 有活动我第一时间告诉你～")
        return []


def entity_values(tracker: Tracker) -> dict[str, Any]:
    return {
        e.get("entity"): e.get("value")
        for e in tracker.latest_message.get("entities", []) or []
        if e.get("entity")
    }


class ActionPushOffer(ShopAction):
    """An offer the storefront's marketing rules granted, pushed in through `trigger_intent`.

    The grant is already recorded; this turn only shows it. The grant is checked against the
    database so that nothing but a live grant of this shopper is ever announced: an offer that
    was redeemed, forgotten or belongs to someone else stays silent.
    """

    def name(self) -> str:
        return "action_push_offer"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        values = entity_values(tracker)
        try:
            grant_id = int(values.get("grant_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            logger.warning("offer push without a usable grant id: %r", values.get("grant_id"))
            return []
        with unit_of_work(runtime) as session:
            shopper_id = shopper_of(session, tracker)
            grant = session.get(OfferGrant, grant_id)
            if grant is None or grant.shopper_id != shopper_id or grant.redeemed_at is not None:
                logger.warning("offer push for grant %s does not match %s", grant_id, shopper_id)
                return []
            offer = session.get(Offer, grant.offer_id)
            if offer is None:
                return []
            title = offer.title
            detail = (
                str(values.get("offer_text") or "") or f"「{title}」：{replies.offer_label(offer)}"
            )
            product_id = values.get("product_id") or grant.product_id
        dispatcher.utter_message(
            text=f"送你一张专属券🎁 {detail}，下单时自动抵扣～",
            json_message={
                "type": "offer",
                "offer_id": offer.id,
                "title": title,
                "text": detail,
                "grant_id": grant_id,
                "product_id": product_id,
            },
        )
        return [SlotSet("focus_item", product_id)] if product_id else []


def stated_query(tracker: Tracker) -> dict[str, Any]:
    keys = ("category", "brand", "color", "size", "price_min", "price_max")
    return {k: tracker.get_slot(k) for k in keys}


class ActionExplain(ShopAction):
    def name(self) -> str:
        return "action_explain"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        items = shown(tracker)
        if not items:
            dispatcher.utter_message(text="我还没给你推荐商品呢～说说想买什么吧。")
            return []
        item_id = target_item(tracker)
        item = next((i for i in items if i["id"] == item_id), items[0])
        query = stated_query(tracker)
        wanted = replies.describe_query(query)
        reason = item.get("reason") or "它和你的需求最接近"
        text = f"推荐「{item['title']}」是因为：{reason}"
        if wanted:
            with unit_of_work(runtime) as session:
                product = repo.get_products(session, [item["id"]]).get(item["id"])
            # Only what is true: an alternative shown because nothing met every constraint
            # says which one it misses.
            missed = unmet(product, query) if product is not None else []
            if not missed:
                text += f"；也符合你说的「{wanted}」，而且有货"
            else:
                text += f"；不过它{'、'.join(missed)}，是没有完全符合「{wanted}」时最接近的一款"
        dispatcher.utter_message(text=text + "。")
        return [SlotSet("focus_item", item["id"])]


# --- handoff / forget ------------------------------------------------------------------------


class ActionHandoff(ShopAction):
    failure_text = "转人工失败了😥 请稍后再试。"

    def name(self) -> str:
        return "action_handoff"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        said = [e.get("text") for e in tracker.events if e.get("event") == "user" and e.get("text")]
        summary = "；".join(said[-5:])
        wanted = replies.describe_query(stated_query(tracker))
        if wanted:
            summary = f"需求：{wanted}。最近消息：{summary}"
        with unit_of_work(runtime) as session:
            shopper_id = shopper_of(session, tracker)
            ticket = repo.create_handoff(
                session, shopper_id, channel_of(tracker), summary[:2000]
            ).id
        dispatcher.utter_message(
            text=f"好的，已为你转接人工客服（工单 #{ticket}），客服会尽快联系你，请稍等～",
            json_message={"type": "handoff", "ticket": ticket},
        )
        return []


class ActionForgetMe(ShopAction):
    """Delete the shopper's events, profile, cart, orders and grants; then the conversation.

    The conversation history is erased by bot.tracker_store.ShopTrackerStore when it saves this
    turn and sees AllSlotsReset after action_forget_me, which we return only on success.
    """

    failure_text = "删除没有成功😥 请稍后再试，或者说「转人工」。"

    def name(self) -> str:
        return "action_forget_me"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
    ) -> list[EventType]:
        with unit_of_work(runtime) as session:
            shopper_id = shopper_of(session, tracker)
            counts = repo.forget_shopper(session, shopper_id)
        logger.info("forgot shopper %s: %s", shopper_id, counts)
        dispatcher.utter_message(
            text="已删除你的浏览记录、购物车、资料和聊天记录✅ 下次见面就是新的开始～"
        )
        return [AllSlotsReset()]


__all__ = [
    "ActionAddToCart",
    "ActionBundle",
    "ActionExplain",
    "ActionForgetMe",
    "ActionHandoff",
    "ActionOffers",
    "ActionProductDetail",
    "ActionPushOffer",
    "ActionSearchProducts",
    "ActionSimilarItems",
    "ActionViewCart",
]
