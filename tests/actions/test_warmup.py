"""The action server's warm-up builds what the first shopper would otherwise wait for."""

from __future__ import annotations

import actions
from actions import attributes
from actions.runtime import Runtime
from shopbot import heap


def test_warm_up_builds_the_attribute_matcher(shop: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Built on the first product question instead, it took ~10 s: past the turn timeout, so
    # the first 第二个多少钱 after a restart was answered "still checking".
    monkeypatch.setattr(attributes, "_matchers", {})
    frozen: list[str] = []
    # The real freeze would keep this test process's heap out of collection for good.
    monkeypatch.setattr(heap, "freeze_startup_heap", frozen.append)
    actions._warm()
    matcher = attributes._matchers[id(shop.lexicon)][1]
    assert [m.value for m in matcher.find("有黑色吗")] == ["黑色"]
    # What the warm-up loaded is then kept out of later garbage collections.
    assert frozen == ["actions"]
