"""WeCom (企业微信) and WeChat official account (微信公众号) callback channel.

Both platforms POST XML to our URL with a SHA-1 signature over (token, timestamp, nonce[, body
ciphertext]) sorted and concatenated:
- plaintext mode (公众号 明文模式): `signature` = sha1(token, timestamp, nonce), XML in the clear;
- encrypted mode (企业微信, 公众号 安全模式): `msg_signature` = sha1(token, timestamp, nonce, Encrypt),
  the message AES-256-CBC encrypted with key = base64(EncodingAESKey + "="), IV = key[:16],
  PKCS#7 padded to 32 bytes; plaintext = 16 random bytes + 4-byte length + XML + receive id.
A request with a bad or missing signature is rejected (403) before anything is parsed further.

The platform allows one passive reply per message, so every bot message of the turn is folded
into it: product cards become a news (图文) reply, everything else a text reply.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.cards import absolute, as_text, item_url, offer_line, public_base_url

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
# Replay protection: the platform signs a timestamp; older requests are refused.
MAX_SKEW_SECONDS = 300
MAX_ARTICLES = 8
# Replies kept for answering the platform's retries of the same message.
MAX_REMEMBERED = 1000
NOT_TEXT_REPLY = "暂时只能看懂文字消息哦～可以直接告诉我想买什么，比如「500以内的跑鞋」。"


class SignatureError(Exception):
    pass


class PayloadError(Exception):
    pass


def signature(token: str, timestamp: str, nonce: str, encrypted: str | None = None) -> str:
    parts = [token, timestamp, nonce] + ([encrypted] if encrypted is not None else [])
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Crypto:
    """The platforms' AES-CBC message envelope."""

    key: bytes
    receive_id: str

    @classmethod
    def from_encoding_key(cls, encoding_aes_key: str, receive_id: str) -> Crypto:
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        return cls(base64.b64decode(encoding_aes_key + "="), receive_id)

    def encrypt(self, text: str, *, random: bytes | None = None) -> str:
        body = text.encode("utf-8")
        plain = (random or secrets.token_bytes(16)) + struct.pack(">I", len(body)) + body
        plain += self.receive_id.encode("utf-8")
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            raw = base64.b64decode(ciphertext, validate=True)
        except ValueError:
            raise PayloadError("ciphertext is not base64") from None
        if not raw or len(raw) % 16:
            raise PayloadError("ciphertext has a bad length")
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = dec.update(raw) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= 32 or len(plain) < 20 + pad:
            raise PayloadError("bad padding")
        plain = plain[:-pad]
        (length,) = struct.unpack(">I", plain[16:20])
        body, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if self.receive_id and receive_id.decode("utf-8", "replace") != self.receive_id:
            raise PayloadError("message is for another receiver")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("message is not UTF-8") from None


def parse_xml(data: bytes | str) -> dict[str, str]:
    """Flat <xml><Tag>value</Tag>...</xml> to a dict; DTDs and entities are refused outright."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise PayloadError("DTDs are not allowed")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise PayloadError(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise PayloadError("root element must be <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def _cdata(value: str) -> str:
    # A literal "]]>" in text would end the section early: split it across two sections.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, text: str, now: int) -> str:
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}"
        f"</FromUserName><CreateTime>{now}</CreateTime><MsgType>{_cdata('text')}</MsgType>"
        f"<Content>{_cdata(text)}</Content></xml>"
    )


def news_reply(to_user: str, from_user: str, articles: list[dict[str, str]], now: int) -> str:
    items = "".join(
        f"<item><Title>{_cdata(a['title'])}</Title><Description>{_cdata(a.get('description', ''))}"
        f"</Description><PicUrl>{_cdata(a.get('picurl', ''))}</PicUrl>"
        f"<Url>{_cdata(a.get('url', ''))}</Url></item>"
        for a in articles[:MAX_ARTICLES]
    )
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}"
        f"</FromUserName><CreateTime>{now}</CreateTime><MsgType>{_cdata('news')}</MsgType>"
        f"<ArticleCount>{min(len(articles), MAX_ARTICLES)}</ArticleCount>"
        f"<Articles>{items}</Articles></xml>"
    )


def fold_messages(
    messages: list[dict[str, Any]], base: str | None = None
) -> tuple[str, list[dict[str, str]]]:
    """All of a turn's bot messages as (text, news articles)."""
    base = base or public_base_url()
    texts: list[str] = []
    articles: list[dict[str, str]] = []
    for message in messages:
        custom = message.get("custom")
        cards = isinstance(custom, dict) and custom.get("type") == "products"
        if message.get("text"):
            # With cards, the text's list duplicates the articles: keep its intro line only.
            text = str(message["text"])
            texts.append(text.split("\n", 1)[0] if cards else text)
        buttons = message.get("buttons") or []
        if buttons and not cards:
            texts.append(
                " / ".join(str(b.get("title", "")) for b in buttons if isinstance(b, dict))
            )
        if cards:
            for item in custom.get("items") or []:
                if not isinstance(item, dict):
                    continue
                price = item.get("price")
                title = (
                    f"{item.get('title', '')} ¥{float(price):.0f}"
                    if price is not None
                    else str(item.get("title", ""))
                )
                description = "；".join(
                    x for x in (item.get("reason"), offer_line(item.get("offer"))) if x
                )
                articles.append(
                    {
                        "title": title,
                        "description": description,
                        "picurl": absolute(item.get("image"), base) or "",
                        "url": item_url(item, base) or "",
                    }
                )
            if custom.get("text"):
                texts.append(str(custom["text"]))
        elif not message.get("text"):
            text = as_text(custom, base)
            if text:
                texts.append(text)
    return "\n".join(t for t in texts if t), articles


class WeComInput(InputChannel):
    """Callback URL: /webhooks/wecom/webhook (GET for URL verification, POST for messages)."""

    @classmethod
    def name(cls) -> str:
        return "wecom"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            token=credentials.get("token") or os.environ.get("WECOM_TOKEN", ""),
            encoding_aes_key=credentials.get("encoding_aes_key")
            or os.environ.get("WECOM_ENCODING_AES_KEY", ""),
            receive_id=credentials.get("corp_id") or os.environ.get("WECOM_CORP_ID", ""),
        )

    def __init__(self, token: str, encoding_aes_key: str = "", receive_id: str = "") -> None:
        self.token = token
        self._inflight: OrderedDict[str, asyncio.Future[str]] = OrderedDict()
        self.crypto = (
            Crypto.from_encoding_key(encoding_aes_key, receive_id) if encoding_aes_key else None
        )

    # --- verification --------------------------------------------------------------------------

    def verify(self, args: Any, encrypted: str | None) -> None:
        if not self.token:
            raise SignatureError("channel has no token configured")
        timestamp = args.get("timestamp") or ""
        nonce = args.get("nonce") or ""
        if not timestamp or not nonce:
            raise SignatureError("timestamp and nonce are required")
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            raise SignatureError("timestamp is not a number") from None
        if skew > MAX_SKEW_SECONDS:
            raise SignatureError("timestamp too old or in the future")
        given = args.get("msg_signature") if encrypted is not None else args.get("signature")
        if not given:
            raise SignatureError("signature is missing")
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
            raise SignatureError("signature does not match")

    async def _answer(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        user: str,
        account: str,
        msg: dict[str, str],
        now: int,
    ) -> str:
        """Ask the bot once and fold the turn's messages into one passive reply."""
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(
                    text[:2000],
                    collector,
                    user,
                    input_channel=self.name(),
                    message_id=msg.get("MsgId") or None,
                    metadata={"to_user": account, "agent_id": msg.get("AgentID")},
                )
            )
        except Exception:  # noqa: BLE001 - the shopper still gets a polite answer
            log.exception("%s message from %s failed", self.name(), user)
        text_out, articles = fold_messages(collector.messages)
        if articles:
            if text_out:
                articles[0]["description"] = f"{text_out}\n{articles[0]['description']}".strip()
            return news_reply(user, account, articles, now)
        if text_out:
            return text_reply(user, account, text_out, now)
        return text_reply(user, account, "抱歉，我刚才走神了，请再说一次～", now)

    def _envelope(self, xml_reply: str) -> str:
        """Encrypt a reply for encrypted mode; plaintext replies go out as they are."""
        if self.crypto is None:
            return xml_reply
        encrypted = self.crypto.encrypt(xml_reply)
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(8)
        sig = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt><MsgSignature>{_cdata(sig)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>"
        )

    # --- routes --------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint(f"{self.name()}_webhook", __name__)

        def reject(status: int, reason: str) -> HTTPResponse:
            log.warning("wecom request rejected: %s", reason)
            return response.json({"error": reason}, status=status)

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.token else "disabled"})

        @bp.route("/webhook", methods=["GET"])
        async def verify_url(request: Request) -> HTTPResponse:
            echo = request.args.get("echostr") or ""
            encrypted = echo if "msg_signature" in request.args else None
            try:
                self.verify(request.args, encrypted)
                if encrypted is not None:
                    if self.crypto is None:
                        return reject(400, "encrypted mode needs WECOM_ENCODING_AES_KEY")
                    echo = self.crypto.decrypt(echo)
            except SignatureError as exc:
                return reject(403, f"bad signature: {exc}")
            except PayloadError as exc:
                return reject(400, str(exc))
            return response.text(echo)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.body or b""
            if len(body) > MAX_BODY:
                return reject(413, f"body larger than {MAX_BODY} bytes")
            encrypted_mode = "msg_signature" in request.args
            try:
                outer = parse_xml(body)
                encrypted = outer.get("Encrypt") if encrypted_mode else None
                if encrypted_mode and not encrypted:
                    raise PayloadError("encrypted mode but no <Encrypt> element")
                if self.crypto is not None and not encrypted_mode:
                    # With a key configured, a plaintext message can only be forged or misrouted.
                    raise SignatureError("this channel only accepts encrypted messages")
                self.verify(request.args, encrypted)
                if encrypted is not None:
                    if self.crypto is None:
                        return reject(400, "encrypted mode needs WECOM_ENCODING_AES_KEY")
                    msg = parse_xml(self.crypto.decrypt(encrypted))
                else:
                    msg = outer
            except SignatureError as exc:
                return reject(403, f"bad signature: {exc}")
            except PayloadError as exc:
                return reject(400, str(exc))

            user, account = msg.get("FromUserName", ""), msg.get("ToUserName", "")
            if not user or not account:
                return reject(400, "FromUserName and ToUserName are required")
            msg_type = msg.get("MsgType", "")
            now = int(time.time())
            if msg_type == "event":
                if msg.get("Event", "").lower() != "subscribe":
                    return response.text("success")
                text = "/greet"
            elif msg_type == "text":
                text = msg.get("Content", "").strip()
                if not text:
                    return response.text("success")
            else:
                reply = text_reply(user, account, NOT_TEXT_REPLY, now)
                return response.text(self._envelope(reply), content_type="application/xml")

            # The platform retries a message it got no answer to within 5 s, with the same MsgId:
            # a retry waits for the first delivery's reply instead of asking the bot twice.
            key = f"{user}:{msg.get('MsgId') or msg.get('CreateTime') or text}"
            task = self._inflight.get(key)
            if task is None:
                task = asyncio.ensure_future(
                    self._answer(on_new_message, text, user, account, msg, now)
                )
                self._inflight[key] = task
                while len(self._inflight) > MAX_REMEMBERED:
                    self._inflight.popitem(last=False)
            reply = await asyncio.shield(task)
            return response.text(self._envelope(reply), content_type="application/xml")

        return bp


class WeChatInput(WeComInput):
    """WeChat official account (公众号): same protocol; plaintext mode unless a key is set.

    Secrets from WECHAT_TOKEN, WECHAT_ENCODING_AES_KEY and WECHAT_APP_ID.
    Callback URL: /webhooks/wechat/webhook.
    """

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            token=credentials.get("token") or os.environ.get("WECHAT_TOKEN", ""),
            encoding_aes_key=credentials.get("encoding_aes_key")
            or os.environ.get("WECHAT_ENCODING_AES_KEY", ""),
            receive_id=credentials.get("app_id") or os.environ.get("WECHAT_APP_ID", ""),
        )
