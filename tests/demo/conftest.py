"""Shared demo-store fixtures: a small store for most tests, the full one where size matters."""

from __future__ import annotations

import pytest

from shopbot.demo.config import SimulationConfig, load_simulation_config
from shopbot.demo.simulator import Simulation, simulate


@pytest.fixture(scope="session")
def small_config() -> SimulationConfig:
    return load_simulation_config().scaled(shoppers=300, products=400, carts=40)


@pytest.fixture(scope="session")
def small_sim(small_config: SimulationConfig) -> Simulation:
    return simulate(7, config=small_config)


@pytest.fixture(scope="session")
def full_sim() -> Simulation:
    """The default store exactly as `shopbot seed-demo` builds it (about ten seconds)."""
    return simulate()
