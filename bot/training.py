"""Train the Rasa model (cached by a hash of its inputs) and measure NLU quality.

`shopbot train rasa` and `shopbot train nlu --report` call these.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from shopbot.config import PROJECT_ROOT

CONFIG = Path("config.yml")
DOMAIN = Path("bot/domain.yml")
# Only our training data: data/store/ holds the demo catalog, which is not Rasa data.
DATA_DIRS = (Path("data/nlu"), Path("data/lookups"), Path("data/rules"), Path("data/stories"))
NLU_DIRS = (Path("data/nlu"), Path("data/lookups"))
SOURCES = (Path("bot/nlu"), Path("bot/jieba_dict"))
MODELS = Path("models")
FAST_EPOCHS = {"DIETClassifier": 40, "TEDPolicy": 10}


def _rasa_bin() -> str:
    return str(Path(sys.executable).parent / "rasa")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("PYTHONWARNINGS", "ignore")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def refresh_generated(root: Path = PROJECT_ROOT) -> list[Path]:
    """Regenerate the catalog-derived NLU files when the catalog vocabulary is available."""
    try:
        from bot.vocab_export import export
    except ImportError:  # pragma: no cover - the package is part of this repo
        return []
    try:
        return export(root)
    except ImportError:
        # shopbot.demo is not installed in this checkout: train on the committed files.
        return []


def input_files(root: Path = PROJECT_ROOT) -> list[Path]:
    files = [root / CONFIG, root / DOMAIN]
    for folder in (*DATA_DIRS, *SOURCES):
        files.extend(sorted(p for p in (root / folder).rglob("*") if p.is_file()))
    return [f for f in files if f.suffix not in {".pyc"} and "__pycache__" not in f.parts]


def inputs_hash(root: Path = PROJECT_ROOT, *, fast: bool = False) -> str:
    digest = hashlib.sha256(b"fast" if fast else b"full")
    if fast:
        digest.update(json.dumps(FAST_EPOCHS, sort_keys=True).encode())
    for path in input_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fast_config(root: Path = PROJECT_ROOT) -> Path:
    """A copy of config.yml with fewer epochs, for CI."""
    config = yaml.safe_load((root / CONFIG).read_text(encoding="utf-8"))
    for section in ("pipeline", "policies"):
        for component in config.get(section) or []:
            if component.get("name") in FAST_EPOCHS:
                component["epochs"] = FAST_EPOCHS[component["name"]]
    out = root / "var" / "rasa" / "config.fast.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def train_rasa(*, force: bool = False, fast: bool = False, root: Path = PROJECT_ROOT) -> Path:
    """Train (or reuse) the model for the current inputs; returns the .tar.gz path."""
    refresh_generated(root)
    key = inputs_hash(root, fast=fast)
    name = f"shopbot-{'fast-' if fast else ''}{key}"
    model = root / MODELS / f"{name}.tar.gz"
    if model.exists() and not force:
        return model
    config = fast_config(root) if fast else root / CONFIG
    cmd = [
        _rasa_bin(), "train",
        "--config", str(config),
        "--domain", str(root / DOMAIN),
        "--data", *[str(root / d) for d in DATA_DIRS],
        "--out", str(root / MODELS),
        "--fixed-model-name", name,
        "--force",
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=root, env=_env(), capture_output=True, text=True)
    if done.returncode != 0 or not model.exists():
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"rasa train failed (exit {done.returncode}):\n{tail}")
    (root / MODELS / f"{name}.json").write_text(
        json.dumps({"seconds": round(time.monotonic() - started, 1), "fast": fast}),
        encoding="utf-8",
    )
    return model


def nlu_report(*, folds: int = 5, out_dir: Path, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """k-fold cross-validation of the NLU pipeline; writes rasa's reports to out_dir.

    Returns intent macro-F1 and entity F1 (DIET, micro over entity types, as rasa reports it).
    """
    refresh_generated(root)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        _rasa_bin(), "test", "nlu",
        "--nlu", str(nlu_bundle(root)),
        "--config", str(root / CONFIG),
        "--cross-validation", "--folds", str(folds),
        "--out", str(out_dir),
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=root, env=_env(), capture_output=True, text=True)
    (out_dir / "rasa-test.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"rasa test nlu failed (exit {done.returncode}):\n{tail}")
    result = summarize_report(out_dir)
    result.update(folds=folds, seconds=round(time.monotonic() - started, 1), out_dir=str(out_dir))
    (out_dir / "summary.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def nlu_bundle(root: Path = PROJECT_ROOT) -> Path:
    """`rasa test nlu` takes one path: gather the NLU files and lookup tables in one folder."""
    bundle = root / "var" / "rasa" / "nlu-data"
    if bundle.exists():
        shutil.rmtree(bundle)
    bundle.mkdir(parents=True)
    for folder in NLU_DIRS:
        for path in sorted((root / folder).glob("*.yml")):
            shutil.copy2(path, bundle / f"{folder.name}-{path.name}")
    return bundle


def summarize_report(out_dir: Path) -> dict[str, Any]:
    intents = json.loads((out_dir / "intent_report.json").read_text(encoding="utf-8"))
    result: dict[str, Any] = {
        "intent_macro_f1": round(intents["macro avg"]["f1-score"], 4),
        "intent_accuracy": round(intents.get("accuracy", 0.0), 4),
    }
    for extractor in ("DIETClassifier", "RegexEntityExtractor"):
        path = out_dir / f"{extractor}_report.json"
        if not path.exists():
            continue
        report = json.loads(path.read_text(encoding="utf-8"))
        avg = report.get("micro avg") or report.get("weighted avg") or {}
        key = "entity_f1" if extractor == "DIETClassifier" else "regex_entity_f1"
        result[key] = round(avg.get("f1-score", 0.0), 4)
        result[f"{key}_per_entity"] = {
            name: round(v["f1-score"], 4)
            for name, v in report.items()
            if isinstance(v, dict) and "f1-score" in v and not re.search(r"avg", name)
        }
    return result
