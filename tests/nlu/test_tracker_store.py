"""ShopTrackerStore: SQL tracker store from TRACKER_STORE_URL that can forget a conversation."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    AllSlotsReset,
    BotUttered,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import ShopTrackerStore


@pytest.fixture
def store(tmp_path, monkeypatch) -> ShopTrackerStore:
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    return ShopTrackerStore(domain=Domain.empty())


def conversation(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, [])
    for event in (
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("想买跑鞋", {"name": "search_product"}),
        ActionExecuted("action_search_products"),
        BotUttered("按「运动鞋」给你找到这些"),
        ActionExecuted("action_listen"),
    ):
        tracker.update(event)
    return tracker


async def test_store_uses_the_url_from_the_environment(store, tmp_path) -> None:
    await store.save(conversation("alice"))
    assert (tmp_path / "tracker.db").exists()
    assert len((await store.retrieve_full_tracker("alice")).events) == 7


async def test_confirmed_forget_erases_every_event_of_that_sender_only(store) -> None:
    alice, bob = conversation("alice"), conversation("bob")
    await store.save(alice)
    await store.save(bob)
    for event in (
        UserUttered("确定", {"name": "affirm"}),
        ActionExecuted("action_forget_me"),
        BotUttered("已删除"),
        AllSlotsReset(),
        ActionExecuted("action_listen"),
    ):
        alice.update(event)
    await store.save(alice)
    assert await store.retrieve_full_tracker("alice") is None
    assert len((await store.retrieve_full_tracker("bob")).events) == 7
    # The next message starts a fresh conversation that is stored normally again.
    await store.save(conversation("alice"))
    assert len((await store.retrieve_full_tracker("alice")).events) == 7


async def test_failed_forget_keeps_history(store) -> None:
    alice = conversation("alice")
    await store.save(alice)
    alice.update(ActionExecuted("action_forget_me"))
    alice.update(BotUttered("删除没有成功"))
    alice.update(ActionExecuted("action_listen"))
    await store.save(alice)
    kept = await store.retrieve_full_tracker("alice")
    said = [getattr(e, "text", None) for e in kept.events]
    assert "想买跑鞋" in said and "删除没有成功" in said


async def test_stored_user_text_is_redacted_and_the_count_stays_right(store) -> None:
    alice = conversation("alice")
    said = "我手机号13812345678，地址北京市朝阳区建国路88号，身份证110101199003071234，想买跑鞋"
    alice.update(
        UserUttered(
            said,
            {"name": "search_product", "confidence": 0.9},
            [{"entity": "category", "value": "跑鞋", "start": 51, "end": 53}],
            parse_data={"text": said, "intent": {"name": "search_product"}, "entities": []},
        )
    )
    await store.save(alice)
    assert alice.latest_message.text == said  # the turn in memory keeps what was typed
    with store.session_scope() as session:
        rows = [r.data for r in session.query(store.SQLEvent).all()]
    stored = "\n".join(rows)
    for secret in ("13812345678", "110101199003071234", "建国路88号"):
        assert secret not in stored
    kept = await store.retrieve_full_tracker("alice")
    assert kept.latest_message.text.endswith("想买跑鞋") and "[手机号]" in kept.latest_message.text
    assert kept.latest_message.intent["name"] == "search_product"
    assert len(kept.events) == len(alice.events)  # every event stored once, none dropped


def test_embedded_sqlite_tracker_commits_through_the_write_ahead_log(tmp_path: Path) -> None:
    store = ShopTrackerStore(host=f"sqlite:///{tmp_path / 'tracker.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


async def test_turns_reuse_open_connections_of_the_embedded_database(store) -> None:
    # Opening and closing a connection per query cost Rasa a fifth of its time under chat load.
    from sqlalchemy import event

    opened: list[object] = []
    event.listen(store.engine, "connect", lambda conn, _rec: opened.append(conn))
    alice = conversation("alice")
    for turn in range(10):
        await store.retrieve("alice")
        alice.update(UserUttered(f"第{turn}个怎么样", {"name": "ask_product_detail"}))
        alice.update(ActionExecuted("action_listen"))
        await store.save(alice)
    assert len(opened) <= 1
    # Every event stored exactly once: none lost, none written twice.
    stored = (await store.retrieve_full_tracker("alice")).events
    assert [e.as_dict() for e in stored] == [e.as_dict() for e in alice.events]


async def test_a_turn_is_written_in_one_insert_in_event_order(store) -> None:
    from tests.support.sqlcount import count_statements

    alice = conversation("alice")
    await store.save(alice)
    await store.retrieve("alice")
    alice.update(UserUttered("第二个多少钱", {"name": "ask_product_detail"}))
    alice.update(ActionExecuted("action_product_detail"))
    alice.update(BotUttered("「耐克 Pegasus 跑鞋」价格¥459。"))
    alice.update(ActionExecuted("action_listen"))
    with count_statements(store.engine) as log:
        await store.save(alice)
    inserts = [s for s in log.statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1, log.summary()
    stored = (await store.retrieve_full_tracker("alice")).events
    assert [e.as_dict() for e in stored] == [e.as_dict() for e in alice.events]
