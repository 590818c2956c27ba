"""Simulation parameters, read from data/store/simulation.yml."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shopbot.demo.vocabulary import STORE_DIR, read_yaml

SIMULATION_PATH = STORE_DIR / "simulation.yml"
PRODUCTS_PATH = STORE_DIR / "products.yml"


@dataclass(frozen=True)
class SimulationConfig:
    seed: int
    end: datetime
    weeks: int
    holdout_days: int
    products: int
    shoppers: int
    sessions_per_shopper: float
    consent_rate: float
    new_shopper_share: float
    arrivals: dict[str, float]
    out_of_stock_share: float
    funnel: dict[str, float]
    dwell: dict[str, float]
    accessories: dict[str, float]
    consumables: dict[str, float]
    repurchase: dict[str, float]
    novelty: dict[str, float]
    carts: int
    fulfilment: dict[str, float]
    channels: dict[str, float]
    demographics: dict[str, Any]
    audience: dict[str, dict[str, float]]

    @property
    def start(self) -> datetime:
        return self.end - timedelta(weeks=self.weeks)

    @property
    def holdout_start(self) -> datetime:
        return self.end - timedelta(days=self.holdout_days)

    def scaled(self, **changes: Any) -> SimulationConfig:
        """A copy with some parameters changed (tests run a small store)."""
        return dataclasses.replace(self, **changes)


def load_simulation_config(path: Path | None = None) -> SimulationConfig:
    path = Path(path) if path else SIMULATION_PATH
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    names = {f.name for f in dataclasses.fields(SimulationConfig)}
    missing = names - set(raw)
    unknown = set(raw) - names
    if missing or unknown:
        raise ValueError(f"{path}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    end = raw["end"]
    if isinstance(end, str):
        end = datetime.fromisoformat(end)
    if not isinstance(end, datetime):
        raise ValueError(f"{path}: 'end' must be a date and time")
    raw["end"] = end.replace(tzinfo=None)
    return SimulationConfig(**raw)


def load_product_spec(path: Path | None = None) -> dict[str, Any]:
    path = Path(path) if path else PRODUCTS_PATH
    raw = read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("categories"), dict):
        raise ValueError(f"{path}: expected 'categories' mapping")
    return raw
