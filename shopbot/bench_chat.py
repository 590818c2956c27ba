"""`shopbot bench chat`: multi-turn Chinese conversations against the authenticated REST webhook,
compared with a minimal echo Rasa bot on the same machine (the framework's floor)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.turns import SILENT_TEXT, SLOW_TEXT
from shopbot.config import PROJECT_ROOT

ECHO_BOT = PROJECT_ROOT / "bench" / "echo_bot"
DEGRADED = {SLOW_TEXT, SILENT_TEXT}

# search -> refine -> similar -> cart, with the variety real shoppers bring.
OPENERS = [
    "想买双跑鞋，500以内",
    "给我妈买件羽绒服，一千左右",
    "推荐个降噪耳机 预算800",
    "有没有华为手机 四五千的",
    "想给女朋友买支口红",
    "宝宝的纸尿裤有哪些",
    "来点零食 100块以内",
    "空气炸锅推荐一下 300以内",
    "笔记本电脑 五千到八千",
    "想买个扫地机器人 两千以内",
]
REFINES = ["便宜点的", "有黑色的吗", "换一批", "不要这个牌子", "再贵一点也行"]
FOLLOWS = ["看看第一个相似的", "第二个怎么样", "这款有优惠吗", "和它搭配的有什么"]
CLOSERS = ["第一个加入购物车", "看看购物车", "谢谢"]


def conversation(rng: random.Random, turns: int) -> list[str]:
    script = [rng.choice(OPENERS), rng.choice(REFINES), rng.choice(FOLLOWS), *CLOSERS]
    while len(script) < turns:
        script.insert(-1, rng.choice(REFINES + FOLLOWS))
    return script[:turns]


def answered(status: int, body: str) -> bool:
    """A turn counts only when the shopper got a real answer: a 200 with at least one message,
    none of them the "still on it" / "something went wrong" replies (polite, but no answer)."""
    if status != 200:
        return False
    try:
        messages = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(messages, list)
        and bool(messages)
        and not any(isinstance(m, dict) and m.get("text") in DEGRADED for m in messages)
    )


@dataclass
class LoadResult:
    target: str
    users: int
    turns: int
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else float("nan")

        return {
            "target": self.target,
            "users": self.users,
            "turns": self.turns,
            "requests": self.requests,
            "errors": self.errors,
            "throughput_rps": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "error_samples": self.error_samples[:5],
        }


async def _shopper(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict,
    sender: str,
    script: list[str],
    result: LoadResult,
    think: float = 0.0,
    rng: random.Random | None = None,
) -> None:
    for text in script:
        if think > 0:
            # Shoppers arrive at random moments, read each answer and type the next message:
            # exponential pauses with mean `think` (without it, every shopper starts at t=0).
            await asyncio.sleep((rng or random).expovariate(1.0 / think))
        started = time.perf_counter()
        try:
            async with session.post(
                url, json={"sender": sender, "message": text}, headers=headers
            ) as resp:
                body = await resp.text()
                if not answered(resp.status, body):
                    result.errors += 1
                    result.error_samples.append(f"{resp.status}: {body[:120]}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            result.errors += 1
            result.error_samples.append(f"{type(exc).__name__}: {exc}")
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.requests += 1


async def run_load(
    url: str,
    token: str | None,
    *,
    users: int,
    turns: int,
    duration: float = 0.0,
    target: str = "shopbot",
    seed: int = 0,
    think: float = 0.0,
    on_round=None,
) -> LoadResult:
    """`users` concurrent shoppers each hold `turns`-turn conversations; repeat until `duration`."""
    rng = random.Random(seed)
    # Fresh conversations every run: a sender id reused by an earlier run within the session
    # expiry would continue that conversation, and each turn would cost more than the last.
    run_id = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    result = LoadResult(target, users, turns)
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=30)
    round_no = 0
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            tasks = [
                _shopper(
                    session,
                    url,
                    headers,
                    f"bench-{run_id}-{round_no}-{u}",
                    conversation(rng, turns),
                    result,
                    think,
                    random.Random(rng.random()),
                )
                for u in range(users)
            ]
            await asyncio.gather(*tasks)
            round_no += 1
            if on_round is not None:
                on_round(round_no)
            if time.perf_counter() - started >= duration:
                break
    result.seconds = time.perf_counter() - started
    return result


# --- server memory -------------------------------------------------------------------------------


def pid_listening_on(port: int) -> int | None:
    """The pid of the process with a listening TCP socket on `port` (Linux /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# --- the echo floor and its ladder ---------------------------------------------------------------


@dataclass(frozen=True)
class Rung:
    """A minimal Rasa bot that echoes every message: the framework's floor alone (the first
    rung), then with one more part of shopbot's architecture at each rung."""

    target: str
    bot: Path
    config: str
    data: tuple[str, ...]
    endpoints: str
    credentials: str = str(ECHO_BOT / "credentials.yml")  # Rasa's own REST channel
    action_server: bool = False
    # shopbot's REST channel wants the same Bearer token as the stack under test.
    authenticated: bool = False


ECHO_ACTION_BOT = PROJECT_ROOT / "bench" / "echo_action_bot"
FLOOR = Rung("echo-floor", ECHO_BOT, "config.yml", ("data",), "endpoints.yml")
_ACTION_BOT = {
    "bot": ECHO_ACTION_BOT,
    "config": "../echo_bot/config.yml",
    "data": ("../echo_bot/data/nlu.yml", "data"),
    "action_server": True,
}
LADDER = (
    # The reply comes from a custom action on a rasa-sdk action server, called by Rasa's client.
    Rung("echo+actions", endpoints="endpoints.yml", **_ACTION_BOT),
    # ... called by shopbot's action client, behind shopbot's authenticated REST channel.
    Rung(
        "echo+actions+channel",
        endpoints="endpoints.yml",
        credentials="credentials.shopbot.yml",
        authenticated=True,
        **_ACTION_BOT,
    ),
    # ... with the conversation kept by shopbot's SQL tracker store, on SQLite.
    Rung(
        "echo+actions+channel+sql",
        endpoints="endpoints.shopbot.yml",
        credentials="credentials.shopbot.yml",
        authenticated=True,
        **_ACTION_BOT,
    ),
)
# The ladder's action server listens this far above the floor's Rasa port.
ACTIONS_PORT_OFFSET = 50


def _rasa_bin() -> str:
    return str(Path(sys.executable).parent / "rasa")


def _model(rung: Rung, out_dir: Path) -> Path:
    """The rung's trained model, trained again whenever one of its inputs changed."""
    inputs = [rung.bot / rung.config, rung.bot / "domain.yml"]
    for entry in rung.data:
        path = rung.bot / entry
        inputs.extend(sorted(path.rglob("*.yml")) if path.is_dir() else [path])
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest()[:12]
    name = f"{rung.bot.name}-{digest}"
    model = out_dir / f"{name}.tar.gz"
    if not model.exists():
        subprocess.run(
            [_rasa_bin(), "train", "--config", rung.config, "--domain", "domain.yml"]
            + ["--data", *rung.data, "--out", str(out_dir), "--fixed-model-name", name],
            cwd=rung.bot,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return model


def start_rung(rung: Rung, port: int, out_dir: Path) -> list[subprocess.Popen]:
    """Start the rung's processes (action server first); the caller terminates them."""
    env = dict(os.environ)
    env["SHOPBOT_BENCH_ACTIONS_PORT"] = str(port + ACTIONS_PORT_OFFSET)
    tracker_db = out_dir / f"{rung.target}-tracker.db"
    for stale in out_dir.glob(f"{tracker_db.name}*"):
        stale.unlink()  # each run starts with no stored conversations
    env["TRACKER_STORE_URL"] = f"sqlite:///{tracker_db}"
    model = _model(rung, out_dir)
    log = open(out_dir / f"{rung.target}.log", "ab")  # noqa: SIM115 - lives as long as the children
    procs: list[subprocess.Popen] = []
    if rung.action_server:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "rasa_sdk", "--actions", "echo_actions"]
                + ["--port", env["SHOPBOT_BENCH_ACTIONS_PORT"]],
                cwd=rung.bot,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    procs.append(
        subprocess.Popen(
            [_rasa_bin(), "run", "--model", str(model), "--port", str(port)]
            + ["--interface", "127.0.0.1", "--credentials", rung.credentials]
            + ["--endpoints", rung.endpoints],
            cwd=rung.bot,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    return procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _wait_http(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f}s")


def measure_rung(rung: Rung, port: int, token: str | None, **load: Any) -> LoadResult:
    """The same load as ours against one rung of the floor ladder."""
    out_dir = PROJECT_ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    procs = start_rung(rung, port, out_dir)
    try:
        base = f"http://127.0.0.1:{port}"
        if rung.action_server:
            asyncio.run(_wait_http(f"http://127.0.0.1:{port + ACTIONS_PORT_OFFSET}/health"))
        asyncio.run(_wait_http(base + "/"))
        return asyncio.run(
            run_load(
                base + "/webhooks/rest/webhook",
                token if rung.authenticated else None,
                target=rung.target,
                **load,
            )
        )
    finally:
        _stop(procs)


def run_bench(
    *,
    base_url: str,
    token: str | None,
    users: int,
    turns: int,
    duration: float,
    floor: bool,
    floor_port: int,
    json_out: Path | None,
    think: float = 0.0,
    ladder: bool = False,
) -> dict:
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    rasa_pid = pid_listening_on(port)
    actions_pid = pid_listening_on(5055)
    mem_before = {"rasa_mb": rss_mb(rasa_pid), "actions_mb": rss_mb(actions_pid)}
    samples: list[dict] = []

    def sample(round_no: int) -> None:
        samples.append(
            {"round": round_no, "rasa_mb": rss_mb(rasa_pid), "actions_mb": rss_mb(actions_pid)}
        )

    webhook = f"{base_url}/webhooks/rest/webhook"
    ours = asyncio.run(
        run_load(
            webhook,
            token,
            users=users,
            turns=turns,
            duration=duration,
            think=think,
            on_round=sample,
        )
    )
    report: dict = {
        "think_seconds": think,
        "shopbot": ours.summary(),
        "memory_before": mem_before,
        "memory_after": {"rasa_mb": rss_mb(rasa_pid), "actions_mb": rss_mb(actions_pid)},
        "memory_samples": samples[:: max(1, len(samples) // 20)],
    }
    load = {"users": users, "turns": turns, "duration": duration, "think": think}
    if floor or ladder:
        report["floor"] = measure_rung(FLOOR, floor_port, token, **load).summary()
        report["ratio"] = _ratios(report["shopbot"], report["floor"])
    if ladder:
        report["ladder"] = []
        for step, rung in enumerate(LADDER, start=1):
            summary = measure_rung(rung, floor_port + step, token, **load).summary()
            summary["ratio"] = _ratios(report["shopbot"], summary)
            report["ladder"].append(summary)
    _print(report)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return report


def _ratios(ours: dict, floor: dict) -> dict:
    """Our latency percentiles as multiples of the floor's."""
    return {
        key: round(ours[key] / floor[key], 2)
        for key in ("p50_ms", "p95_ms", "p99_ms")
        if floor[key]
    }


def _print(report: dict) -> None:
    rows = [report["shopbot"]] + ([report["floor"]] if "floor" in report else [])
    rows += report.get("ladder", [])
    print(f"mean think time between turns: {report['think_seconds']} s")
    print(f"{'target':<26}{'users':>6}{'req':>7}{'err':>5}{'rps':>8}{'p50':>8}{'p95':>8}{'p99':>8}")
    for r in rows:
        print(
            f"{r['target']:<26}{r['users']:>6}{r['requests']:>7}{r['errors']:>5}{r['throughput_rps']:>8}"
            f"{r['p50_ms']:>8}{r['p95_ms']:>8}{r['p99_ms']:>8}"
        )
    if "ratio" in report:
        print("ratio to floor:", report["ratio"])
    for rung in report.get("ladder", []):
        print(f"ratio to {rung['target']}:", rung["ratio"])
    print("memory before:", report["memory_before"], "after:", report["memory_after"])
    # A failing floor makes its ratios meaningless, so its errors are shown like ours.
    for r in rows:
        for sample in r["error_samples"]:
            print(f"error ({r['target']}):", sample)
