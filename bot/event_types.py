"""Event classes looked up by name once, not by walking every subclass of Event per event.

Rasa turns each stored or received event back into an object through `Event.resolve_by_type`,
which lists all subclasses of Event (recursively, with an `inspect.isabstract` check each) and
compares names, for every single event. A turn reads the whole conversation from the tracker
store and parses the action server's answers, so py-spy put 9% of Rasa's busy time under chat
load in that walk. Here a name found once is remembered; an unknown name still takes Rasa's own
path (a class imported later is found then, and an unknown name raises Rasa's error).
"""

from __future__ import annotations

import functools
from typing import Any

_known: dict[str, Any] = {}


def install() -> None:
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    if getattr(original, "_shopbot_cached", False):
        return

    @functools.wraps(original)
    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        found = _known.get(type_name)
        if found is not None:
            return found
        # Rasa's own answer for anything not met yet: the class, the default, or its error.
        found = original(type_name, default)
        if found is not None and found is not default:
            _known[type_name] = found
        return found

    resolve_by_type._shopbot_cached = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]
