"""Model caching and the CI config: cheap checks that need no training."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from bot.training import FAST_EPOCHS, fast_config, input_files, inputs_hash, nlu_bundle
from shopbot.config import PROJECT_ROOT


def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for rel in ("config.yml", "bot/domain.yml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / rel, root / rel)
    for rel in (
        "data/nlu",
        "data/lookups",
        "data/rules",
        "data/stories",
        "bot/nlu",
        "bot/jieba_dict",
    ):
        shutil.copytree(
            PROJECT_ROOT / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__")
        )
    return root


def test_hash_follows_every_input_and_only_inputs(tmp_path: Path) -> None:
    root = tree(tmp_path)
    first = inputs_hash(root)
    assert inputs_hash(root) == first
    assert inputs_hash(root, fast=True) != first
    (root / "data" / "store").mkdir()
    (root / "data" / "store" / "catalog.yml").write_text("not rasa data", encoding="utf-8")
    assert inputs_hash(root) == first  # the catalog is not a Rasa input
    with (root / "data/nlu/conversation.yml").open("a", encoding="utf-8") as fh:
        fh.write("      - 哈喽哈喽哈喽\n")
    assert inputs_hash(root) != first
    assert any(p.name == "tokenizer.py" for p in input_files(root))


def test_fast_config_lowers_only_the_epochs(tmp_path: Path) -> None:
    root = tree(tmp_path)
    full = yaml.safe_load((root / "config.yml").read_text(encoding="utf-8"))
    fast = yaml.safe_load(fast_config(root).read_text(encoding="utf-8"))
    for section in ("pipeline", "policies"):
        for a, b in zip(full[section], fast[section], strict=True):
            assert a["name"] == b["name"]
            if a["name"] in FAST_EPOCHS:
                assert b["epochs"] == FAST_EPOCHS[a["name"]] < a["epochs"]
            else:
                assert a == b


def test_nlu_bundle_gathers_nlu_files_and_lookups(tmp_path: Path) -> None:
    root = tree(tmp_path)
    names = {p.name for p in nlu_bundle(root).iterdir()}
    assert {"nlu-conversation.yml", "nlu-products.yml", "lookups-brand.yml"} <= names
