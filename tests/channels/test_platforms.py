"""Slack through Rasa's connector, configured from the environment, against the running server.

(Telegram and Facebook call their platform's API before or while answering, which this network
cannot reach; their card fallback is the same wrapper, tested in test_cards.py.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import requests

from tests.channels.conftest import SLACK_SIGNING_SECRET, Server

pytestmark = pytest.mark.slow


def slack_post(server: Server, payload: dict, secret: str = SLACK_SIGNING_SECRET):
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    return requests.post(
        f"{server.url}/webhooks/slack/webhook",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
        },
        timeout=10,
    )


def message(user: str, text: str) -> dict:
    return {
        "type": "event_callback",
        "authorizations": [{"user_id": "UBOT"}],
        "event": {
            "type": "message",
            "channel_type": "im",
            "text": text,
            "user": user,
            "channel": "D123",
            "ts": "1.0",
        },
    }


def wait_seen(server: Server, user: str, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = [
            m
            for m in requests.get(f"{server.url}/test/seen", timeout=10).json()
            if m["sender"] == user
        ]
        if seen:
            return seen
        time.sleep(0.2)
    return []


def test_signed_slack_message_reaches_the_bot_with_cards_as_text(channel_server: Server) -> None:
    resp = slack_post(channel_server, message("U42", "想买跑鞋"))
    assert resp.status_code == 200, resp.text
    assert wait_seen(channel_server, "U42") == [
        {"sender": "U42", "text": "想买跑鞋", "channel": "slack"}
    ]
    outputs = requests.get(f"{channel_server.url}/test/outputs", timeout=10).json()
    assert outputs["U42"] == "CardsAsText(SlackBot)"


def test_badly_signed_slack_message_is_rejected(channel_server: Server) -> None:
    resp = slack_post(channel_server, message("U666", "偷偷下单"), secret="guessed")
    assert resp.status_code == 400
    assert wait_seen(channel_server, "U666", timeout=1.0) == []
