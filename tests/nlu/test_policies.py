"""StateCachedTEDPolicy answers from memory exactly what TED's model answers (slow: CI model)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.policies import StateCachedTEDPolicy

pytestmark = pytest.mark.slow

# Conversations as (user text, action the bot ran, slots it set) per turn.
CONVERSATIONS = [
    [("想买双跑鞋 500以内", "action_search_products", {"category": "运动鞋", "price_max": 500.0})],
    [
        (
            "想买双跑鞋 500以内",
            "action_search_products",
            {"category": "运动鞋", "price_max": 500.0},
        ),
        ("便宜点的", "action_search_products", {"price_max": 380.0}),
        ("第二个怎么样", "action_product_detail", {}),
    ],
    [
        ("推荐个降噪耳机", "action_search_products", {"category": "耳机"}),
        ("第一个加入购物车", "action_add_to_cart", {}),
        ("看看购物车", "action_view_cart", {}),
    ],
    [("你好", "utter_greet", {}), ("谢谢", "utter_thank", {})],
]


def _nodes(agent: Any) -> dict[str, Any]:
    return {
        name: node._component
        for name, node in agent.processor.graph_runner._instantiated_nodes.items()
    }


def _trackers(agent: Any) -> list[DialogueStateTracker]:
    """Every state a TED prediction meets in the conversations: after each user message and
    after each action."""
    trackers = []
    for number, turns in enumerate(CONVERSATIONS):
        events: list[Any] = [ActionExecuted(ACTION_LISTEN_NAME)]
        for text, action, slots in turns:
            parsed = asyncio.run(agent.parse_message(text))
            events.append(UserUttered(text, parsed["intent"], parsed["entities"], parsed))
            trackers.append(_tracker(agent, f"c{number}", events))
            events += [ActionExecuted(action), *(SlotSet(k, v) for k, v in slots.items())]
            trackers.append(_tracker(agent, f"c{number}", events))
            events.append(ActionExecuted(ACTION_LISTEN_NAME))
    return trackers


def _tracker(agent: Any, sender: str, events: list[Any]) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, list(events), slots=agent.domain.slots)


def test_remembered_predictions_equal_the_models(agent: Any, monkeypatch) -> None:
    nodes = _nodes(agent)
    ted = next(c for c in nodes.values() if isinstance(c, StateCachedTEDPolicy))
    rule_only = next(c for n, c in nodes.items() if n == "rule_only_data_provider").provide()
    domain = agent.domain
    trackers = _trackers(agent)
    ted._remembered.clear()

    fresh = [
        TEDPolicy.predict_action_probabilities(ted, t, domain, rule_only).probabilities
        for t in trackers
    ]
    first = [ted.predict_action_probabilities(t, domain, rule_only) for t in trackers]
    assert [p.probabilities for p in first] == fresh
    misses = ted.cache_misses
    # Distinct conversation states get distinct answers, not one remembered for all.
    assert misses >= 6 and len({tuple(p) for p in fresh}) >= 6

    def no_model(*_: Any, **__: Any) -> Any:
        raise AssertionError("TED ran its model for a state it had already answered")

    monkeypatch.setattr(ted.model, "run_inference", no_model)
    again = [ted.predict_action_probabilities(t, domain, rule_only) for t in trackers]
    assert [p.probabilities for p in again] == fresh
    assert ted.cache_misses == misses and ted.cache_hits >= len(trackers)
    assert all(p.policy_name == first[0].policy_name for p in again)


def test_the_served_model_uses_the_remembering_policy(agent: Any) -> None:
    ted = [c for c in _nodes(agent).values() if isinstance(c, TEDPolicy)]
    assert len(ted) == 1 and isinstance(ted[0], StateCachedTEDPolicy)
    tracker = _trackers(agent)[0]
    before = ted[0].cache_hits + ted[0].cache_misses
    assert agent.predict_next_with_tracker(tracker)["policy"]
    assert ted[0].cache_hits + ted[0].cache_misses == before + 1
