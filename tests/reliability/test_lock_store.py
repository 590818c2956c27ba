"""The Redis lock store serialises one conversation's turns across processes without losing any:
threads stand in for Rasa processes, each with its own store and event loop, on the real Redis."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid

import pytest
import redis
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import AtomicRedisLockStore


@pytest.fixture()
def prefix() -> str:
    try:
        redis.StrictRedis(host="127.0.0.1", port=6379, socket_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis not reachable: {exc}")
    return f"locktest{uuid.uuid4().hex[:8]}"


def store(prefix: str) -> AtomicRedisLockStore:
    config = EndpointConfig(url="127.0.0.1", port=6379, db=3, key_prefix=prefix, type="x")
    return AtomicRedisLockStore(endpoint_config=config)


def test_turns_from_two_processes_all_run_one_at_a_time(prefix: str) -> None:
    inside: list[str] = []
    done: list[str] = []
    overlaps: list[str] = []
    errors: list[BaseException] = []

    def process(name: str, turns: int) -> None:
        lock_store = store(prefix)

        async def turn(n: int) -> None:
            async with lock_store.lock("shopper", wait_time_in_seconds=0.01):
                if inside:
                    overlaps.append(f"{name}{n}")
                inside.append(name)
                await asyncio.sleep(0.005)
                inside.pop()
                done.append(f"{name}{n}")

        async def main() -> None:
            results = await asyncio.gather(*(turn(n) for n in range(turns)), return_exceptions=True)
            errors.extend(r for r in results if isinstance(r, BaseException))

        asyncio.run(main())

    threads = [threading.Thread(target=process, args=(p, 12)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(done) == sorted(f"{p}{n}" for p in "ab" for n in range(12))
    assert overlaps == []
    # The last turn out deletes the lock: nothing is left behind in Redis.
    time.sleep(0.05)
    assert store(prefix).get_lock("shopper") is None
