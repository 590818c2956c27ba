"""freeze_startup_heap: start-up objects leave the collector's walks; later garbage is still
collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from shopbot.heap import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_start_up_objects_are_frozen_and_new_cycles_still_collected(unfrozen: None) -> None:
    loaded = [Node() for _ in range(10_000)]  # what a server loads once
    assert freeze_startup_heap("test") >= len(loaded)
    a, b = Node(), Node()
    a.other, b.other = b, a  # garbage made by a request, only reclaimable by the collector
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
    assert all(isinstance(n, Node) for n in loaded)
