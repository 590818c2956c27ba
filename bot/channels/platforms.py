"""Telegram, Slack and Facebook through Rasa's own connectors, with two changes:

- product cards and offers are sent as text + links (these platforms cannot show our cards);
- a platform whose secrets are empty in the environment is registered as *disabled* (its webhook
  answers 503) instead of failing Rasa's start-up, so one credentials.yml serves every install.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput
from rasa.core.channels.slack import SlackInput
from rasa.core.channels.telegram import TelegramInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.cards import degrade_cards

log = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]


def disabled_blueprint(channel: type[InputChannel], missing: list[str]) -> Blueprint:
    bp = Blueprint(f"{channel.name()}_disabled")
    reason = f"{channel.name()} is not configured: set {', '.join(missing)}"
    log.info("%s channel disabled (%s)", channel.name(), reason)

    @bp.route("/", methods=["GET"])
    async def health(_request: Request) -> HTTPResponse:
        return response.json({"status": "disabled", "reason": reason})

    @bp.route("/webhook", methods=["GET", "POST"])
    async def webhook(_request: Request) -> HTTPResponse:
        return response.json({"error": reason}, status=503)

    return bp


class ShopTelegramInput(TelegramInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("access_token") or "",
            credentials.get("verify") or "",
            credentials.get("webhook_url") or "",
        )

    def missing(self) -> list[str]:
        names = {"TELEGRAM_ACCESS_TOKEN": self.access_token, "TELEGRAM_VERIFY": self.verify}
        return [env for env, value in names.items() if not value]

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        if self.missing():
            return disabled_blueprint(type(self), self.missing())
        return super().blueprint(degrade_cards(on_new_message))


class ShopSlackInput(SlackInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("slack_token") or "",
            credentials.get("slack_channel") or None,
            slack_retry_reason_header=credentials.get(
                "slack_retry_reason_header", "x-slack-retry-reason"
            ),
            slack_retry_number_header=credentials.get(
                "slack_retry_number_header", "x-slack-retry-num"
            ),
            errors_ignore_retry=credentials.get("errors_ignore_retry"),
            slack_signing_secret=credentials.get("slack_signing_secret") or "",
            use_threads=bool(credentials.get("use_threads", False)),
            conversation_granularity=credentials.get("conversation_granularity", "sender"),
        )

    def _validate_credentials(self) -> None:
        # Rasa refuses an unsigned Slack bot at construction; we serve it disabled instead.
        if not self.missing():
            super()._validate_credentials()

    def missing(self) -> list[str]:
        names = {"SLACK_TOKEN": self.slack_token, "SLACK_SIGNING_SECRET": self.slack_signing_secret}
        return [env for env, value in names.items() if not value]

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        if self.missing():
            return disabled_blueprint(type(self), self.missing())
        return super().blueprint(degrade_cards(on_new_message))


class ShopFacebookInput(FacebookInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("verify") or "",
            credentials.get("secret") or "",
            credentials.get("page-access-token") or "",
        )

    def missing(self) -> list[str]:
        names = {
            "FACEBOOK_VERIFY": self.fb_verify,
            "FACEBOOK_SECRET": self.fb_secret,
            "FACEBOOK_PAGE_ACCESS_TOKEN": self.fb_access_token,
        }
        return [env for env, value in names.items() if not value]

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        if self.missing():
            return disabled_blueprint(type(self), self.missing())
        return super().blueprint(degrade_cards(on_new_message))
