"""The processes `shopbot run` supervises: Rasa, the action server and the storefront."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from shopbot.config import PROJECT_ROOT

BIN = Path(sys.executable).parent
LOGGING_CONFIG = str(PROJECT_ROOT / "shopbot" / "logging.yml")


@dataclass
class Service:
    name: str
    argv: list[str]
    port: int
    host: str = "127.0.0.1"
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 180.0
    process: subprocess.Popen | None = None

    def start(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / f"{self.name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.process = subprocess.Popen(
            self.argv,
            cwd=PROJECT_ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode}")
            if port_open(self.host, self.port):
                return
            time.sleep(0.3)
        raise RuntimeError(
            f"{self.name} did not open {self.host}:{self.port} in {self.ready_timeout:.0f}s"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def action_server(port: int = 5055) -> Service:
    # rasa-sdk binds 0.0.0.0 unless SANIC_HOST says otherwise; actions must stay on loopback.
    return Service(
        "actions",
        [
            str(BIN / "python"),
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "-p",
            str(port),
            "--logging-config_file",
            LOGGING_CONFIG,
        ],
        port,
        # Warm-up loads the recommender at start, so the first shopper does not wait for it.
        env={"SANIC_HOST": "127.0.0.1", "SHOPBOT_WARM_ACTIONS": "1"},
    )


def rasa_server(
    model: Path,
    *,
    port: int = 5005,
    host: str = "127.0.0.1",
    token: str,
    endpoints: str = "bot/endpoints.yml",
    credentials: str = "bot/credentials.yml",
    cors: str = "*",
) -> Service:
    return Service(
        "rasa",
        [
            str(BIN / "rasa"),
            "run",
            "--model",
            str(model),
            "--enable-api",
            "--auth-token",
            token,
            "--cors",
            cors,
            "--interface",
            host,
            "--port",
            str(port),
            "--endpoints",
            endpoints,
            "--credentials",
            credentials,
            # The same redacting log config as the action server: no typed phone number or ID
            # reaches Rasa's log even at DEBUG.
            "--logging-config-file",
            LOGGING_CONFIG,
        ],
        port,
        host=host,
    )


def storefront(port: int = 8000, host: str = "127.0.0.1", rasa_url: str | None = None) -> Service:
    return Service(
        "storefront",
        [str(BIN / "python"), "-m", "shopbot.web", "--host", host, "--port", str(port)],
        port,
        host=host,
        env={"SHOPBOT_RASA_URL": rasa_url} if rasa_url else {},
        ready_timeout=60,
    )


def credential_variables(path: str | Path) -> list[str]:
    """The `${VAR}` names a credentials file uses; Rasa refuses to start if one is undefined."""
    text = (PROJECT_ROOT / path).read_text(encoding="utf-8")
    return sorted(set(re.findall(r"\$\{(\w+)\}", text)))


def default_credentials_env(path: str | Path = "bot/credentials.yml") -> None:
    """Undefined platform secrets become empty, which leaves that channel disabled (503)."""
    for name in credential_variables(path):
        os.environ.setdefault(name, "")
