from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from statistics import median

from shopbot.db.models import EVENT_TYPES, OFFER_KINDS, OFFER_SCOPES
from shopbot.demo.config import SimulationConfig, load_simulation_config
from shopbot.demo.simulator import HOLDOUT_START, Simulation, build_offers, simulate

PHONE_EXTRAS = {"手机壳", "钢化膜", "充电器", "充电宝"}
CONSUMABLES = {"零食", "咖啡", "纸尿裤", "奶粉", "洗发水", "茶叶"}


def _purchases(sim: Simulation) -> dict[str, list[tuple[datetime, str, str]]]:
    category = {p["id"]: p["category"] for p in sim.catalog.products}
    out: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    for e in sim.events:
        if e.type == "purchase":
            assert e.product_id is not None
            out[e.shopper_id].append((e.ts, category[e.product_id], e.product_id))
    return out


def test_same_seed_same_history(small_config: SimulationConfig, small_sim: Simulation) -> None:
    again = simulate(7, config=small_config)
    assert again.events == small_sim.events
    assert again.orders == small_sim.orders and again.order_items == small_sim.order_items
    assert again.shoppers == small_sim.shoppers
    other = simulate(8, config=small_config)
    assert [e.product_id for e in other.events[:500]] != [
        e.product_id for e in small_sim.events[:500]
    ]


def test_full_default_store_size(full_sim: Simulation) -> None:
    counts = full_sim.counts()
    assert counts["shoppers"] >= 5000
    assert counts["events"] >= 200_000
    assert counts["products"] >= 1500
    assert load_simulation_config().holdout_start == HOLDOUT_START


def test_events_are_well_formed(small_sim: Simulation) -> None:
    config = small_sim.config
    products = {p["id"]: p for p in small_sim.catalog.products}
    shoppers = {s["id"]: s["created_at"] for s in small_sim.shoppers}
    ids = [e.id for e in small_sim.events]
    assert len(set(ids)) == len(ids)
    assert [e.ts for e in small_sim.events] == sorted(e.ts for e in small_sim.events)
    types = Counter(e.type for e in small_sim.events)
    assert set(types) <= set(EVENT_TYPES)
    assert types["view"] > types["click"] > types["add_to_cart"] > types["purchase"] > 0
    for e in small_sim.events:
        assert config.start <= e.ts < config.end
        # Shoppers act only after they first show up (some only in the held-out week).
        assert shoppers[e.shopper_id] <= e.ts
        if e.type == "search":
            assert e.product_id is None and e.query
        else:
            assert e.product_id in products
            # Nobody interacts with a product before it is listed.
            assert products[e.product_id]["created_at"] <= e.ts
        if e.dwell_seconds is not None:
            assert e.dwell_seconds >= 0


def test_some_shoppers_are_new_in_the_held_out_week(small_sim: Simulation) -> None:
    holdout = small_sim.config.holdout_start
    new = {s["id"] for s in small_sim.shoppers if s["created_at"] >= holdout}
    active = {e.shopper_id for e in small_sim.events}
    assert 0.03 * len(small_sim.shoppers) < len(new) < 0.15 * len(small_sim.shoppers)
    assert new <= active


def test_orders_match_purchase_events(small_sim: Simulation) -> None:
    bought = Counter((e.shopper_id, e.product_id) for e in small_sim.events if e.type == "purchase")
    owner = {o["id"]: o["shopper_id"] for o in small_sim.orders}
    items = Counter((owner[i["order_id"]], i["product_id"]) for i in small_sim.order_items)
    assert items == bought
    price = {p["id"]: p["price"] for p in small_sim.catalog.products}
    for order in small_sim.orders:
        lines = [i for i in small_sim.order_items if i["order_id"] == order["id"]]
        gross = sum(price[i["product_id"]] * i["quantity"] for i in lines)
        assert abs(order["total"] + order["discount"] - gross) < 0.01
        assert order["discount"] == (40 if gross >= 300 else 0)


def test_orders_stand_where_their_age_puts_them(full_sim: Simulation) -> None:
    # 我的快递到哪了 on the demo store: the last day's orders wait for dispatch, the last days'
    # are on the way, older ones arrived (a few came back), so the answer is not always an apology.
    fulfilment = full_sim.config.fulfilment
    end = full_sim.config.end
    shipped_after = timedelta(hours=fulfilment["ship_hours"])
    delivered_after = shipped_after + timedelta(days=fulfilment["deliver_days"])
    status = Counter()
    for order in full_sim.orders:
        age = end - order["created_at"]
        if age < shipped_after:
            assert order["status"] == "paid", order
        elif age < delivered_after:
            assert order["status"] == "shipped", order
        else:
            assert order["status"] in {"delivered", "refunded"}, order
        status[order["status"]] += 1
    assert status["paid"] > 0 and status["shipped"] > status["paid"]
    settled = status["delivered"] + status["refunded"]
    assert 0.01 < status["refunded"] / settled < 0.04


def test_consent_controls_stored_profile(full_sim: Simulation) -> None:
    shoppers = full_sim.shoppers
    consenting = [s for s in shoppers if s["consent"]]
    assert 0.65 < len(consenting) / len(shoppers) < 0.75
    for s in shoppers:
        fields = [s["age_band"], s["gender"], s["region"], s["occupation"]]
        assert all(fields) if s["consent"] else not any(fields)


def test_phone_buyers_buy_accessories_more_than_others(full_sim: Simulation) -> None:
    buys = _purchases(full_sim)
    phone = {u for u, b in buys.items() if any(c == "手机" for _, c, _ in b)}
    others = [s["id"] for s in full_sim.shoppers if s["id"] not in phone]

    def rate(group: list[str] | set[str]) -> float:
        hit = sum(any(c in PHONE_EXTRAS for _, c, _ in buys.get(u, [])) for u in group)
        return hit / len(group)

    assert len(phone) >= 100
    assert rate(phone) > 3 * rate(others)
    # ... and mostly shortly after the phone, not before it.
    soon = 0
    for u in phone:
        first_phone = min(t for t, c, _ in buys[u] if c == "手机")
        soon += any(
            c in PHONE_EXTRAS and first_phone <= t <= first_phone + timedelta(days=5)
            for t, c, _ in buys[u]
        )
    assert soon / len(phone) > 0.35


def test_consumables_are_bought_again(full_sim: Simulation) -> None:
    buys = _purchases(full_sim)
    repeat = once = 0
    durable_repeat = durable_once = 0
    for b in buys.values():
        counts = Counter(c for _, c, _ in b)
        for category, n in counts.items():
            if category in CONSUMABLES:
                repeat, once = repeat + (n > 1), once + 1
            elif category in {"手机", "笔记本电脑", "电饭煲", "扫地机器人"}:
                durable_repeat, durable_once = durable_repeat + (n > 1), durable_once + 1
    assert repeat / once > 0.2
    assert repeat / once > 4 * (durable_repeat / max(durable_once, 1))


def test_final_week_sells_products_that_arrived_late(full_sim: Simulation) -> None:
    created = {p["id"]: p["created_at"] for p in full_sim.catalog.products}
    holdout = full_sim.config.holdout_start
    final = [e.product_id for e in full_sim.events if e.type == "purchase" and e.ts >= holdout]
    assert len(final) > 500
    arrived_in_holdout = {p for p in final if p and created[p] >= holdout}
    # Real cold start: these products have no history at all before the split.
    assert len(arrived_in_holdout) >= 10
    late = full_sim.config.end - timedelta(days=14)
    assert sum(created[p] >= late for p in final if p) / len(final) > 0.15


def test_longer_dwell_on_what_is_bought(full_sim: Simulation) -> None:
    bought = {(e.session_id, e.product_id) for e in full_sim.events if e.type == "purchase"}
    views_bought: list[float] = []
    views_other: list[float] = []
    for e in full_sim.events:
        if e.type == "view" and e.dwell_seconds is not None:
            target = views_bought if (e.session_id, e.product_id) in bought else views_other
            target.append(e.dwell_seconds)
    assert median(views_bought) > 1.8 * median(views_other)


def test_demographics_shape_tastes(full_sim: Simulation) -> None:
    buys = _purchases(full_sim)
    milk = [u for u, b in buys.items() if any(c == "奶粉" for _, c, _ in b)]
    assert len(milk) >= 30
    assert sum(full_sim.tastes[u].parent for u in milk) / len(milk) > 0.7
    dress = [u for u, b in buys.items() if any(c == "连衣裙" for _, c, _ in b)]
    assert sum(full_sim.tastes[u].gender == "F" for u in dress) / len(dress) > 0.75


def test_queries_are_natural_chinese(small_sim: Simulation) -> None:
    queries = [e.query for e in small_sim.events if e.type == "search" and e.query]
    searches = sum(e.type == "search" for e in small_sim.events)
    assert queries and len(queries) == searches and all(len(q) <= 30 for q in queries)
    assert any("以内的" in q for q in queries)
    assert any(q.startswith(("给", "送")) for q in queries)


def test_carts_are_recent_unbought_adds(small_sim: Simulation) -> None:
    assert small_sim.cart_items
    bought_after = {
        (e.shopper_id, e.product_id): e.ts for e in small_sim.events if e.type == "purchase"
    }
    keys = set()
    for item in small_sim.cart_items:
        key = (item["shopper_id"], item["product_id"])
        assert key not in keys
        keys.add(key)
        assert item["added_at"] >= small_sim.config.end - timedelta(days=5)
        assert bought_after.get(key, datetime.min) < item["added_at"]


def test_offers_are_valid_and_around_now(small_sim: Simulation) -> None:
    now = datetime(2027, 3, 1, 12, 0)
    offers = build_offers(small_sim.catalog, now)
    products = {p["id"] for p in small_sim.catalog.products}
    assert len({o["id"] for o in offers}) == len(offers) >= 5
    assert {o["kind"] for o in offers} == set(OFFER_KINDS)
    assert (
        {"all", "brand", "category", "product"} <= {o["scope"] for o in offers} <= set(OFFER_SCOPES)
    )
    live = [o for o in offers if o["starts_at"] <= now < o["ends_at"]]
    assert len(live) >= 5 and len(live) < len(offers)
    for o in offers:
        assert o["amount"] > 0 and o["ends_at"] > o["starts_at"]
        if o["kind"] == "threshold":
            assert o["threshold"] > o["amount"]
        if o["kind"] == "percent":
            assert 0 < o["amount"] < 100
        if o["scope"] == "product":
            assert o["scope_value"] in products
