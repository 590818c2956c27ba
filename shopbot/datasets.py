"""Public evaluation data sets that reach this machine only through a package registry.

MovieLens-100k cannot be downloaded from GroupLens here, but RecBole's wheel on PyPI ships the
original ratings as its quick-start example (`recbole/dataset_example/ml-100k/ml-100k.inter`).
We fetch that one wheel without its dependencies, read the file out of the archive and write it
back in the `u.data` layout our loader reads; RecBole itself is never installed or imported.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from shopbot.errors import CommandError

RECBOLE_WHEEL = "recbole==1.2.1"
ML100K_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
# The published shape of MovieLens-100k: anything else is not the data set the README quotes.
ML100K_SHAPE = {"ratings": 100_000, "users": 943, "items": 1_682}


def inter_to_udata(inter_text: str) -> tuple[str, dict[str, int]]:
    """RecBole's atomic `.inter` file (a typed header, then user, item, rating, timestamp,
    tab-separated) -> `u.data` text and its counts."""
    lines = inter_text.splitlines()
    if not lines or not lines[0].startswith("user_id"):
        raise ValueError("not a RecBole .inter file: the header names no user_id column")
    out: list[str] = []
    users: set[str] = set()
    items: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 4:
            raise ValueError(f"line {number}: expected 4 tab-separated fields, got {len(fields)}")
        user, item, rating, ts = fields[:4]
        if not (user.isdigit() and item.isdigit()):
            raise ValueError(f"line {number}: user and item ids must be integers")
        out.append(f"{user}\t{item}\t{int(float(rating))}\t{int(float(ts))}")
        users.add(user)
        items.add(item)
    counts = {"ratings": len(out), "users": len(users), "items": len(items)}
    return "\n".join(out) + "\n", counts


def extract_movielens_100k(wheel: Path, dest: Path) -> dict[str, int]:
    """Write dest/u.data from a RecBole wheel; refuses anything that is not MovieLens-100k."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            inter = archive.read(ML100K_MEMBER).decode("utf-8")
    except (KeyError, zipfile.BadZipFile) as exc:
        raise CommandError(f"{wheel}: no {ML100K_MEMBER} in it ({exc})") from None
    text, counts = inter_to_udata(inter)
    if counts != ML100K_SHAPE:
        raise CommandError(f"{wheel}: expected MovieLens-100k {ML100K_SHAPE}, found {counts}")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "u.data").write_text(text, encoding="utf-8")
    return counts


def fetch_movielens_100k(dest: Path) -> Path:
    """dest/u.data, fetched once (pip download of one wheel, no dependencies) and then reused."""
    target = dest / "u.data"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--quiet", "--dest", tmp, RECBOLE_WHEEL,
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("recbole-*.whl"))
        if done.returncode != 0 or not wheels:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise CommandError(f"could not fetch {RECBOLE_WHEEL} from the package index:\n{tail}")
        extract_movielens_100k(wheels[0], dest)
    return target
