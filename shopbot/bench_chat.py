"""`shopbot bench chat`: multi-turn Chinese conversations against the authenticated REST webhook,
compared with a minimal echo Rasa bot on the same machine (the framework's floor)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

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
                ok = resp.status == 200 and isinstance(json.loads(body), list) and json.loads(body)
                # "still on it" / "something went wrong" replies are polite, but not answers.
                if ok and any(m.get("text") in DEGRADED for m in json.loads(body)):
                    ok = False
                    result.errors += 1
                    result.error_samples.append(f"{resp.status}: {body[:120]}")
        except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError) as exc:
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


# --- the echo floor -----------------------------------------------------------------------------


def start_echo_bot(port: int, out_dir: Path) -> subprocess.Popen:
    rasa = str(Path(sys.executable).parent / "rasa")
    model = out_dir / "echo.tar.gz"
    if not model.exists():
        subprocess.run(
            [
                rasa,
                "train",
                "--config",
                "config.yml",
                "--domain",
                "domain.yml",
                "--data",
                "data",
                "--out",
                str(out_dir),
                "--fixed-model-name",
                "echo",
            ],
            cwd=ECHO_BOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    log = open(out_dir / "echo.log", "ab")  # noqa: SIM115 - lives as long as the child
    return subprocess.Popen(
        [
            rasa,
            "run",
            "--model",
            str(model),
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
        ],
        cwd=ECHO_BOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


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
    if floor:
        out_dir = PROJECT_ROOT / "var" / "bench"
        out_dir.mkdir(parents=True, exist_ok=True)
        proc = start_echo_bot(floor_port, out_dir)
        try:
            floor_url = f"http://127.0.0.1:{floor_port}"
            asyncio.run(_wait_http(floor_url + "/"))
            echo = asyncio.run(
                run_load(
                    floor_url + "/webhooks/rest/webhook",
                    None,
                    users=users,
                    turns=turns,
                    duration=duration,
                    think=think,
                    target="echo-floor",
                )
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        report["floor"] = echo.summary()
        report["ratio"] = {
            key: round(report["shopbot"][key] / report["floor"][key], 2)
            for key in ("p50_ms", "p95_ms", "p99_ms")
            if report["floor"][key]
        }
    _print(report)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return report


def _print(report: dict) -> None:
    rows = [report["shopbot"]] + ([report["floor"]] if "floor" in report else [])
    print(f"mean think time between turns: {report['think_seconds']} s")
    print(f"{'target':<12}{'users':>6}{'req':>7}{'err':>5}{'rps':>8}{'p50':>8}{'p95':>8}{'p99':>8}")
    for r in rows:
        print(
            f"{r['target']:<12}{r['users']:>6}{r['requests']:>7}{r['errors']:>5}{r['throughput_rps']:>8}"
            f"{r['p50_ms']:>8}{r['p95_ms']:>8}{r['p99_ms']:>8}"
        )
    if "ratio" in report:
        print("ratio to floor:", report["ratio"])
    print("memory before:", report["memory_before"], "after:", report["memory_after"])
    for sample in report["shopbot"]["error_samples"]:
        print("error:", sample)
