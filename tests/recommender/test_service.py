"""The service against a real SQLite database: cold start, rules, explanations, real time, offers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from recommender.service import Filters, RecommenderService
from recommender.training import train_from_database
from shopbot.config import Settings
from shopbot.db import repo
from shopbot.db.engine import make_engine, make_session_factory, session_scope
from shopbot.db.models import Base, Offer, OfferGrant, Product

CATS = {
    "手机": ("华为", "小米", "苹果"),
    "耳机": ("索尼", "漫步者", "华为"),
    "零食": ("三只松鼠", "良品铺子", "百草味"),
}
COLORS = ("黑色", "白色", "蓝色")


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture
def factory(tmp_path: Path) -> sessionmaker:
    engine = make_engine(_url(tmp_path))
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    old = datetime.utcnow() - timedelta(days=90)
    with session_scope(factory) as s:
        n = 0
        for cat, brands in CATS.items():
            for b in brands:
                for j in range(4):
                    price = {"手机": 1000, "耳机": 200, "零食": 30}[cat] * (1 + j)
                    s.add(
                        Product(
                            id=f"p{n}",
                            title=f"{b}{cat}{['青春版', '标准版', 'Pro', 'Max'][j]}",
                            category=cat,
                            brand=b,
                            price=price,
                            list_price=price * 1.2,
                            attributes={"color": COLORS[j % 3]},
                            tags=[],
                            stock=10,
                            created_at=old,
                        )
                    )
                    n += 1
    yield factory
    engine.dispose()


def _ids(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.item_id for r in result.items]


def test_cold_start_shopper_gets_popular_items_and_is_told(factory: sessionmaker) -> None:
    svc = RecommenderService(factory)
    res = svc.recommend("nobody", 5)
    assert res.fallback == "cold_start_shopper"
    assert len(res.items) == 5
    assert all(r.reason for r in res.items)


def test_stated_preferences_steer_a_new_shopper(factory: sessionmaker) -> None:
    svc = RecommenderService(factory)
    res = svc.recommend(None, 4, context={"category": "耳机", "brand": "索尼", "price_max": 450})
    products = _products(factory, _ids(res))
    assert products[0].category == "耳机" and products[0].brand == "索尼"
    assert float(products[0].price) <= 450
    assert "预算" in res.items[0].reason


def test_filters_hold_and_relaxation_is_reported(factory: sessionmaker) -> None:
    svc = RecommenderService(factory)
    f = Filters(category="耳机", price_max=500, exclude_brands=("华为",))
    res = svc.recommend("u1", 10, filters=f)
    assert res.items and not res.relaxed
    for p in _products(factory, _ids(res)):
        assert p.category == "耳机" and float(p.price) <= 500 and p.brand != "华为"
    # No red phones exist: colour is relaxed, and the result says so.
    res = svc.recommend("u1", 5, filters=Filters(category="手机", color="红色"))
    assert res.relaxed == ("color",) and res.fallback == "relaxed_filters"
    assert all(p.category == "手机" for p in _products(factory, _ids(res)))


def test_excluded_tags_are_left_out_and_relaxed_first(factory: sessionmaker) -> None:
    with session_scope(factory) as s:
        for p in s.scalars(select(Product).where(Product.category == "耳机")):
            p.tags = ["男款"] if p.brand != "漫步者" else ["女款"]
    svc = RecommenderService(factory)
    res = svc.recommend("u1", 10, filters=Filters(category="耳机", exclude_tags=("男款",)))
    assert res.items and not res.relaxed
    assert {p.brand for p in _products(factory, _ids(res))} == {"漫步者"}
    # Only 男款 left under the budget: who it is for gives way before the budget does.
    f = Filters(category="耳机", price_max=500, exclude_brands=("漫步者",), exclude_tags=("男款",))
    res = svc.recommend("u1", 5, filters=f)
    assert res.relaxed == ("audience",)
    assert all(float(p.price) <= 500 for p in _products(factory, _ids(res)))


def test_only_what_must_give_way_is_relaxed_and_reasons_stay_true(
    factory: sessionmaker,
) -> None:
    with session_scope(factory) as s:
        for p in s.scalars(select(Product).where(Product.category == "耳机")):
            p.tags = ["男款"] if p.brand != "漫步者" else ["女款"]
        cheapest = min(
            float(p.price) for p in s.scalars(select(Product).where(Product.category == "耳机"))
        )
    svc = RecommenderService(factory)
    # Nothing is that cheap, whoever it is for: the budget goes, the audience stays.
    f = Filters(category="耳机", price_max=cheapest - 1, exclude_tags=("男款",))
    res = svc.recommend("u1", 5, context={"price_max": cheapest - 1}, filters=f)
    assert res.relaxed == ("price",)
    products = _products(factory, _ids(res))
    assert products and {p.brand for p in products} == {"漫步者"}
    # Over the budget just relaxed, none of them is said to fit it.
    assert not any("预算" in r.reason for r in res.items), [r.reason for r in res.items]
    # The nearest alternatives, nearest in price first.
    with factory() as s:
        allowed = sorted(
            float(p.price)
            for p in s.scalars(select(Product).where(Product.category == "耳机"))
            if p.brand == "漫步者" and p.stock > 0
        )
    assert [float(p.price) for p in products][:2] == allowed[:2]


def test_a_gift_page_says_for_whom_until_its_categories_give_way(factory: sessionmaker) -> None:
    svc = RecommenderService(factory)
    gift = Filters(categories=("耳机", "零食"), price_max=250, suited="送妈妈很合适")
    res = svc.recommend(None, 6, context={"price_max": 250, "query": ["耳机"]}, filters=gift)
    reasons = [r.reason for r in res.items if r.source == "preference"]
    assert reasons and all(r == "送妈妈很合适，符合你的预算" for r in reasons), reasons
    # Nothing of those kinds is left: what comes instead is not said to suit her.
    gone = Filters(categories=("手表",), suited="送妈妈很合适")
    res = svc.recommend(None, 6, context={"query": ["手表"]}, filters=gone)
    assert res.relaxed == ("category",) and res.items
    assert not any("妈妈" in r.reason for r in res.items), [r.reason for r in res.items]


def test_out_of_stock_items_never_shown(factory: sessionmaker) -> None:
    with session_scope(factory) as s:
        for p in s.scalars(select(Product).where(Product.category == "耳机")):
            if p.brand == "索尼":
                p.stock = 0
    svc = RecommenderService(factory)
    res = svc.recommend(None, 20, context={"brand": "索尼", "category": "耳机"})
    assert all(p.stock > 0 for p in _products(factory, _ids(res)))


def test_diversity_no_page_of_one_brand(factory: sessionmaker) -> None:
    svc = RecommenderService(factory)
    with session_scope(factory) as s:
        for _ in range(3):
            repo.record_event(s, "fan", "view", product_id="p0")
    res = svc.recommend("fan", 10)
    products = _products(factory, _ids(res))
    pairs = [(p.category, p.brand) for p in products]
    assert max(pairs.count(x) for x in set(pairs)) <= 3


def test_real_time_two_instances_share_one_database(tmp_path: Path, factory: sessionmaker) -> None:
    """An event written through one server changes the next answer of another, no retraining."""
    other = make_session_factory(make_engine(_url(tmp_path)))
    a, b = RecommenderService(factory), RecommenderService(other)
    before = b.recommend("rt", 5)
    assert before.fallback == "cold_start_shopper"
    with session_scope(factory) as s:
        repo.record_event(s, "rt", "view", product_id="p13")  # a 耳机 item
        repo.cart_add(s, "rt", "p14")
    after = b.recommend("rt", 5)
    assert after.fallback is None
    assert _ids(after) != _ids(before)
    cats = [p.category for p in _products(other, _ids(after)[:3])]
    assert cats.count("耳机") >= 2
    assert "p14" not in _ids(after)  # already in the cart
    assert any(
        "浏览过" in r.reason or "很搭" in r.reason or "相近" in r.reason for r in after.items
    )
    assert _ids(a.recommend("rt", 5)) == _ids(after)


def test_no_rerecommending_what_was_just_bought_except_consumables(factory: sessionmaker) -> None:
    svc = RecommenderService(factory)
    with session_scope(factory) as s:
        repo.place_order(s, "buyer", [("p0", 1), ("p24", 1)])  # a phone and a snack
        for pid in ("p0", "p1", "p24", "p25"):
            repo.record_event(s, "buyer", "view", product_id=pid)
    ids = _ids(svc.recommend("buyer", 30))
    assert "p0" not in ids
    assert "p24" in ids  # snacks are bought again


def test_similar_items_and_unknown_item(factory: sessionmaker) -> None:
    svc = RecommenderService(factory)
    res = svc.similar_items("p12", 3)
    assert "p12" not in _ids(res)
    assert all(p.category == "耳机" for p in _products(factory, _ids(res)))
    assert svc.similar_items("no-such-item", 3).fallback == "unknown_item"


def test_bundle_returns_complements_from_other_categories(factory: sessionmaker) -> None:
    with session_scope(factory) as s:
        for n in range(5):
            repo.place_order(s, f"b{n}", [("p0", 1), ("p13", 1)])  # phone + earphones
    svc = RecommenderService(factory)
    res = svc.bundle(["p0"], 3)
    assert _ids(res)[0] == "p13"
    # Five shoppers bought this very pair, and the reason says so.
    assert "的顾客也买了它" in res.items[0].reason
    assert all(p.category != "手机" for p in _products(factory, _ids(res)))


def test_one_coincidental_pair_does_not_outrank_what_the_category_sells_with(
    factory: sessionmaker,
) -> None:
    with session_scope(factory) as s:
        repo.place_order(s, "once", [("p0", 1), ("p30", 1)])  # a phone and a snack, once
        for n in range(6):
            repo.place_order(s, f"b{n}", [(f"p{1 + n % 3}", 1), ("p13", 1)])  # phones + earphones
    res = RecommenderService(factory).bundle(["p0"], 3)
    assert _products(factory, _ids(res))[0].category == "耳机", _ids(res)
    # Nobody bought this phone with those earphones: phones sell with earphones.
    assert res.items[0].reason.endswith("很搭"), res.items[0].reason


def _seed_history(factory: sessionmaker) -> None:
    import random

    rnd = random.Random(0)
    start = datetime.utcnow() - timedelta(days=30)
    with session_scope(factory) as s:
        for u in range(40):
            cat = list(CATS)[u % 3]
            pool = [p.id for p in s.scalars(select(Product).where(Product.category == cat))]
            for d in range(12):
                pid = rnd.choice(pool)
                ts = start + timedelta(days=d * 2, hours=u % 7)
                repo.record_event(s, f"h{u}", "view", product_id=pid, ts=ts, dwell_seconds=30)
                if rnd.random() < 0.35:
                    repo.record_event(
                        s, f"h{u}", "purchase", product_id=pid, ts=ts + timedelta(minutes=5)
                    )


def test_training_artifacts_load_and_serve(factory: sessionmaker, tmp_path: Path) -> None:
    _seed_history(factory)
    settings = Settings(_url(tmp_path), tmp_path, tmp_path / "artifacts")
    summary = train_from_database(settings, progress=False)
    assert (tmp_path / "artifacts" / "LATEST").read_text() == summary["version"]
    assert set(summary["timings"]) >= {"load", "models", "save"}
    svc = RecommenderService(factory, tmp_path / "artifacts")
    assert svc.model is not None and svc.version == summary["version"]
    res = svc.recommend("h0", 5)
    assert res.fallback is None and len(res.items) == 5
    probs = svc.purchase_probability("h0", ["p0", "p30"])
    assert all(0.0 <= p <= 1.0 for p in probs.values())


def test_new_arrivals_get_the_served_models_slots(factory: sessionmaker, tmp_path: Path) -> None:
    """The tuned new-arrival share holds live: a phone shopper's page of ten keeps a place for
    the best-matching product launched this week, explained as 新品, and not for an unrelated one."""
    _seed_history(factory)
    settings = Settings(_url(tmp_path), tmp_path, tmp_path / "artifacts")
    train_from_database(settings, progress=False)
    with session_scope(factory) as s:
        for pid, cat, brand, title in (
            ("new-phone", "手机", "华为", "华为手机Max新款"),
            ("new-snack", "零食", "百草味", "百草味零食新口味"),
        ):
            s.add(
                Product(
                    id=pid, title=title, category=cat, brand=brand, price=2000, list_price=2400,
                    attributes={"color": "黑色"}, tags=[], stock=5,
                )
            )  # fmt: skip
        for pid in ("p0", "p1", "p2"):  # Huawei phones
            repo.record_event(s, "phonefan", "view", product_id=pid)
    svc = RecommenderService(factory, tmp_path / "artifacts")
    assert svc.model is not None
    svc.model.new_item_slots = 1  # type: ignore[attr-defined]
    res = svc.recommend("phonefan", 10)
    fresh = [r for r in res.items if r.source == "new_item"]
    assert [r.item_id for r in fresh] == ["new-phone"], [(r.item_id, r.source) for r in res.items]
    assert fresh[0].reason == "新品上架"
    assert "new-snack" not in _ids(res)
    assert len(res.items) == 10


def _offer(factory: sessionmaker, **kw: object) -> None:
    now = datetime.utcnow()
    fields = dict(
        id="o1",
        title="耳机满200减30",
        kind="threshold",
        scope="category",
        scope_value="耳机",
        amount=30,
        threshold=200,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
        budget_total=100,
        per_shopper_cap=1,
    )
    fields.update(kw)
    with session_scope(factory) as s:
        s.add(Offer(**fields))


def test_offer_eligibility_scope_window_and_cap(factory: sessionmaker) -> None:
    _offer(factory)
    _offer(
        factory,
        id="expired",
        starts_at=datetime.utcnow() - timedelta(days=9),
        ends_at=datetime.utcnow() - timedelta(days=2),
        scope="all",
        scope_value=None,
    )
    svc = RecommenderService(factory, random_state=0)
    assert svc.choose_offer("s1", ["p0"]) is None  # a phone: the earphone coupon does not apply
    decision = svc.choose_offer("s1", ["p13"])
    assert decision is not None and decision.offer_id == "o1" and decision.grant_id is not None
    assert "减" in decision.text
    assert svc.choose_offer("s1", ["p13"]) is None  # per-shopper cap of 1 reached


def test_an_id_given_twice_is_two_units_toward_a_threshold(factory: sessionmaker) -> None:
    [pair] = _products(factory, ["p13"])
    _offer(factory, threshold=2 * float(pair.price), amount=30)
    svc = RecommenderService(factory, random_state=0)
    one = svc.choose_offer("s1", ["p13"], grant=False)
    assert one is not None and one.text.startswith(f"再买{float(pair.price):.0f}元即可用")
    two = svc.choose_offer("s1", ["p13", "p13"], grant=False)
    assert two is not None and two.text.endswith("下单立减30元"), two.text


def test_offer_skipped_for_shopper_who_buys_anyway(factory: sessionmaker) -> None:
    _offer(factory)
    svc = RecommenderService(factory, random_state=0)
    svc.purchase_probability = lambda shopper, ids: {i: 0.95 for i in ids}  # type: ignore[method-assign]
    assert svc.choose_offer("keen", ["p13"]) is None


def test_offer_budget_and_caps_hold_under_concurrency(factory: sessionmaker) -> None:
    from recommender import offers

    _offer(factory, budget_total=5, per_shopper_cap=2)
    results: list[int | None] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        gid = offers.grant(factory, "o1", f"c{n % 4}", product_id="p13", channel="web", reason="t")
        with lock:
            results.append(gid)

    with session_scope(factory) as s:
        for n in range(4):
            repo.ensure_shopper(s, f"c{n}")
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    granted = [g for g in results if g is not None]
    assert len(granted) == 5
    with factory() as s:
        used = s.get(Offer, "o1").budget_used
        per = dict(
            s.execute(
                select(OfferGrant.shopper_id, func.count()).group_by(OfferGrant.shopper_id)
            ).all()
        )
    assert used == 5
    assert max(per.values()) <= 2


def test_bandit_prefers_the_offer_that_gets_redeemed(factory: sessionmaker) -> None:
    _offer(factory, id="good", title="好券", budget_total=None, per_shopper_cap=1000)
    _offer(factory, id="bad", title="差券", budget_total=None, per_shopper_cap=1000)
    svc = RecommenderService(factory, random_state=1)
    from recommender import offers

    with session_scope(factory) as s:
        repo.ensure_shopper(s, "hist")
    for n in range(30):
        g = offers.grant(factory, "good", "hist", product_id=None, channel=None, reason="x")
        assert g is not None
        if n < 24:
            svc.record_offer_outcome(g)
        offers.grant(factory, "bad", "hist", product_id=None, channel=None, reason="x")
    picks = [svc.choose_offer(f"new{n}", ["p13"], grant=False) for n in range(20)]
    chosen = [p.offer_id for p in picks if p is not None]
    assert chosen.count("good") >= 16


def _products(factory: sessionmaker, ids: list[str]) -> list[Product]:
    with factory() as s:
        found = repo.get_products(s, ids)
    return [found[i] for i in ids]


def test_new_item_reaches_shoppers_through_content_neighbours(factory: sessionmaker) -> None:
    """A product nobody has touched yet is recommended to a shopper who likes its look-alikes."""
    with session_scope(factory) as s:
        s.add(
            Product(
                id="fresh",
                title="索尼耳机Max二代",
                category="耳机",
                brand="索尼",
                price=900,
                list_price=1000,
                attributes={"color": "黑色"},
                tags=[],
                stock=5,
            )
        )
        for pid in ("p12", "p13", "p14", "p15"):  # the Sony earphones
            repo.record_event(s, "sonyfan", "view", product_id=pid)
    svc = RecommenderService(factory)
    res = svc.recommend("sonyfan", 5)
    assert "fresh" in _ids(res)
    fresh = next(r for r in res.items if r.item_id == "fresh")
    assert fresh.reason  # explained as content match or 新品
    sim = svc.similar_items("fresh", 3)
    assert sim.fallback == "cold_start_item"
    assert all(p.brand == "索尼" for p in _products(factory, _ids(sim)))


def test_every_result_carries_a_chinese_reason_from_its_source(factory: sessionmaker) -> None:
    svc = RecommenderService(factory)
    cold = svc.recommend("newbie", 5)
    assert all(r.source in ("popular", "trending", "new_item") for r in cold.items)
    with session_scope(factory) as s:
        repo.record_event(s, "browser", "view", product_id="p13")
    warm = svc.recommend("browser", 5, context={"price_max": 500})
    for r in warm.items + cold.items:
        assert r.reason and any("\u4e00" <= ch <= "\u9fff" for ch in r.reason)
    assert any("浏览过" in r.reason or "相近" in r.reason for r in warm.items)
    assert all("预算" in r.reason for r in warm.items)


def test_promoted_items_get_a_share_of_the_page(factory: sessionmaker) -> None:
    _offer(factory, scope="brand", scope_value="百草味", kind="fixed", threshold=0, amount=5)
    svc = RecommenderService(factory)
    with session_scope(factory) as s:
        repo.record_event(s, "phonefan", "view", product_id="p0")
    res = svc.recommend("phonefan", 10)
    promoted = [r for r in res.items if r.source == "promoted"]
    assert 1 <= len(promoted) <= 3
    assert all(p.brand == "百草味" for p in _products(factory, [r.item_id for r in promoted]))
    assert all("优惠" in r.reason for r in promoted)


def test_a_promoted_item_does_not_break_the_bundles_kinds_cap(factory: sessionmaker) -> None:
    _offer(factory, scope="brand", scope_value="漫步者", kind="fixed", threshold=0, amount=5)
    with session_scope(factory) as s:
        for n in range(6):
            repo.place_order(s, f"b{n}", [("p0", 1), (f"p{12 + n % 2}", 1)])  # 索尼 earphones
    res = RecommenderService(factory).bundle(["p0"], 4)
    kinds = [p.category for p in _products(factory, _ids(res))]
    assert kinds.count("耳机") <= 2, [(r.item_id, r.source) for r in res.items]


@pytest.mark.postgres
def test_offer_budget_holds_under_concurrency_on_postgresql(pg_engine) -> None:  # type: ignore[no-untyped-def]
    from recommender import offers

    factory = make_session_factory(pg_engine)
    with session_scope(factory) as s:
        s.add(
            Product(
                id="p13",
                title="耳机",
                category="耳机",
                brand="索尼",
                price=300,
                list_price=300,
                attributes={},
                tags=[],
                stock=5,
            )
        )
        for n in range(4):
            repo.ensure_shopper(s, f"c{n}")
    _offer(factory, budget_total=5, per_shopper_cap=2)
    results: list[int | None] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        gid = offers.grant(factory, "o1", f"c{n % 4}", product_id="p13", channel="web", reason="t")
        with lock:
            results.append(gid)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([g for g in results if g is not None]) == 5
    with factory() as s:
        assert s.get(Offer, "o1").budget_used == 5
        per = dict(
            s.execute(
                select(OfferGrant.shopper_id, func.count()).group_by(OfferGrant.shopper_id)
            ).all()
        )
    assert max(per.values()) <= 2


def test_consented_profile_blends_in_what_the_segment_buys(factory: sessionmaker) -> None:
    with session_scope(factory) as s:
        for n in range(5):
            repo.place_order(s, f"crowd{n}", [("p0", 1)])
        for n in range(3):
            repo.ensure_shopper(s, f"peer{n}", consent=True, age_band="25-34", gender="f")
            repo.place_order(s, f"peer{n}", [("p24", 1)])
        repo.ensure_shopper(s, "newpeer", consent=True, age_band="25-34", gender="f")
        repo.ensure_shopper(s, "private", consent=False, age_band="25-34", gender="f")
    svc = RecommenderService(factory)
    top = svc.recommend("newpeer", 3).items[0]
    assert top.item_id == "p24" and top.source == "segment"
    assert "相似" in top.reason
    # Without consent the profile was never stored, so nothing segment-based can appear.
    assert all(r.source != "segment" for r in svc.recommend("private", 10).items)


def test_broken_artifacts_fall_back_to_content_and_popularity(
    factory: sessionmaker, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "LATEST").write_text("missing-version")
    svc = RecommenderService(factory, artifacts)
    assert svc.model is None
    assert len(svc.recommend("anyone", 5).items) == 5


def _satisfies(p: Product, f: Filters) -> bool:
    colors = p.attributes.get("color")
    return (
        (not f.in_stock or p.stock > 0)
        and (f.category is None or p.category == f.category)
        and (not f.brands or p.brand in f.brands)
        and p.brand not in f.exclude_brands
        and p.category not in f.exclude_categories
        and (f.price_min is None or float(p.price) >= f.price_min)
        and (f.price_max is None or float(p.price) <= f.price_max)
        and (f.color is None or colors == f.color)
        and p.id not in f.exclude_items
    )


@pytest.mark.parametrize(
    "flt",
    [
        Filters(price_max=250),
        Filters(category="耳机", brands=("索尼", "漫步者")),
        Filters(exclude_categories=("手机",), color="白色"),
        Filters(price_min=100, price_max=900, exclude_brands=("华为",)),
        Filters(category="零食", color="蓝色", exclude_items=frozenset({"p26"})),
        Filters(category="手机", price_max=10),  # impossible: must relax and say so
    ],
)
def test_every_result_satisfies_the_filters_unless_relaxed(
    factory: sessionmaker, flt: Filters
) -> None:
    with session_scope(factory) as s:
        repo.place_order(s, "mixed", [("p0", 1), ("p13", 1)])
        repo.record_event(s, "mixed", "view", product_id="p25")
    svc = RecommenderService(factory)
    if flt.price_max == 10:
        assert "price" in svc.recommend("mixed", 8, filters=flt).relaxed
    for res in (
        svc.recommend("mixed", 8, filters=flt),
        svc.recommend(None, 8, filters=flt),
        svc.similar_items("p13", 5, filters=flt),
        svc.bundle(["p0"], 5, filters=flt),
    ):
        products = _products(factory, _ids(res))
        if res.relaxed:
            assert set(res.relaxed) <= {"color", "size", "brands", "price", "category"}
            assert res.fallback in ("relaxed_filters", "cold_start_item", "cold_start_shopper")
        else:
            assert all(_satisfies(p, flt) for p in products), (flt, [p.id for p in products])


def test_items_sold_out_after_loading_are_replaced_not_shown(factory: sessionmaker) -> None:
    svc = RecommenderService(factory)
    first = _ids(svc.recommend(None, 5, context={"category": "耳机"}))
    with session_scope(factory) as s:  # sold out behind the service's back
        for p in s.scalars(select(Product).where(Product.id.in_(first[:3]))):
            p.stock = 0
    again = svc.recommend(None, 5, context={"category": "耳机"})
    assert len(again.items) == 5
    assert not set(first[:3]) & set(_ids(again))
