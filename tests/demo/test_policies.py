"""data/store/policies.yml: the store's terms load, name real categories, and typos are caught."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from shopbot.demo.vocabulary import load_vocabulary
from shopbot.policies import POLICIES_PATH, PolicyError, load_policies, parse_policies


def raw() -> dict[str, Any]:
    return yaml.safe_load(POLICIES_PATH.read_text(encoding="utf-8"))


def test_the_shipped_terms_load() -> None:
    policies = load_policies()
    assert policies.shipping.free_over == 99
    assert policies.returns.no_reason_days == 7
    assert set(policies.payment.installments.interest_free_periods) <= set(
        policies.payment.installments.periods
    )


def test_every_category_the_terms_name_is_in_the_catalogue() -> None:
    assert load_policies().categories() <= set(load_vocabulary().categories)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["shipping"].pop("free_over"), "policies.yml.shipping.free_over: missing"),
        (lambda d: d["shipping"].update(fee=-8), "policies.yml.shipping.fee: expected a number"),
        (lambda d: d["delivery"].update(carriers=[]), "policies.yml.delivery.carriers"),
        (
            lambda d: d["warranty"]["months"].update({"手机": "一年"}),
            "policies.yml.warranty.months.手机: expected a whole number",
        ),
        (
            lambda d: d["payment"].update(cash_on_delivery="no"),
            "policies.yml.payment.cash_on_delivery: expected true or false",
        ),
        (
            lambda d: d["payment"]["installments"].update(interest_free_periods=[24]),
            "interest_free_periods: [24] are not all offered",
        ),
        (lambda d: d.pop("authenticity"), "policies.yml.authenticity: missing"),
    ],
)
def test_a_wrong_field_is_named(edit: Any, message: str) -> None:
    data = copy.deepcopy(raw())
    edit(data)
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_policies(data)


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "policies.yml"
    path.write_text("shipping: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyError, match="policies.yml: cannot be read"):
        load_policies(path)
