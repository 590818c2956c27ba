"""Creates `.env` from `.env.example`, filling placeholders with fresh random secrets."""

from __future__ import annotations

import secrets
from pathlib import Path

from shopbot.config import PROJECT_ROOT

PLACEHOLDER = "__generate__"


def ensure_env_file(root: Path = PROJECT_ROOT) -> tuple[Path, bool]:
    """Return (path, created). An existing .env is never overwritten."""
    target = root / ".env"
    if target.exists():
        return target, False
    lines = []
    for line in (root / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.endswith("=" + PLACEHOLDER):
            line = line[: -len(PLACEHOLDER)] + secrets.token_urlsafe(24)
        lines.append(line)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target.chmod(0o600)
    return target, True
