"""The small CI model, trained once per session (an unchanged tree reuses the cached model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.training import train_rasa


@pytest.fixture(scope="session")
def model() -> Path:
    return train_rasa(fast=True)


@pytest.fixture(scope="session")
def agent(model: Path) -> Any:
    from rasa.core.agent import Agent

    return Agent.load(str(model))
