"""The store's service terms (shipping, delivery, returns, warranty, invoices, payment).

They live in `data/store/policies.yml` so that an operator edits terms, not code. Loading checks
every field and names the one that is wrong, and `make run` loads them before starting anything,
so a typo stops the start instead of reaching a shopper as a wrong promise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from shopbot.demo.vocabulary import STORE_DIR

POLICIES_PATH = STORE_DIR / "policies.yml"


class PolicyError(ValueError):
    """policies.yml is malformed: the message names the field and the reason."""


@dataclass(frozen=True)
class Shipping:
    free_over: float
    fee: float
    remote_fee: float
    remote_regions: tuple[str, ...]


@dataclass(frozen=True)
class Delivery:
    ships_from: tuple[str, ...]
    dispatch_hours: int
    same_day_cutoff: str
    carriers: tuple[str, ...]
    days: str
    remote_days: str
    address_change: str


@dataclass(frozen=True)
class Returns:
    no_reason_days: int
    exchange_days: int
    refund_days: str
    return_shipping: str
    # category -> what kind of goods it is, in the shopper's words (零食 -> 食品)
    no_reason_excluded: Mapping[str, str]


@dataclass(frozen=True)
class Warranty:
    months: Mapping[str, int]
    quality_exchange_days: int


@dataclass(frozen=True)
class Invoice:
    kinds: tuple[str, ...]
    issue_days: str


@dataclass(frozen=True)
class Installments:
    min_total: float
    periods: tuple[int, ...]
    interest_free_periods: tuple[int, ...]


@dataclass(frozen=True)
class Payment:
    methods: tuple[str, ...]
    cash_on_delivery: bool
    installments: Installments


@dataclass(frozen=True)
class StorePolicies:
    shipping: Shipping
    delivery: Delivery
    returns: Returns
    warranty: Warranty
    invoice: Invoice
    payment: Payment
    authenticity: str

    def categories(self) -> set[str]:
        """Every category the terms name, to check against the catalogue."""
        return set(self.returns.no_reason_excluded) | set(self.warranty.months)


class _Reader:
    """Typed access to one section; every failure names `section.field`."""

    def __init__(self, raw: Any, path: str) -> None:
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{path}: expected a mapping, got {type(raw).__name__}")
        self.raw, self.path = raw, path

    def _get(self, key: str) -> Any:
        if key not in self.raw or self.raw[key] is None:
            raise PolicyError(f"{self.path}.{key}: missing")
        return self.raw[key]

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise PolicyError(f"{self.path}.{key}: expected a number >= 0, got {value!r}")
        return float(value)

    def count(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise PolicyError(f"{self.path}.{key}: expected a whole number > 0, got {value!r}")
        return value

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str | int) or not str(value).strip():
            raise PolicyError(f"{self.path}.{key}: expected text, got {value!r}")
        return str(value).strip()

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise PolicyError(f"{self.path}.{key}: expected a non-empty list of text")
        return tuple(value)

    def counts(self, key: str, *, empty: bool = False) -> tuple[int, ...]:
        value = self._get(key)
        ok = isinstance(value, list) and (empty or value)
        if not ok or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        ):
            raise PolicyError(f"{self.path}.{key}: expected a list of whole numbers > 0")
        return tuple(value)

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise PolicyError(f"{self.path}.{key}: expected true or false, got {value!r}")
        return value

    def section(self, key: str) -> _Reader:
        return _Reader(self._get(key), f"{self.path}.{key}")

    def table(self, key: str, kind: type) -> dict[str, Any]:
        reader = self.section(key)
        out: dict[str, Any] = {}
        for name in reader.raw:
            out[str(name)] = reader.count(name) if kind is int else reader.text(name)
        return out


def parse_policies(raw: Any, source: str = "policies.yml") -> StorePolicies:
    top = _Reader(raw, source)
    ship, deliver = top.section("shipping"), top.section("delivery")
    returns, warranty = top.section("returns"), top.section("warranty")
    invoice, payment = top.section("invoice"), top.section("payment")
    plans = payment.section("installments")
    policies = StorePolicies(
        shipping=Shipping(
            free_over=ship.number("free_over"),
            fee=ship.number("fee"),
            remote_fee=ship.number("remote_fee"),
            remote_regions=ship.texts("remote_regions"),
        ),
        delivery=Delivery(
            ships_from=deliver.texts("ships_from"),
            dispatch_hours=deliver.count("dispatch_hours"),
            same_day_cutoff=deliver.text("same_day_cutoff"),
            carriers=deliver.texts("carriers"),
            days=deliver.text("days"),
            remote_days=deliver.text("remote_days"),
            address_change=deliver.text("address_change"),
        ),
        returns=Returns(
            no_reason_days=returns.count("no_reason_days"),
            exchange_days=returns.count("exchange_days"),
            refund_days=returns.text("refund_days"),
            return_shipping=returns.text("return_shipping"),
            no_reason_excluded=returns.table("no_reason_excluded", str),
        ),
        warranty=Warranty(
            months=warranty.table("months", int),
            quality_exchange_days=warranty.count("quality_exchange_days"),
        ),
        invoice=Invoice(kinds=invoice.texts("kinds"), issue_days=invoice.text("issue_days")),
        payment=Payment(
            methods=payment.texts("methods"),
            cash_on_delivery=payment.flag("cash_on_delivery"),
            installments=Installments(
                min_total=plans.number("min_total"),
                periods=plans.counts("periods"),
                interest_free_periods=plans.counts("interest_free_periods", empty=True),
            ),
        ),
        authenticity=top.section("authenticity").text("promise"),
    )
    free = set(policies.payment.installments.interest_free_periods)
    if not free <= set(policies.payment.installments.periods):
        raise PolicyError(
            f"{source}.payment.installments.interest_free_periods: {sorted(free)} are not all "
            "offered in periods"
        )
    return policies


def load_policies(path: Path = POLICIES_PATH) -> StorePolicies:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot be read: {exc}") from exc
    return parse_policies(raw, path.name)


def policies_path() -> Path:
    """SHOPBOT_POLICIES names the operator's own terms file; the demo store's by default."""
    return Path(os.environ.get("SHOPBOT_POLICIES") or POLICIES_PATH)


@lru_cache(maxsize=1)
def store_policies() -> StorePolicies:
    """The store's terms, read once per process."""
    return load_policies(policies_path())


def warranty_period(months: int) -> str:
    """12 -> 1年, 18 -> 18个月."""
    return f"{months // 12}年" if months % 12 == 0 else f"{months}个月"


def service_badges(policies: StorePolicies, category: str, price: float) -> list[str]:
    """What the store promises for one product, as the product page lists it."""
    badges = [
        "包邮"
        if price >= policies.shipping.free_over
        else f"满¥{policies.shipping.free_over:g}包邮"
    ]
    r = policies.returns
    if category in r.no_reason_excluded:
        badges.append("拆封后不支持无理由退货")
    else:
        badges.append(f"{r.no_reason_days}天无理由退货")
    months = policies.warranty.months.get(category)
    if months:
        badges.append(f"保修{warranty_period(months)}")
    badges.append("正品保障")
    return badges
