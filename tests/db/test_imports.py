"""Imports: idempotent upserts, and all-or-nothing failures that name line, field and reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from shopbot.db.models import Event, Product, Shopper
from shopbot.importers import ImportRowError, import_catalog, import_events

CATALOG = """id,title,category,brand,price,list_price,color,size,tags,stock,created_at
c1,华为 Mate 60 Pro 12GB+512GB,手机,华为,5999,6999,雅川青,,旗舰|卫星通话,10,2026-10-01T08:00:00
c2,李宁 赤兔6 男子跑步鞋,运动鞋,李宁,399,499,白色,42,,30,2026-10-02
c3,三只松鼠 每日坚果 750g,零食,三只松鼠,89.9,,,,,100,
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def count(factory: sessionmaker, model) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def run_import(factory: sessionmaker, fn, path: Path):
    with factory.begin() as session:
        return fn(session, path, progress=False)


def test_catalog_import_is_an_idempotent_upsert(
    session_factory: sessionmaker, tmp_path: Path
) -> None:
    path = write(tmp_path, "catalog.csv", CATALOG)
    first = run_import(session_factory, import_catalog, path)
    assert (first.inserted, first.updated) == (3, 0)
    again = run_import(
        session_factory, import_catalog, write(tmp_path, "c2.csv", CATALOG.replace("5999", "5799"))
    )
    assert (again.inserted, again.updated) == (0, 3)
    with session_factory() as session:
        mate = session.get(Product, "c1")
        assert mate.price == 5799 and mate.attributes == {"color": "雅川青"}
        assert mate.tags == ["旗舰", "卫星通话"]
        assert session.get(Product, "c3").list_price == pytest.approx(89.9)
        assert session.get(Product, "c2").attributes["size"] == "42"
    assert count(session_factory, Product) == 3


def test_event_import_from_json_lines(session_factory: sessionmaker, tmp_path: Path) -> None:
    run_import(session_factory, import_catalog, write(tmp_path, "catalog.csv", CATALOG))
    lines = [
        {
            "shopper_id": "u1",
            "product_id": "c1",
            "type": "view",
            "ts": "2026-11-01T10:00:00",
            "dwell_seconds": 30,
        },
        {"shopper_id": "u1", "product_id": "c1", "type": "purchase", "ts": 1761991200},
        {
            "shopper_id": "u2",
            "type": "search",
            "query": "跑鞋 400以内",
            "ts": "2026-11-02T09:00:00Z",
        },
    ]
    path = write(
        tmp_path, "events.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines)
    )
    assert run_import(session_factory, import_events, path).inserted == 3
    # Rows without ids get deterministic ones, so a re-import updates instead of duplicating.
    assert run_import(session_factory, import_events, path).updated == 3
    assert count(session_factory, Event) == 3
    assert count(session_factory, Shopper) == 2


BAD_EVENTS = [
    ("shopper_id,product_id,type,ts\nu1,c1,view,2026-11-01\nu1,,search,\n", 3, "ts", "missing"),
    (
        "shopper_id,product_id,type,ts\nu1,c1,view,2026-11-01\nu1,zz9,view,2026-11-01\n",
        3,
        "product_id",
        "unknown product",
    ),
    ("shopper_id,product_id,type,ts\nu1,c1,view,2026-13-45\n", 2, "ts", "bad timestamp"),
    ("shopper_id,product_id,type,ts\nu1,c1,poke,2026-11-01\n", 2, "type", "unknown event type"),
    (
        "shopper_id,product_id,type,ts,dwell_seconds\nu1,c1,view,2026-11-01,-3\n",
        2,
        "dwell_seconds",
        "negative",
    ),
]


@pytest.mark.parametrize(("text", "line", "field", "reason"), BAD_EVENTS)
def test_bad_event_rows_stop_the_import_and_change_nothing(
    session_factory: sessionmaker, tmp_path: Path, text: str, line: int, field: str, reason: str
) -> None:
    run_import(session_factory, import_catalog, write(tmp_path, "catalog.csv", CATALOG))
    with pytest.raises(ImportRowError) as err:
        run_import(session_factory, import_events, write(tmp_path, "ev.csv", text))
    assert (err.value.line, err.value.field) == (line, field)
    assert reason in err.value.reason
    assert count(session_factory, Event) == 0
    assert count(session_factory, Shopper) == 0


BAD_CATALOGS = [
    (CATALOG.replace("399,499", "-399,499"), 3, "price", "negative"),
    (CATALOG.replace("c3,三只松鼠 每日坚果 750g,零食", "c3,,零食"), 4, "title", "missing"),
    (CATALOG.replace("5999,6999", "5999,4999"), 2, "list_price", "below price"),
    (CATALOG.replace(",100,", ",lots,"), 4, "stock", "not a number"),
    (CATALOG + "c1,重复,手机,华为,1,1,,,,1,\n", 5, "id", "duplicate id"),
]


@pytest.mark.parametrize(("text", "line", "field", "reason"), BAD_CATALOGS)
def test_bad_catalog_rows_leave_the_database_as_it_was(
    session_factory: sessionmaker, tmp_path: Path, text: str, line: int, field: str, reason: str
) -> None:
    run_import(
        session_factory, import_catalog, write(tmp_path, "good.csv", CATALOG.replace("5999", "1"))
    )
    with pytest.raises(ImportRowError) as err:
        run_import(session_factory, import_catalog, write(tmp_path, "bad.csv", text))
    assert (err.value.line, err.value.field) == (line, field)
    assert reason in err.value.reason
    with session_factory() as session:
        assert session.get(Product, "c1").price == 1  # the earlier import is untouched


def test_wrong_encoding_names_the_line(session_factory: sessionmaker, tmp_path: Path) -> None:
    path = write(tmp_path, "gbk.csv", CATALOG, encoding="gbk")
    with pytest.raises(ImportRowError) as err:
        run_import(session_factory, import_catalog, path)
    assert err.value.line == 2 and "UTF-8" in err.value.reason
    assert count(session_factory, Product) == 0


def test_cli_reports_line_field_reason_and_exit_code(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    shopbot = [sys.executable, "-m", "shopbot.cli"]
    good = write(tmp_path, "catalog.csv", CATALOG)
    ok = subprocess.run(
        [*shopbot, "import", "catalog", str(good), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "3 new" in ok.stdout
    bad = write(tmp_path, "bad.csv", CATALOG.replace("399,499", "-399,499"))
    failed = subprocess.run(
        [*shopbot, "import", "catalog", str(bad), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1
    assert "line 3, field 'price': negative value -399" in failed.stderr
    assert "Traceback" not in failed.stderr
    stats = subprocess.run(
        [*shopbot, "db", "stats", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    data = json.loads(stats.stdout)
    assert data["products"] == 3 and data["categories"] == 3
