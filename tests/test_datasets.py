"""MovieLens-100k from RecBole's wheel: the archive is read, converted and checked for shape."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from recommender import data as rdata
from shopbot import datasets
from shopbot.errors import CommandError

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


def fake_wheel(path: Path, body: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(datasets.ML100K_MEMBER, HEADER + body)
    return path


def test_inter_file_becomes_udata_that_the_loader_reads(tmp_path: Path) -> None:
    text, counts = datasets.inter_to_udata(
        HEADER + "196\t242\t3\t881250949\n186\t302\t3.0\t891717742\n"
    )
    assert counts == {"ratings": 2, "users": 2, "items": 2}
    (tmp_path / "u.data").write_text(text)
    rows = rdata.load_movielens(tmp_path / "u.data")
    assert rows.users == ["196", "186"] and rows.items == ["242", "302"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [("196\t242\n", "line 2: expected 4"), ("u1\t242\t3\t881250949\n", "line 2: user and item")],
)
def test_malformed_inter_rows_name_the_line(body: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        datasets.inter_to_udata(HEADER + body)


def test_a_wheel_without_the_full_data_set_is_refused(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "recbole-1.2.1-py3-none-any.whl", "1\t1\t5\t1\n")
    with pytest.raises(CommandError, match="expected MovieLens-100k"):
        datasets.extract_movielens_100k(wheel, tmp_path / "out")
    assert not (tmp_path / "out" / "u.data").exists()
    empty = tmp_path / "other.whl"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(CommandError, match="no recbole/dataset_example"):
        datasets.extract_movielens_100k(empty, tmp_path / "out")


def test_a_full_size_wheel_is_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "ML100K_SHAPE", {"ratings": 3, "users": 2, "items": 2})
    wheel = fake_wheel(tmp_path / "r.whl", "1\t10\t5\t100\n1\t11\t4\t101\n2\t10\t3\t102\n")
    assert datasets.extract_movielens_100k(wheel, tmp_path / "ml") == {
        "ratings": 3,
        "users": 2,
        "items": 2,
    }
    assert (tmp_path / "ml" / "u.data").read_text().splitlines()[0] == "1\t10\t5\t100"
