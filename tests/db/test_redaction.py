"""Personal data typed into chat never reaches logs or stored event text."""

from __future__ import annotations

import io
import logging
import logging.config
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from shopbot.db.privacy import redact

LOGGING_YML = Path(__file__).resolve().parents[2] / "shopbot" / "logging.yml"


def test_redact_masks_each_kind_of_personal_data() -> None:
    text = "送到浙江省杭州市西湖区文三路100号3单元 电话138-1234-5678 身份证33010619900101123X 邮箱a.b@qq.com 要两双42码"
    out = redact(text)
    for secret in ("文三路100号", "138-1234-5678", "33010619900101123X", "a.b@qq.com"):
        assert secret not in out
    assert "要两双42码" in out  # shopping details stay


def test_prices_sizes_and_model_numbers_are_not_mistaken_for_personal_data() -> None:
    for text in (
        "预算3000",
        "iPhone 15 Pro 256GB",
        "1000到2000",
        "尺码42",
        "Mate60",
        "20000mAh充电宝",
    ):
        assert redact(text) == text


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.text(alphabet="想买手机耳机", max_size=8))
def test_any_mobile_number_is_masked(phone: str, words: str) -> None:
    assert phone not in redact(f"{words}我的手机号{phone}{words}")


def test_log_records_are_redacted_by_the_shipped_logging_config() -> None:
    config = yaml.safe_load(LOGGING_YML.read_text())
    stream = io.StringIO()
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        logging.getLogger("rasa.core.processor").info(
            "Received user message '%s'", "我电话13912345678"
        )
        try:
            raise ValueError("address 北京市朝阳区建国路88号")
        except ValueError:
            logging.getLogger("x").exception("failed")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    output = stream.getvalue()
    assert "13912345678" not in output and "[手机号]" in output
    assert "建国路88号" not in output and "[地址]" in output


def test_streets_without_a_city_and_grouped_id_numbers_are_masked() -> None:
    for text, secret in (
        ("寄到建国路88号", "建国路88号"),
        ("我住中关村大街27号院3号楼", "27号院3号楼"),
        ("身份证 110101 19900307 1234", "19900307"),
    ):
        assert secret not in redact(text), text
    for text in ("我不知道3号能不能到", "想买42号的跑鞋", "南京路步行街的店有货吗"):
        assert redact(text) == text
