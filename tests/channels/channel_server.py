"""A real Rasa Sanic server with our input channels, for channel tests that need no trained model.

`python -m tests.channels.channel_server --port P` loads every channel from bot/credentials.yml
through Rasa's own loader (so the file, its ${VAR}s and the class paths are what is tested) and
serves them with `rasa.core.run.configure_app`. The dialogue engine is replaced by `CardBot`, a
stand-in that answers each message with a text and a product-card payload: these tests are about
authentication, signatures, parsing and reply formats, not about understanding Chinese.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app, create_http_input_channels

CARD = {
    "type": "products",
    "items": [
        {
            "id": "shoe-001",
            "title": "轻跑 透气跑步鞋",
            "price": 299.0,
            "list_price": 399.0,
            "image": "/images/products/shoe-001.svg",
            "url": "/#/p/shoe-001",
            "reason": "和你看过的款式相近",
            "offer": {"title": "跑鞋立减20元", "text": "下单立减20元"},
        }
    ],
}


class CardBot:
    """Answers `echo: <text>` plus one product card; raises on the text "boom"."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.outputs: dict[
            str, str
        ] = {}  # sender -> output channel class, e.g. CardsAsText(SlackBot)

    async def handle_message(self, message: UserMessage) -> None:
        self.seen.append(
            {"sender": message.sender_id, "text": message.text, "channel": message.input_channel}
        )
        out = message.output_channel
        inner = getattr(out, "inner", None)
        self.outputs[message.sender_id] = type(out).__name__ + (
            f"({type(inner).__name__})" if inner is not None else ""
        )
        if message.text == "boom":
            raise RuntimeError("simulated failure inside the dialogue engine")
        await message.output_channel.send_response(
            message.sender_id, {"text": f"echo: {message.text}"}
        )
        await message.output_channel.send_response(message.sender_id, {"custom": dict(CARD)})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--credentials", default="bot/credentials.yml")
    args = parser.parse_args()
    channels = create_http_input_channels(None, args.credentials)
    app = configure_app(channels, enable_api=False, port=args.port, use_uvloop=False)
    bot = CardBot()
    app.ctx.agent = bot

    @app.get("/test/seen")
    async def seen(_request: Any) -> Any:
        from sanic import response

        return response.json(bot.seen)

    @app.get("/test/outputs")
    async def outputs(_request: Any) -> Any:
        from sanic import response

        return response.json(bot.outputs)

    asyncio.set_event_loop(asyncio.new_event_loop())
    app.run(host="127.0.0.1", port=args.port, access_log=False, motd=False, workers=1)


if __name__ == "__main__":
    main()
