"""Event classes resolved by name from memory give Rasa's answers, errors included."""

from __future__ import annotations

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.utils import common

from bot import event_types


def test_names_resolve_to_rasas_classes_without_walking_subclasses_again(monkeypatch) -> None:
    event_types.install()
    event_types.install()  # idempotent
    stored = [
        UserUttered("想买跑鞋", {"name": "search_product"}).as_dict(),
        ActionExecuted("action_search_products").as_dict(),
        BotUttered("给你找到这些").as_dict(),
        SlotSet("category", "运动鞋").as_dict(),
    ]
    first = [Event.from_parameters(e) for e in stored]
    assert [type(e) for e in first] == [UserUttered, ActionExecuted, BotUttered, SlotSet]

    def walk(*_: object) -> list:
        raise AssertionError("walked every Event subclass for a name already resolved")

    monkeypatch.setattr(common, "all_subclasses", walk)
    again = [Event.from_parameters(e) for e in stored]
    assert again == first


def test_unknown_names_keep_rasas_behaviour() -> None:
    event_types.install()
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
