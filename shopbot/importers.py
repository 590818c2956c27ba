"""Catalog and event imports from CSV or JSON Lines: validated whole, then written in one transaction.

Nothing is written unless every row is valid, so a failed import leaves the database as it was.
Errors name the line, the field and the reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from tqdm import tqdm

from shopbot.db.models import EVENT_TYPES, Event, Product, Shopper, utcnow
from shopbot.db.privacy import redact

CHUNK = 2000


class ImportRowError(ValueError):
    def __init__(self, line: int, field: str, reason: str) -> None:
        super().__init__(f"line {line}, field '{field}': {reason}")
        self.line, self.field, self.reason = line, field, reason


@dataclass
class ImportResult:
    kind: str
    rows: int
    inserted: int
    updated: int
    seconds: float


# --- reading ---------------------------------------------------------------------------------


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRowError(
            line, "*", f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) from a .csv or .jsonl/.ndjson/.json file."""
    text = _decode(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportRowError(lineno, "*", f"invalid JSON: {exc.msg}") from None
            if not isinstance(row, dict):
                raise ImportRowError(lineno, "*", "each line must be a JSON object")
            yield lineno, row
    elif suffix in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        if not reader.fieldnames:
            raise ImportRowError(1, "*", "empty file: a header row is required")
        for row in reader:
            if None in row:
                raise ImportRowError(reader.line_num, "*", "more values than header columns")
            yield reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}
    else:
        raise ImportRowError(0, "*", f"unsupported file type {suffix!r}: use .csv or .jsonl")


# --- field parsers ---------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _required(row: dict[str, Any], line: int, field: str) -> Any:
    value = row.get(field)
    if _blank(value):
        raise ImportRowError(line, field, "missing")
    return value.strip() if isinstance(value, str) else value


def _text(
    row: dict[str, Any], line: int, field: str, max_len: int, required: bool = True
) -> str | None:
    value = _required(row, line, field) if required else row.get(field)
    if _blank(value):
        return None
    value = str(value).strip()
    if len(value) > max_len:
        raise ImportRowError(line, field, f"longer than {max_len} characters")
    return value


def _number(
    row: dict[str, Any],
    line: int,
    field: str,
    *,
    required: bool = True,
    minimum: float = 0.0,
    integer: bool = False,
) -> float | None:
    value = row.get(field)
    if _blank(value):
        if required:
            raise ImportRowError(line, field, "missing")
        return None
    try:
        number = float(str(value).replace(",", "").replace("¥", "").replace("￥", "").strip())
    except ValueError:
        raise ImportRowError(line, field, f"not a number: {value!r}") from None
    if not math.isfinite(number):
        raise ImportRowError(line, field, f"not a finite number: {value!r}")
    if number < minimum:
        word = "negative" if minimum == 0 else f"below {minimum:g}"
        raise ImportRowError(line, field, f"{word} value {number:g}")
    if integer and number != int(number):
        raise ImportRowError(line, field, f"not a whole number: {value!r}")
    return number


def parse_timestamp(value: Any, line: int, field: str) -> datetime:
    """ISO 8601 (naive = UTC) or Unix epoch seconds; stored as naive UTC."""
    if _blank(value):
        raise ImportRowError(line, field, "missing")
    text = str(value).strip()
    try:
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
            if seconds > 1e11:  # milliseconds
                seconds /= 1000
            parsed = datetime.fromtimestamp(seconds, tz=timezone.utc)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise ImportRowError(
            line, field, f"bad timestamp {text!r}: use ISO 8601 or Unix seconds"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    if not (2000 <= parsed.year <= 2100):
        raise ImportRowError(line, field, f"timestamp out of range: {text!r}")
    return parsed


def _json_field(row: dict[str, Any], line: int, field: str, kind: type) -> Any:
    value = row.get(field)
    if _blank(value):
        return kind()
    if isinstance(value, str):
        text = value.strip()
        if kind is list and not text.startswith("["):
            return [
                t.strip() for t in text.replace("，", "|").replace(",", "|").split("|") if t.strip()
            ]
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise ImportRowError(line, field, f"invalid JSON {kind.__name__}") from None
    if not isinstance(value, kind):
        raise ImportRowError(line, field, f"must be a JSON {kind.__name__}")
    return value


# --- row validators --------------------------------------------------------------------------

ATTRIBUTE_COLUMNS = ("color", "size", "material")


def parse_product(row: dict[str, Any], line: int) -> dict[str, Any]:
    price = _number(row, line, "price")
    list_price = _number(row, line, "list_price", required=False)
    if list_price is None:
        list_price = price
    assert price is not None
    if list_price < price:
        raise ImportRowError(line, "list_price", f"{list_price:g} is below price {price:g}")
    attributes = _json_field(row, line, "attributes", dict)
    for column in ATTRIBUTE_COLUMNS:
        if not _blank(row.get(column)):
            attributes[column] = str(row[column]).strip()
    stock = _number(row, line, "stock", required=False, integer=True)
    created = row.get("created_at")
    return {
        "id": _text(row, line, "id", 64),
        "title": _text(row, line, "title", 255),
        "category": _text(row, line, "category", 32),
        "brand": _text(row, line, "brand", 64),
        "price": price,
        "list_price": list_price,
        "attributes": attributes,
        "tags": _json_field(row, line, "tags", list),
        "stock": int(stock) if stock is not None else 0,
        "image": _text(row, line, "image", 512, required=False),
        "description": _text(row, line, "description", 10000, required=False),
        "created_at": parse_timestamp(created, line, "created_at")
        if not _blank(created)
        else utcnow(),
    }


def parse_event(row: dict[str, Any], line: int) -> dict[str, Any]:
    shopper = _text({"shopper_id": row.get("shopper_id", row.get("user"))}, line, "shopper_id", 64)
    product = row.get("product_id", row.get("item"))
    product = None if _blank(product) else str(product).strip()
    etype = _text(row, line, "type", 20)
    if etype not in EVENT_TYPES:
        raise ImportRowError(
            line, "type", f"unknown event type {etype!r}; expected one of {', '.join(EVENT_TYPES)}"
        )
    ts = parse_timestamp(row.get("ts", row.get("timestamp")), line, "ts")
    dwell = _number(row, line, "dwell_seconds", required=False)
    query = _text(row, line, "query", 2000, required=False)
    event_id = _text(row, line, "id", 64, required=False)
    if event_id is None:
        # Deterministic ids make re-importing the same file an update, not a duplicate.
        key = f"{shopper}|{product}|{etype}|{ts.isoformat()}|{query or ''}"
        event_id = "imp-" + hashlib.sha1(key.encode()).hexdigest()[:32]
    return {
        "id": event_id,
        "shopper_id": shopper,
        "product_id": product,
        "type": etype,
        "query": (redact(query) or "")[:255] or None,
        "dwell_seconds": dwell,
        "channel": _text(row, line, "channel", 32, required=False),
        "session_id": _text(row, line, "session_id", 64, required=False),
        "ts": ts,
    }


# --- writing ---------------------------------------------------------------------------------


def _validate_all(
    path: Path, parse: Callable[[dict[str, Any], int], dict[str, Any]], progress: bool
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for line, raw in tqdm(
        read_rows(path), desc=f"validate {path.name}", unit=" rows", disable=not progress
    ):
        parsed = parse(raw, line)
        if parsed["id"] in first_line:
            raise ImportRowError(
                line,
                "id",
                f"duplicate id {parsed['id']!r} (first on line {first_line[parsed['id']]})",
            )
        first_line[parsed["id"]] = line
        parsed["_line"] = line
        rows.append(parsed)
    if not rows:
        raise ImportRowError(1, "*", "no data rows")
    return rows


def _upsert(
    session: Session, model: Any, rows: list[dict[str, Any]], progress: bool
) -> tuple[int, int]:
    dialect = session.get_bind().dialect.name
    insert_fn = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert_fn is None:
        raise RuntimeError(f"imports support SQLite and PostgreSQL, not {dialect}")
    table = model.__table__
    ids = [r["id"] for r in rows]
    existing: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        existing.update(
            session.scalars(select(model.id).where(model.id.in_(ids[start : start + CHUNK])))
        )
    with tqdm(
        total=len(rows), desc=f"write {table.name}", unit=" rows", disable=not progress
    ) as bar:
        for start in range(0, len(rows), CHUNK):
            chunk = [
                {k: v for k, v in r.items() if k != "_line"} for r in rows[start : start + CHUNK]
            ]
            stmt = insert_fn(table)
            update_cols = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != "id"}
            session.execute(
                stmt.on_conflict_do_update(index_elements=["id"], set_=update_cols), chunk
            )
            bar.update(len(chunk))
    return len(rows) - len(existing), len(existing)


def import_catalog(session: Session, path: Path, *, progress: bool = True) -> ImportResult:
    started = datetime.now()
    rows = _validate_all(path, parse_product, progress)
    inserted, updated = _upsert(session, Product, rows, progress)
    return ImportResult(
        "catalog", len(rows), inserted, updated, (datetime.now() - started).total_seconds()
    )


def import_events(session: Session, path: Path, *, progress: bool = True) -> ImportResult:
    started = datetime.now()
    rows = _validate_all(path, parse_event, progress)
    product_ids = sorted({r["product_id"] for r in rows if r["product_id"]})
    known: set[str] = set()
    for start in range(0, len(product_ids), CHUNK):
        known.update(
            session.scalars(
                select(Product.id).where(Product.id.in_(product_ids[start : start + CHUNK]))
            )
        )
    for r in rows:
        if r["product_id"] and r["product_id"] not in known:
            raise ImportRowError(r["_line"], "product_id", f"unknown product {r['product_id']!r}")
    shopper_ids = sorted({r["shopper_id"] for r in rows})
    have: set[str] = set()
    for start in range(0, len(shopper_ids), CHUNK):
        have.update(
            session.scalars(
                select(Shopper.id).where(Shopper.id.in_(shopper_ids[start : start + CHUNK]))
            )
        )
    new_shoppers = [
        {"id": s, "consent": False, "created_at": utcnow()} for s in shopper_ids if s not in have
    ]
    if new_shoppers:
        session.execute(Shopper.__table__.insert(), new_shoppers)
    inserted, updated = _upsert(session, Event, rows, progress)
    return ImportResult(
        "events", len(rows), inserted, updated, (datetime.now() - started).total_seconds()
    )
