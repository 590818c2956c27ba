"""`make run`'s preparation step, on a small database: trains what is missing, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopbot.config import Settings


def test_latest_artifacts_follows_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender.training import latest_artifacts, train_from_database
    from tests.channels import catalogue

    db_url = catalogue.build(tmp_path / "shop.db")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SHOPBOT_ARTIFACTS", str(tmp_path / "artifacts"))
    settings = Settings.from_env()
    assert latest_artifacts(settings) is None
    from shopbot.db import repo
    from shopbot.db.engine import make_engine, make_session_factory

    engine = make_engine(db_url)
    with make_session_factory(engine).begin() as s:
        for n in range(6):
            shopper = f"s{n}"
            repo.ensure_shopper(s, shopper)
            for pid in ("shoe-001", "shoe-002", "phone-001"):
                repo.record_event(s, shopper, "view", product_id=pid)
            repo.record_event(s, shopper, "purchase", product_id="shoe-001")
    engine.dispose()
    train_from_database(settings, progress=False)
    found = latest_artifacts(settings)
    assert found is not None and (found / "manifest.json").exists()


def test_run_prepare_imports_resolve() -> None:
    # prepare() imports lazily; a renamed function must fail here, not when an operator runs it.
    from bot.training import train_rasa  # noqa: F401
    from recommender.training import latest_artifacts, train_from_database  # noqa: F401
    from shopbot.demo.seed import seed_demo  # noqa: F401


def test_run_refuses_to_start_with_broken_store_terms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from shopbot.commands.run import check_store_policies
    from shopbot.errors import CommandError
    from shopbot.policies import POLICIES_PATH

    terms = yaml.safe_load(POLICIES_PATH.read_text(encoding="utf-8"))
    terms["returns"]["no_reason_days"] = "七天"
    path = tmp_path / "policies.yml"
    path.write_text(yaml.safe_dump(terms, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("SHOPBOT_POLICIES", str(path))
    with pytest.raises(CommandError, match="policies.yml.returns.no_reason_days: expected a whole"):
        check_store_policies()
    monkeypatch.delenv("SHOPBOT_POLICIES")
    check_store_policies()  # the shipped terms are fine
