"""Rasa still validates every action server answer after our channels swap in one prebuilt
validator (see bot.channels.turns): good answers pass, malformed ones fail the same way."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from bot.channels.turns import limit_action_server_wait


@pytest.fixture
def remote_action() -> Any:
    from rasa.core.actions.action import RemoteAction

    limit_action_server_wait()
    return RemoteAction("action_search_products", None)


GOOD = {
    "events": [{"event": "slot", "timestamp": None, "name": "category", "value": "运动鞋"}],
    "responses": [
        {
            "text": "给你挑了几款：",
            "custom": {"type": "products", "items": [{"id": "p1", "title": "跑鞋", "price": 399}]},
            "buttons": [{"title": "换一批", "payload": "/refine_search"}],
        }
    ],
}


def test_good_answers_pass_and_malformed_ones_are_refused(remote_action: Any) -> None:
    assert remote_action._validate_action_result(GOOD) is True
    assert remote_action._validate_action_result({}) is True  # both keys are optional
    for bad in ({"events": "not a list"}, {"events": [{"no": "event key"}]}, {"responses": {}}):
        with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
            remote_action._validate_action_result(bad)


def test_the_schema_is_not_rechecked_on_every_answer(
    remote_action: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("metaschema check on the request path")

    # jsonschema.validate() checks the schema first; the prebuilt validator must not.
    for cls in (
        jsonschema.Draft4Validator,
        jsonschema.Draft7Validator,
        jsonschema.Draft202012Validator,
    ):
        monkeypatch.setattr(cls, "check_schema", classmethod(refuse))
    for _ in range(3):
        assert remote_action._validate_action_result(GOOD) is True
    # Installing twice keeps one wrapper.
    limit_action_server_wait()
    assert remote_action._validate_action_result(GOOD) is True
