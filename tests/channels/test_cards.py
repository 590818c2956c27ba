"""Product cards on channels that cannot show them: text + links, and nothing lost."""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.cards import CardsAsText, degrade_cards, flatten
from bot.channels.wecom import fold_messages

BASE = "https://shop.example.com"
ITEMS = [
    {
        "id": "shoe-002",
        "title": "缓震 专业跑鞋",
        "price": 459.0,
        "list_price": 599.0,
        "image": "/images/products/shoe-002.svg",
        "reason": "和你看过的跑鞋相似",
        "offer": "立减20元",
    },
    {"id": "shoe 003", "title": "城市 休闲板鞋", "price": 199.0, "list_price": 199.0, "reason": ""},
]
# What the actions send: the plain-text list for card-less channels, quick replies, the cards.
PRODUCT_REPLY = {
    "text": "给你挑了这几款：\n1. 缓震 专业跑鞋 ¥459（原价¥599），立减20元\n2. 城市 休闲板鞋 ¥199",
    "buttons": [{"title": "换一批", "payload": "/refine_search"}],
    "custom": {"type": "products", "items": ITEMS, "query": {"price_max": 500}},
}


def test_products_become_text_with_prices_reasons_offers_and_links() -> None:
    out = flatten(PRODUCT_REPLY, BASE)
    assert "custom" not in out
    assert out["buttons"] == PRODUCT_REPLY["buttons"]
    lines = out["text"].split("\n")
    assert lines[0] == "给你挑了这几款："
    assert "1. 缓震 专业跑鞋 ¥459（原价¥599）" in lines
    assert "   和你看过的跑鞋相似" in lines
    assert "   🎁 立减20元" in lines
    assert f"   {BASE}/#/p/shoe-002" in lines
    assert "2. 城市 休闲板鞋 ¥199" in lines  # no fake "original price" when there is none
    assert f"   {BASE}/#/p/shoe%20003" in lines  # ids are URL-encoded
    assert out["text"].count("缓震 专业跑鞋") == 1  # the actions' list is not repeated


def test_offer_payload_keeps_the_text_and_drops_the_payload() -> None:
    out = flatten(
        {"text": "给你领了一张券🎉", "custom": {"type": "offer", "title": "t", "text": "x"}}
    )
    assert out == {"text": "给你领了一张券🎉"}
    alone = flatten({"custom": {"type": "offer", "title": "跑鞋立减20元", "text": "下单立减20元"}})
    assert alone == {"text": "🎁 跑鞋立减20元：下单立减20元"}


def test_foreign_custom_payloads_pass_through_untouched() -> None:
    message = {"custom": {"blocks": [{"type": "section"}]}}
    assert flatten(message) == message


async def test_wrapped_output_channel_sends_text_instead_of_cards() -> None:
    inner = CollectingOutputChannel()
    seen: list[Any] = []

    async def engine(message: UserMessage) -> None:
        seen.append(message.output_channel)
        await message.output_channel.send_response(message.sender_id, dict(PRODUCT_REPLY))

    await degrade_cards(engine)(UserMessage("跑鞋", inner, "tg-1"))
    assert isinstance(seen[0], CardsAsText)
    [sent] = inner.messages
    assert "custom" not in sent
    assert "/#/p/shoe-002" in sent["text"]
    assert sent["recipient_id"] == "tg-1"


def test_wecom_folds_a_turn_into_articles_without_repeating_the_list() -> None:
    text, articles = fold_messages([{"text": "你好呀"}, PRODUCT_REPLY], BASE)
    assert text == "你好呀\n给你挑了这几款："
    assert [a["title"] for a in articles] == ["缓震 专业跑鞋 ¥459", "城市 休闲板鞋 ¥199"]
    assert articles[0]["description"] == "和你看过的跑鞋相似；立减20元"
    assert articles[0]["picurl"] == f"{BASE}/images/products/shoe-002.svg"
    assert articles[1]["picurl"] == ""  # no image given: no made-up link
