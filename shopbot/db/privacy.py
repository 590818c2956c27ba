"""Redaction of personal data typed into chat before it is logged or stored."""

from __future__ import annotations

import re

# Order matters: the 18-digit ID number must be matched before the 11-digit phone pattern eats part of it.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"), "[身份证号]"),
    # Typed in groups: 110101 19900307 1234.
    (re.compile(r"(?<!\d)\d{6}[ -]\d{8}[ -]\d{3}[\dXx](?!\d)"), "[身份证号]"),
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"), "[手机号]"),
    (re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)"), "[电话]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[邮箱]"),
    (
        re.compile(
            r"[\u4e00-\u9fa5]{2,}(?:省|市|区|县)[\u4e00-\u9fa5\d]*(?:路|街|道|巷|号|弄|村)[\u4e00-\u9fa5\d\-]*(?:号|室|楼|单元)?"
        ),
        "[地址]",
    ),
    # A street and number without the city in front: 建国路88号, 中关村大街27号院3号楼.
    (
        re.compile(
            r"[\u4e00-\u9fa5]{1,8}(?:路|街|大道|巷|弄|胡同)\d+(?:-\d+)?号"
            r"(?:[\u4e00-\u9fa5\d\-]{0,8}?(?:院|楼|室|单元|层))*"
        ),
        "[地址]",
    ),
]


def redact(text: str | None) -> str | None:
    """Mask phone numbers, ID numbers, e-mail addresses and street addresses."""
    if not text:
        return text
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
    return text
