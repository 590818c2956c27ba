"""The REST webhook at /webhooks/rest/webhook, against a running Rasa Sanic server."""

from __future__ import annotations

import json

import pytest
import requests

from tests.channels.conftest import REST_TOKENS, Server

pytestmark = pytest.mark.slow


def post(server: Server, body: bytes | str | dict, token: str | None = REST_TOKENS[0], **headers):
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    data = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, dict) else body
    return requests.post(
        f"{server.url}/webhooks/rest/webhook",
        data=data,
        headers={"Content-Type": "application/json", **headers},
        timeout=20,
    )


def test_missing_token_is_401_with_json_error(channel_server: Server) -> None:
    resp = post(channel_server, {"sender": "u1", "message": "你好"}, token=None)
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthorized"
    assert "Bearer" in resp.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    ["Bearer wrong-token", f"Basic {REST_TOKENS[0]}", "Bearer", f"Bearer {REST_TOKENS[0]}x"],
)
def test_wrong_token_is_401(channel_server: Server, header: str) -> None:
    resp = post(
        channel_server, {"sender": "u1", "message": "你好"}, token=None, Authorization=header
    )
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthorized"


def test_rejected_requests_never_reach_the_bot(channel_server: Server) -> None:
    post(channel_server, {"sender": "intruder", "message": "偷看"}, token="bad")
    seen = requests.get(f"{channel_server.url}/test/seen", timeout=10).json()
    assert all(m["sender"] != "intruder" for m in seen)


@pytest.mark.parametrize("token", REST_TOKENS)
def test_each_configured_token_works_and_replies_carry_the_card(
    channel_server: Server, token: str
) -> None:
    resp = post(channel_server, {"sender": "shopper-7", "message": "想买双跑鞋"}, token=token)
    assert resp.status_code == 200, resp.text
    replies = resp.json()
    assert replies[0] == {"recipient_id": "shopper-7", "text": "echo: 想买双跑鞋"}
    card = replies[1]["custom"]
    assert card["type"] == "products"
    assert card["items"][0]["id"] == "shoe-001"
    assert card["items"][0]["price"] == 299.0
    seen = requests.get(f"{channel_server.url}/test/seen", timeout=10).json()
    assert {"sender": "shopper-7", "text": "想买双跑鞋", "channel": "rest"} in seen


def test_oversized_body_is_413(channel_server: Server) -> None:
    body = {"sender": "u1", "message": "鞋" * 10000}  # ~30 KB of UTF-8
    resp = post(channel_server, body)
    assert resp.status_code == 413
    assert resp.json()["error"] == "payload_too_large"


def test_oversized_body_without_token_is_still_401(channel_server: Server) -> None:
    resp = post(channel_server, {"sender": "u1", "message": "鞋" * 10000}, token=None)
    assert resp.status_code == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"sender": "u1", "message": ', "malformed JSON"),
        (b"\xff\xfe not json", "malformed JSON"),
        (b'["sender", "message"]', "JSON object"),
        ({"message": "你好"}, "missing 'sender'"),
        ({"sender": "", "message": "你好"}, "missing 'sender'"),
        ({"sender": "u1"}, "missing 'message'"),
        ({"sender": "u1", "message": 42}, "'message' must be a string"),
        ({"sender": "u1", "message": "   "}, "'message' is empty"),
        ({"sender": ["u1"], "message": "hi"}, "'sender' must be a string"),
        ({"sender": "u1", "message": "hi", "metadata": "x"}, "'metadata' must be an object"),
    ],
)
def test_bad_requests_are_400_with_the_reason(
    channel_server: Server, body: bytes | dict, reason: str
) -> None:
    resp = post(channel_server, body)
    assert resp.status_code == 400
    payload = resp.json()
    assert payload["error"] == "bad_request"
    assert reason in payload["reason"]


def test_engine_failure_is_503_not_500(channel_server: Server) -> None:
    resp = post(channel_server, {"sender": "u1", "message": "boom"})
    assert resp.status_code == 503
    assert resp.json()["error"] == "unavailable"


def test_health_route_says_bearer(channel_server: Server) -> None:
    resp = requests.get(f"{channel_server.url}/webhooks/rest/", timeout=10)
    assert resp.json() == {"status": "ok", "auth": "bearer"}


def test_unconfigured_platforms_answer_503_not_crash(channel_server: Server) -> None:
    for name in ("telegram", "facebook"):
        resp = requests.post(f"{channel_server.url}/webhooks/{name}/webhook", json={}, timeout=10)
        assert resp.status_code == 503
        assert "not configured" in resp.json()["error"]
