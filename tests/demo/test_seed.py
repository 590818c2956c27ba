from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from shopbot.cli import main
from shopbot.db.engine import make_engine, make_session_factory, session_scope
from shopbot.db.models import Event, Offer, Product, Shopper
from shopbot.db.repo import db_stats, recent_events, search_products
from shopbot.demo import seed as seed_module
from shopbot.demo.config import SimulationConfig
from shopbot.demo.seed import StoreNotEmptyError, seed_demo
from shopbot.demo.simulator import simulate


def test_seed_fills_the_database_with_the_simulation(
    engine: Engine, small_config: SimulationConfig
) -> None:
    factory = make_session_factory(engine)
    result = seed_demo(factory, seed=7, progress=False, config=small_config)
    expected = simulate(7, config=small_config)
    assert result["skipped"] is False
    assert result["products"] == len(expected.catalog.products)
    assert result["events"] == len(expected.events)
    assert result["seconds"] >= 0
    with session_scope(factory) as session:
        stats = db_stats(session)
        assert stats["products"] == result["products"]
        assert stats["shoppers"] == small_config.shoppers
        assert stats["events"] == len(expected.events)
        assert stats["orders"] == len(expected.orders)
        assert stats["offers"] == result["offers"] >= 5
        assert set(stats["category_names"]) >= {"手机", "运动鞋", "奶粉", "床上用品"}
        # What the other layers read back is what was generated.
        shoes = search_products(session, category="运动鞋", size="42", limit=5)
        assert shoes and all("42" in p.attributes["size"] for p in shoes)
        first = expected.events[-1]
        latest = recent_events(session, first.shopper_id, limit=1)[0]
        assert (latest.type, latest.product_id, latest.ts) == (
            first.type,
            first.product_id,
            first.ts,
        )
        no_consent = session.scalars(select(Shopper).where(Shopper.consent.is_(False))).first()
        assert no_consent is not None and no_consent.gender is None and no_consent.age_band is None


def test_seed_refuses_a_database_with_data_and_if_empty_skips(
    sqlite_engine: Engine, small_config: SimulationConfig
) -> None:
    factory = make_session_factory(sqlite_engine)
    config = small_config.scaled(shoppers=40, products=60)
    seed_demo(factory, progress=False, config=config)
    with pytest.raises(StoreNotEmptyError, match="already holds store data"):
        seed_demo(factory, progress=False, config=config)
    skipped = seed_demo(factory, progress=False, config=config, if_empty=True)
    assert skipped["skipped"] is True and skipped["existing"]["events"] > 0
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Shopper)) == 40


def test_seed_is_all_or_nothing(
    engine: Engine, small_config: SimulationConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = seed_module.build_offers

    def broken_offers(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        offers = real(*args, **kwargs)
        offers[-1]["amount"] = -5  # violates the amount > 0 check: fails on the last table
        return offers

    monkeypatch.setattr(seed_module, "build_offers", broken_offers)
    factory = make_session_factory(engine)
    config = small_config.scaled(shoppers=40, products=60)
    with pytest.raises(Exception, match="(?i)check|constraint"):
        seed_demo(factory, progress=False, config=config)
    with factory() as session:
        for model in (Product, Shopper, Event, Offer):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    # Nothing half-written stands in the way of a clean retry.
    monkeypatch.setattr(seed_module, "build_offers", real)
    assert seed_demo(factory, progress=False, config=config)["products"] >= 40


def test_cli_seed_demo_creates_schema_and_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    args = ["seed-demo", "--no-progress", "--shoppers", "30", "--products", "50", "--seed", "3"]
    assert main(args) == 0
    assert "seeded" in capsys.readouterr().out
    assert main(args) == 1
    assert "already holds store data" in capsys.readouterr().err
    assert main([*args, "--if-empty"]) == 0
    assert "nothing seeded" in capsys.readouterr().out
    assert main(["seed-demo", "--shoppers", "0"]) == 1
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Shopper)).scalar_one() == 30
    finally:
        engine.dispose()
