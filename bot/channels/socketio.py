"""The storefront widget's Socket.IO channel (python-socketio 5 server, socket.io-client 4).

Differs from Rasa's SocketIOInput in what reaches the browser: each bot message is emitted whole
(text, buttons and the `custom` product payload together). The stock output passes a custom
payload to `sio.emit(**payload)` as keyword arguments, which breaks on any payload that is not
shaped like emit's parameters — ours is {"type": "products", "items": [...]}.

The session id the client asks for in `session_request` is the shopper id the page keeps in
localStorage; it becomes the Rasa sender id and the room the bot (and proactive offers sent via
`trigger_intent?output_channel=socketio`) emits to.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.turns import (
    SILENT_TEXT,
    close_action_server_clients,
    guarded_turn,
    limit_action_server_wait,
    warm_up,
)

log = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
MAX_MESSAGE_CHARS = 2000


class ShopSocketIOOutput(OutputChannel):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def __init__(self, sio: AsyncServer, bot_message_evt: str, namespace: str | None) -> None:
        self.sio = sio
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.sent = 0

    async def _emit(self, room: str, message: dict[str, Any]) -> None:
        self.sent += 1
        await self.sio.emit(self.bot_message_evt, message, room=room, namespace=self.namespace)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        payload = {k: v for k, v in message.items() if k != "recipient_id" and v not in (None, [])}
        if payload:
            await self._emit(recipient_id, payload)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._emit(recipient_id, {"text": text})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._emit(recipient_id, {"text": text, "buttons": buttons})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._emit(recipient_id, {"image": image})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._emit(recipient_id, {"custom": json_message})

    async def send_attachment(  # type: ignore[override]
        self, recipient_id: str, attachment: Any, **kwargs: Any
    ) -> None:
        await self._emit(recipient_id, {"attachment": attachment})

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._emit(recipient_id, {"elements": list(elements)})


class ShopSocketIOInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        origins = credentials.get("cors_allowed_origins") or []
        if isinstance(origins, str):
            origins = [o.strip() for o in origins.split(",") if o.strip()]
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            namespace=credentials.get("namespace"),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            cors_allowed_origins=list(origins),
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str | None = None,
        socketio_path: str = "/socket.io",
        cors_allowed_origins: list[str] | None = None,
    ) -> None:
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.socketio_path = socketio_path
        # An empty list leaves origin checks to Rasa's --cors; a list pins the storefront origin.
        self.cors_allowed_origins = cors_allowed_origins or []
        self.sio: AsyncServer | None = None

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return None
        return ShopSocketIOOutput(self.sio, self.bot_message_evt, self.namespace)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.cors_allowed_origins)
        self.sio = sio
        bp = SocketBlueprint(sio, self.socketio_path, "shop_socketio_webhook", __name__)
        limit_action_server_wait()
        bp.listener("after_server_start")(warm_up)
        bp.listener("after_server_stop")(close_action_server_clients)
        sessions: dict[str, str] = {}  # socket id -> session (shopper) id

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, _environ: dict, _auth: Any = None) -> bool:
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            sessions.pop(sid, None)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            wanted = data.get("session_id") if isinstance(data, dict) else None
            session_id = wanted if isinstance(wanted, str) and SESSION_ID.match(wanted) else None
            session_id = session_id or uuid.uuid4().hex
            old = sessions.get(sid)
            if old and old != session_id:
                await sio.leave_room(sid, old, namespace=self.namespace)
            sessions[sid] = session_id
            await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            session_id = sessions.get(sid)
            if session_id is None:
                await sio.emit(
                    self.bot_message_evt,
                    {"text": "连接还没准备好，请稍等一下再发～"},
                    room=sid,
                    namespace=self.namespace,
                )
                return
            text = data.get("message") if isinstance(data, dict) else None
            if not isinstance(text, str) or not text.strip():
                return
            if len(text) > MAX_MESSAGE_CHARS:
                await sio.emit(
                    self.bot_message_evt,
                    {"text": f"消息有点长啦，请控制在{MAX_MESSAGE_CHARS}字以内～"},
                    room=sid,
                    namespace=self.namespace,
                )
                return
            metadata = data.get("metadata") if isinstance(data, dict) else None
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = None
            output = ShopSocketIOOutput(sio, self.bot_message_evt, self.namespace)
            message = UserMessage(
                text,
                output,
                session_id,
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else None,
            )

            async def say(reply: str) -> None:
                await output.send_text_message(session_id, reply)

            try:
                await guarded_turn(
                    on_new_message(message), messages_sent=lambda: output.sent, say=say
                )
            except Exception:  # noqa: BLE001 - the shopper hears an apology, the log the trace
                log.exception("Socket.IO message from %s failed", session_id)
                if output.sent == 0:
                    await say(SILENT_TEXT)

        return bp
