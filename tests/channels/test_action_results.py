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


async def test_action_calls_reuse_one_connection_keep_the_text_and_survive_a_restart() -> None:
    # Rasa opened a new HTTP client and TCP connection for each of a turn's two action calls.
    from aiohttp import web
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot.channels.turns import close_action_server_clients

    peers: list[object] = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        body = await request.json()
        said = f"{body['next_action']} {body['tracker']['latest_message']['text']}"
        return web.json_response({"events": [], "responses": [{"text": said}]})

    async def serve() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        return runner, port

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    limit_action_server_wait()
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    domain = Domain.empty()
    nlg = TemplatedNaturalLanguageGenerator({})

    async def call() -> str:
        out = CollectingOutputChannel()
        action = RemoteAction("action_search_products", endpoint)
        tracker = DialogueStateTracker("alice", [])
        tracker.update(UserUttered("想买跑鞋 / 500以内 😀"))
        events = await action.run(out, nlg, tracker, domain)
        return events[0].text

    runner, _ = await serve()
    try:
        assert [await call() for _ in range(5)] == [
            "action_search_products 想买跑鞋 / 500以内 😀"
        ] * 5
        assert len(set(peers)) == 1  # five calls, one connection
    finally:
        await runner.cleanup()
    # The action server restarts: the pooled connection is gone, the next call still works.
    runner, _ = await serve()
    try:
        assert await call() == "action_search_products 想买跑鞋 / 500以内 😀"
        assert len(set(peers)) == 2
    finally:
        await runner.cleanup()
        await close_action_server_clients()
