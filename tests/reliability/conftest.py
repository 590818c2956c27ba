"""A production-shaped stack for fault and hostile-input tests.

Two `rasa run` processes (the trained CI model, our channels) share a PostgreSQL tracker store in
a database of their own and a Redis lock store; the action server sits behind a TCP proxy the
tests can cut or stall; the commerce data is a small SQLite shop. Command lines are the ones
`shopbot run --scaled 2` uses (shopbot/services.py).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shopbot import services
from shopbot.config import PROJECT_ROOT
from shopbot.db.engine import make_engine
from tests.channels import catalogue
from tests.channels.conftest import RASA_TOKEN, REST_TOKENS, Server, channel_env, free_port
from tests.conftest import PG_URL, _pg_unreachable_reason
from tests.support.tcp_proxy import TcpProxy

# Short limits so the fault tests finish quickly; production defaults are 10 s and 20 s.
TURN_TIMEOUT = 4.0
ACTION_TIMEOUT = 6.0


def postgres_or_skip() -> None:
    reason = _pg_unreachable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
        pytest.skip(reason)


def redis_or_skip() -> None:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at 127.0.0.1:6379: {exc}")
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379: {exc}")


class Stack:
    def __init__(self, tmp: Path, model: Path, db_url: str, tracker_url: str) -> None:
        self.tmp, self.model, self.db_url, self.tracker_url = tmp, model, db_url, tracker_url
        self.actions_port = free_port()
        self.proxy = TcpProxy("127.0.0.1", self.actions_port)
        self.actions: Server | None = None
        self.rasa: list[Server] = []
        self.rasa_ports = [free_port(), free_port()]
        self.starts = [0, 0]
        self.endpoints = tmp / "endpoints.yml"
        self.endpoints.write_text(
            yaml.safe_dump(
                {
                    # Rasa reaches the action server through the proxy, so a test can break it.
                    "action_endpoint": {"url": f"http://127.0.0.1:{self.proxy.port}/webhook"},
                    "tracker_store": {"type": "bot.tracker_store.ShopTrackerStore"},
                    "lock_store": {
                        "type": "bot.lock_store.AtomicRedisLockStore",
                        "url": "127.0.0.1",
                        "port": 6379,
                        "db": 2,
                        "key_prefix": f"shopbottest{uuid.uuid4().hex[:8]}",
                    },
                }
            ),
            encoding="utf-8",
        )
        self.common = {
            "DATABASE_URL": db_url,
            "SHOPBOT_VAR_DIR": str(tmp),
            "SHOPBOT_ARTIFACTS": str(tmp / "artifacts"),
            "TRACKER_STORE_URL": tracker_url,
            "SHOPBOT_TURN_TIMEOUT": str(TURN_TIMEOUT),
            "SHOPBOT_ACTION_TIMEOUT": str(ACTION_TIMEOUT),
        }

    # --- processes -------------------------------------------------------------------------

    def start_actions(self) -> Server:
        cmd = services.action_server(self.actions_port)
        self.actions = Server(
            "actions", cmd.argv, {**self.common, **cmd.env}, self.tmp, self.actions_port
        ).wait(120)
        return self.actions

    def start_extra_actions(self, db_url: str) -> Server:
        """Another action server on a free port, for the shop in `db_url`; the caller stops it."""
        port = free_port()
        cmd = services.action_server(port)
        var = self.tmp / f"actions-{port}"
        env = {
            **self.common,
            **cmd.env,
            "DATABASE_URL": db_url,
            "SHOPBOT_VAR_DIR": str(var),
            "SHOPBOT_ARTIFACTS": str(var / "artifacts"),
        }
        return Server(f"actions-{port}", cmd.argv, env, self.tmp, port).wait(120)

    def stop_actions(self) -> None:
        if self.actions is not None:
            self.actions.stop()
            self.actions = None

    def start_rasa(self, index: int) -> Server:
        port = self.rasa_ports[index]
        cmd = services.rasa_server(
            self.model, port=port, token=RASA_TOKEN, endpoints=str(self.endpoints)
        )
        env = {**self.common, **channel_env(), "PYTHONPATH": str(PROJECT_ROOT)}
        # A restarted process logs to a file of its own, so the first run's log is kept.
        self.starts[index] += 1
        name = f"rasa-{index + 1}" + (
            f"-restart{self.starts[index] - 1}" if self.starts[index] > 1 else ""
        )
        server = Server(name, cmd.argv, env, self.tmp, port)
        while len(self.rasa) <= index:
            self.rasa.append(server)
        self.rasa[index] = server
        return server

    def stop_rasa(self, index: int) -> None:
        self.rasa[index].stop()

    def stop(self) -> None:
        for server in self.rasa:
            server.stop()
        self.stop_actions()
        self.proxy.close()

    # --- talking to it ---------------------------------------------------------------------

    def say(
        self, sender: str, message: str, *, via: int = 0, timeout: float = 60
    ) -> requests.Response:
        return requests.post(
            f"{self.rasa[via].url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            headers={"Authorization": f"Bearer {REST_TOKENS[0]}"},
            timeout=timeout,
        )

    def tracker_events(self, sender: str, via: int = 0) -> list[dict[str, Any]]:
        resp = requests.get(
            f"{self.rasa[via].url}/conversations/{sender}/tracker",
            params={"token": RASA_TOKEN, "include_events": "ALL"},
            timeout=30,
        )
        resp.raise_for_status()
        return list(resp.json()["events"])

    def logs(self) -> str:
        """Every log line the stack wrote (whole files, not the tail the Server keeps)."""
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace") for path in self.tmp.glob("*.log")
        )


def texts_of(resp: requests.Response) -> str:
    return "\n".join(m.get("text") or "" for m in resp.json())


def products_of(resp: requests.Response) -> list[dict[str, Any]]:
    for message in resp.json():
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("type") == "products":
            return list(custom["items"])
    return []


def user_texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in events if e.get("event") == "user"]


@pytest.fixture(scope="session")
def tracker_database() -> Iterator[str]:
    """A PostgreSQL database of its own for the tracker store, dropped afterwards."""
    postgres_or_skip()
    name = f"shopbot_rel_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(make_url(PG_URL).set(database=name))
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, tracker_database: str) -> Iterator[Stack]:
    redis_or_skip()
    from bot.training import train_rasa

    model = train_rasa(fast=True)
    tmp = tmp_path_factory.mktemp("reliability")
    db_url = catalogue.build(tmp / "shop.db")
    stack = Stack(tmp, model, db_url, tracker_database)
    try:
        stack.start_actions()
        for i in range(2):
            stack.start_rasa(i)
        for server in stack.rasa:
            server.wait(300)
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def sender() -> str:
    return f"rel-{uuid.uuid4().hex[:12]}"


def wait_until(check: Any, timeout: float = 30.0, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)
