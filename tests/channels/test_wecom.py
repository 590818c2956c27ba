"""WeCom (encrypted) and WeChat (plaintext) callbacks against the running server.

The requests are built here from the platforms' published protocol with `cryptography` directly,
not with the channel's own helpers, so a mistake in the channel cannot cancel itself out.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wecom import Crypto, PayloadError, parse_xml
from tests.channels.conftest import AES_KEY, CORP_ID, WECHAT_TOKEN, WECOM_TOKEN, Server

pytestmark = pytest.mark.slow

KEY = base64.b64decode(AES_KEY + "=")


def sign(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, *extra])).encode()).hexdigest()


def encrypt(xml: str, receive_id: str = CORP_ID) -> str:
    body = xml.encode()
    plain = os.urandom(16) + struct.pack(">I", len(body)) + body + receive_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def decrypt(cipher_b64: str) -> tuple[str, str]:
    dec = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).decryptor()
    plain = dec.update(base64.b64decode(cipher_b64)) + dec.finalize()
    plain = plain[: -plain[-1]]
    (n,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + n].decode(), plain[20 + n :].decode()


def message_xml(
    content: str, *, user: str = "zhangsan", msg_type: str = "text", msg_id: int | None = None
) -> str:
    msg_id = msg_id or time.time_ns()
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def post_encrypted(server: Server, inner_xml: str, *, token: str = WECOM_TOKEN, **override):
    encrypted = encrypt(inner_xml)
    timestamp, nonce = str(int(time.time())), "n0nce42"
    params = {
        "msg_signature": sign(token, timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
        **override,
    }
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return requests.post(
        f"{server.url}/webhooks/wecom/webhook", params=params, data=body.encode(), timeout=20
    )


def open_reply(resp: requests.Response) -> ET.Element:
    """Check the reply envelope's signature, decrypt it, return the inner XML."""
    outer = ET.fromstring(resp.content)
    encrypted = outer.findtext("Encrypt")
    expected = sign(WECOM_TOKEN, outer.findtext("TimeStamp"), outer.findtext("Nonce"), encrypted)
    assert outer.findtext("MsgSignature") == expected
    inner, receive_id = decrypt(encrypted)
    assert receive_id == CORP_ID
    return ET.fromstring(inner)


def seen(server: Server) -> list[dict]:
    return requests.get(f"{server.url}/test/seen", timeout=10).json()


# --- WeCom, encrypted ----------------------------------------------------------------------------


def test_url_verification_returns_the_decrypted_echo(channel_server: Server) -> None:
    echo = encrypt("echo-1234567890")
    timestamp, nonce = str(int(time.time())), "abc"
    resp = requests.get(
        f"{channel_server.url}/webhooks/wecom/webhook",
        params={
            "msg_signature": sign(WECOM_TOKEN, timestamp, nonce, echo),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echo,
        },
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.text == "echo-1234567890"


def test_url_verification_with_a_bad_signature_is_refused(channel_server: Server) -> None:
    echo = encrypt("echo-x")
    timestamp = str(int(time.time()))
    resp = requests.get(
        f"{channel_server.url}/webhooks/wecom/webhook",
        params={
            "msg_signature": sign("not-the-token", timestamp, "abc", echo),
            "timestamp": timestamp,
            "nonce": "abc",
            "echostr": echo,
        },
        timeout=10,
    )
    assert resp.status_code == 403
    assert "echo-x" not in resp.text


def test_signed_text_message_gets_an_encrypted_news_reply(channel_server: Server) -> None:
    resp = post_encrypted(channel_server, message_xml("想买跑鞋", user="lisi"))
    assert resp.status_code == 200, resp.text
    reply = open_reply(resp)
    assert reply.findtext("ToUserName") == "lisi"
    assert reply.findtext("MsgType") == "news"
    assert reply.findtext("ArticleCount") == "1"
    article = reply.find("Articles/item")
    assert article.findtext("Title") == "轻跑 透气跑步鞋 ¥299"
    assert article.findtext("Url") == "https://shop.example.com/#/p/shoe-001"
    assert article.findtext("PicUrl") == "https://shop.example.com/images/products/shoe-001.svg"
    # The bot's text and the card's reason and offer all survive the one-reply limit.
    description = article.findtext("Description")
    assert "echo: 想买跑鞋" in description
    assert "下单立减20元" in description
    assert {"sender": "lisi", "text": "想买跑鞋", "channel": "wecom"} in seen(channel_server)


@pytest.mark.parametrize(
    "override",
    [
        {"msg_signature": "0" * 40},
        {"timestamp": str(int(time.time()) - 3600)},  # signed for another moment
        {"nonce": "other-nonce"},
        {"msg_signature": ""},
    ],
)
def test_bad_signatures_are_rejected_before_the_bot(channel_server: Server, override) -> None:
    user = f"mallory{len(str(override))}"
    resp = post_encrypted(channel_server, message_xml("偷偷下单", user=user), **override)
    assert resp.status_code == 403
    assert "signature" in resp.json()["error"]
    assert all(m["sender"] != user for m in seen(channel_server))


def test_stale_but_correctly_signed_request_is_refused(channel_server: Server) -> None:
    encrypted = encrypt(message_xml("旧消息重放", user="replayer"))
    timestamp, nonce = str(int(time.time()) - 3600), "old"
    resp = requests.post(
        f"{channel_server.url}/webhooks/wecom/webhook",
        params={
            "msg_signature": sign(WECOM_TOKEN, timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        },
        data=f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode(),
        timeout=10,
    )
    assert resp.status_code == 403


def test_plaintext_message_is_refused_when_a_key_is_configured(channel_server: Server) -> None:
    timestamp, nonce = str(int(time.time())), "pn"
    resp = requests.post(
        f"{channel_server.url}/webhooks/wecom/webhook",
        params={
            "signature": sign(WECOM_TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        },
        data=message_xml("明文").encode(),
        timeout=10,
    )
    assert resp.status_code == 403


def test_message_for_another_corp_is_rejected(channel_server: Server) -> None:
    encrypted = encrypt(message_xml("hi"), receive_id="ww-someone-else")
    timestamp, nonce = str(int(time.time())), "x1"
    resp = requests.post(
        f"{channel_server.url}/webhooks/wecom/webhook",
        params={
            "msg_signature": sign(WECOM_TOKEN, timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        },
        data=f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode(),
        timeout=10,
    )
    assert resp.status_code == 400
    assert "another receiver" in resp.json()["error"]


def test_image_message_gets_the_plain_text_fallback(channel_server: Server) -> None:
    resp = post_encrypted(channel_server, message_xml("", msg_type="image"))
    reply = open_reply(resp)
    assert reply.findtext("MsgType") == "text"
    assert "文字消息" in reply.findtext("Content")


def test_xml_with_a_dtd_is_refused(channel_server: Server) -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    resp = requests.post(
        f"{channel_server.url}/webhooks/wecom/webhook",
        params={"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "n"},
        data=bomb.encode(),
        timeout=10,
    )
    assert resp.status_code == 400


def test_platform_retry_of_a_message_asks_the_bot_once(channel_server: Server) -> None:
    xml = message_xml("重试的消息", user="retry-user", msg_id=424242)
    first = open_reply(post_encrypted(channel_server, xml))
    second = open_reply(post_encrypted(channel_server, xml))
    assert first.findtext("Articles/item/Title") == second.findtext("Articles/item/Title")
    asked = [m for m in seen(channel_server) if m["sender"] == "retry-user"]
    assert len(asked) == 1
    post_encrypted(channel_server, message_xml("新消息", user="retry-user", msg_id=424243))
    assert len([m for m in seen(channel_server) if m["sender"] == "retry-user"]) == 2


# --- WeChat official account, plaintext --------------------------------------------------------


def test_wechat_plaintext_signed_message_gets_a_reply(channel_server: Server) -> None:
    timestamp, nonce = str(int(time.time())), "wx1"
    resp = requests.post(
        f"{channel_server.url}/webhooks/wechat/webhook",
        params={
            "signature": sign(WECHAT_TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        },
        data=message_xml("你好", user="openid-1").encode(),
        timeout=10,
    )
    assert resp.status_code == 200
    reply = ET.fromstring(resp.content)
    assert reply.findtext("ToUserName") == "openid-1"
    assert reply.findtext("MsgType") == "news"
    assert {"sender": "openid-1", "text": "你好", "channel": "wechat"} in seen(channel_server)


def test_wechat_url_verification(channel_server: Server) -> None:
    timestamp, nonce = str(int(time.time())), "wx2"
    params = {"timestamp": timestamp, "nonce": nonce, "echostr": "7788"}
    good = requests.get(
        f"{channel_server.url}/webhooks/wechat/webhook",
        params={**params, "signature": sign(WECHAT_TOKEN, timestamp, nonce)},
        timeout=10,
    )
    bad = requests.get(
        f"{channel_server.url}/webhooks/wechat/webhook",
        params={**params, "signature": sign("guess", timestamp, nonce)},
        timeout=10,
    )
    assert (good.status_code, good.text) == (200, "7788")
    assert bad.status_code == 403


def test_wechat_bad_signature_is_refused(channel_server: Server) -> None:
    timestamp = str(int(time.time()))
    resp = requests.post(
        f"{channel_server.url}/webhooks/wechat/webhook",
        params={"signature": sign("guess", timestamp, "n"), "timestamp": timestamp, "nonce": "n"},
        data=message_xml("你好", user="openid-evil").encode(),
        timeout=10,
    )
    assert resp.status_code == 403
    assert all(m["sender"] != "openid-evil" for m in seen(channel_server))


# --- the envelope itself -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "a", "中文消息" * 50, "x" * 31, "y" * 32])
def test_channel_crypto_interoperates_with_the_reference(text: str) -> None:
    crypto = Crypto.from_encoding_key(AES_KEY, CORP_ID)
    assert decrypt(crypto.encrypt(text)) == (text, CORP_ID)
    assert crypto.decrypt(encrypt(text)) == text


def test_tampered_ciphertext_is_a_payload_error_not_a_crash() -> None:
    crypto = Crypto.from_encoding_key(AES_KEY, CORP_ID)
    raw = bytearray(base64.b64decode(encrypt("hello")))
    raw[-1] ^= 0xFF
    with pytest.raises(PayloadError):
        crypto.decrypt(base64.b64encode(bytes(raw)).decode())
    with pytest.raises(PayloadError):
        crypto.decrypt("not base64 !!")


def test_cdata_terminator_in_text_cannot_break_out() -> None:
    from bot.channels.wecom import text_reply

    xml = text_reply("u", "me", "a]]><MsgType>news</MsgType>b", 0)
    parsed = parse_xml(xml)
    assert parsed["MsgType"] == "text"
    assert parsed["Content"] == "a]]><MsgType>news</MsgType>b"
