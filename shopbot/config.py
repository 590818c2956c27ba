"""Runtime settings, read from the environment (and `.env`) when asked for, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load_dotenv(path: Path | None = None) -> None:
    """Fill os.environ from a `.env` file without overriding what is already set."""
    path = path or PROJECT_ROOT / ".env"
    if not path.exists():
        return
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    artifacts_dir: Path

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = Path(os.environ.get("SHOPBOT_VAR_DIR", PROJECT_ROOT / "var"))
        default_db = f"sqlite:///{var_dir / 'shopbot.db'}"
        return cls(
            database_url=os.environ.get("DATABASE_URL", default_db),
            var_dir=var_dir,
            artifacts_dir=Path(os.environ.get("SHOPBOT_ARTIFACTS", var_dir / "artifacts")),
        )
