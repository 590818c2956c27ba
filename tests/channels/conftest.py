"""Real servers for the channel tests: each runs as its own process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopbot.config import PROJECT_ROOT
from tests.channels import catalogue

AES_KEY = "k" * 42 + "A"  # any 43 characters of the base64 alphabet
CORP_ID = "ww-test-corp"
WECOM_TOKEN = "wecom-test-token"
WECHAT_TOKEN = "wechat-test-token"
REST_TOKENS = ("rest-token-one", "rest-token-two")
RASA_TOKEN = "rasa-api-test-token"

SLACK_SIGNING_SECRET = "slack-test-signing-secret"
# Slack is configured in the channel server (to test it); Telegram and Facebook are left empty.
PLATFORM_VARS = (
    "TELEGRAM_ACCESS_TOKEN",
    "TELEGRAM_VERIFY",
    "TELEGRAM_WEBHOOK_URL",
    "FACEBOOK_VERIFY",
    "FACEBOOK_SECRET",
    "FACEBOOK_PAGE_ACCESS_TOKEN",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A child process serving HTTP on 127.0.0.1:port; its output goes to a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log_dir: Path,
        port: int | None = None,
    ) -> None:
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, timeout: float = 90.0) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()}")
            with socket.socket() as sock:
                sock.settimeout(0.3)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def channel_env() -> dict[str, str]:
    env = {name: "" for name in PLATFORM_VARS}
    env.update(
        SHOPBOT_REST_TOKENS=",".join(REST_TOKENS),
        WECOM_TOKEN=WECOM_TOKEN,
        WECOM_ENCODING_AES_KEY=AES_KEY,
        WECOM_CORP_ID=CORP_ID,
        WECHAT_TOKEN=WECHAT_TOKEN,
        WECHAT_ENCODING_AES_KEY="",
        WECHAT_APP_ID="",
        SHOPBOT_PUBLIC_URL="https://shop.example.com",
        SLACK_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SLACK_SIGNING_SECRET,
    )
    return env


@pytest.fixture(scope="session")
def channel_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Rasa's Sanic app with every channel from bot/credentials.yml (see channel_server.py)."""
    logs = tmp_path_factory.mktemp("channel-server")
    server = Server(
        "channel-server",
        [sys.executable, "-m", "tests.channels.channel_server", "--port", "{port}"],
        channel_env(),
        logs,
    )
    try:
        yield server.wait()
    finally:
        server.stop()


@pytest.fixture
def shop_db(tmp_path: Path) -> str:
    return catalogue.build(tmp_path / "shop.db")


def storefront_env(db_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "SHOPBOT_VAR_DIR": str(var_dir),
        "SHOPBOT_ARTIFACTS": str(var_dir / "artifacts"),
        "RASA_AUTH_TOKEN": RASA_TOKEN,
        **extra,
    }


def start_storefront(db_url: str, var_dir: Path, **extra: str) -> Server:
    return Server(
        "storefront",
        [sys.executable, "-m", "shopbot.web", "--host", "127.0.0.1", "--port", "{port}"],
        storefront_env(db_url, var_dir, **extra),
        var_dir,
    ).wait()


@pytest.fixture
def storefront(shop_db: str, tmp_path: Path) -> Iterator[Server]:
    server = start_storefront(shop_db, tmp_path)
    try:
        yield server
    finally:
        server.stop()
