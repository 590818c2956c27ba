"""The REST webhook at /webhooks/rest/webhook, with Bearer-token authentication.

Rasa's stock RestInput accepts anyone. This channel keeps its path and reply format (a JSON list
of bot messages, each with `custom` payloads intact) and adds, in this order:
401 for a missing or wrong token, 413 for an oversized body, 400 for malformed JSON or a missing
`sender`/`message` and 415 for a body that is not declared as JSON — each as a JSON error with the reason, before the bot is ever involved.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.turns import (
    close_action_server_clients,
    guarded_turn,
    limit_action_server_wait,
    warm_up,
)

log = logging.getLogger(__name__)

TOKENS_ENV = "SHOPBOT_REST_TOKENS"
DEFAULT_MAX_BODY = 16 * 1024
MAX_SENDER_CHARS = 128
MAX_MESSAGE_CHARS = 2000


class RequestRejected(Exception):
    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason

    def as_response(self) -> HTTPResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="shopbot"'} if self.status == 401 else None
        return response.json(
            {"error": self.error, "reason": self.reason}, status=self.status, headers=headers
        )


def parse_tokens(raw: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (raw or "").split(",") if t.strip())


class AuthenticatedRestInput(RestInput):
    """Drop-in replacement for the `rest` channel that requires `Authorization: Bearer <token>`."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        raw = credentials.get("tokens")
        if raw is None:
            raw = os.environ.get(TOKENS_ENV, "")
        return cls(
            tokens=parse_tokens(raw if isinstance(raw, str) else ",".join(map(str, raw))),
            max_body_bytes=int(credentials.get("max_body_bytes") or DEFAULT_MAX_BODY),
        )

    def __init__(
        self, tokens: tuple[str, ...] = (), max_body_bytes: int = DEFAULT_MAX_BODY
    ) -> None:
        self.tokens = tuple(t.encode("utf-8") for t in tokens)
        self.max_body_bytes = max_body_bytes
        if not self.tokens:
            log.warning(
                "REST webhook has no tokens (%s is empty): every request gets 401", TOKENS_ENV
            )

    # --- checks, in the order a caller needs to hear about them --------------------------------

    def authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise RequestRejected(
                401, "unauthorized", "missing Authorization: Bearer <token> header"
            )
        if scheme.lower() != "bearer" or not token.strip():
            raise RequestRejected(401, "unauthorized", "Authorization must be 'Bearer <token>'")
        given = token.strip().encode("utf-8")
        # Compare against every token without stopping early, so timing reveals nothing.
        matched = False
        for known in self.tokens:
            matched |= hmac.compare_digest(given, known)
        if not matched:
            raise RequestRejected(401, "unauthorized", "invalid token")

    def parse(self, request: Request) -> tuple[str, str, dict[str, Any] | None]:
        body = request.body or b""
        media_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise RequestRejected(
                415,
                "unsupported_media_type",
                f"Content-Type must be application/json, not {media_type or 'missing'}",
            )
        if len(body) > self.max_body_bytes:
            raise RequestRejected(
                413,
                "payload_too_large",
                f"body is {len(body)} bytes; the limit is {self.max_body_bytes}",
            )
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestRejected(400, "bad_request", f"malformed JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RequestRejected(400, "bad_request", "the body must be a JSON object")
        sender = data.get("sender")
        if sender is None or sender == "":
            raise RequestRejected(400, "bad_request", "missing 'sender'")
        if not isinstance(sender, str | int) or isinstance(sender, bool):
            raise RequestRejected(400, "bad_request", "'sender' must be a string")
        sender = str(sender)
        if len(sender) > MAX_SENDER_CHARS:
            raise RequestRejected(400, "bad_request", f"'sender' is longer than {MAX_SENDER_CHARS}")
        message = data.get("message")
        if message is None:
            raise RequestRejected(400, "bad_request", "missing 'message'")
        if not isinstance(message, str):
            raise RequestRejected(400, "bad_request", "'message' must be a string")
        if not message.strip():
            raise RequestRejected(400, "bad_request", "'message' is empty")
        if len(message) > MAX_MESSAGE_CHARS:
            raise RequestRejected(
                400, "bad_request", f"'message' is longer than {MAX_MESSAGE_CHARS}"
            )
        metadata = data.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise RequestRejected(400, "bad_request", "'metadata' must be an object")
        return sender, message, metadata

    # --- routes --------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("authenticated_rest_webhook", __name__)
        limit_action_server_wait()
        bp.listener("after_server_start")(warm_up)
        bp.listener("after_server_stop")(close_action_server_clients)

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "auth": "bearer"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                self.authenticate(request)
                sender, text, metadata = self.parse(request)
            except RequestRejected as rejected:
                return rejected.as_response()
            collector = CollectingOutputChannel()

            async def say(text: str) -> None:
                collector.messages.append({"recipient_id": sender, "text": text})

            try:
                await guarded_turn(
                    on_new_message(
                        UserMessage(
                            text, collector, sender, input_channel=self.name(), metadata=metadata
                        )
                    ),
                    messages_sent=lambda: len(collector.messages),
                    say=say,
                )
            except Exception:  # noqa: BLE001 - the caller gets a clear answer, the log the trace
                log.exception("REST message from %s failed", sender)
                if not collector.messages:
                    return response.json(
                        {
                            "error": "unavailable",
                            "reason": "the assistant could not answer; retry later",
                        },
                        status=503,
                    )
            return response.json(list(collector.messages))

        return bp
