"""Text-to-SQL execution accuracy: the predicted and the gold query return the same rows.

As Spider's execution metric: both queries run on the same SQLite database; results are compared
as multisets of rows, or as lists when the gold query has ORDER BY. A query that fails, writes, or
runs past the time limit scores 0. Model-written SQL is untrusted: the database is opened
read-only, and an authorizer allows reading only (no ATTACH, no PRAGMA writes, no DDL or DML).
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sllm.errors import SllmError
from sllm.metrics.registry import register_metric

_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}
_ALLOWED |= {getattr(sqlite3, "SQLITE_RECURSIVE", 33)}


def _authorize(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


def run_query(database: Path, query: str, timeout_s: float = 5.0) -> list[tuple[Any, ...]]:
    """Run one read-only query with a time limit; errors raise sqlite3.Error."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        conn.set_authorizer(_authorize)
        deadline = time.monotonic() + timeout_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def same_result(predicted: list[tuple[Any, ...]], gold: list[tuple[Any, ...]], ordered: bool) -> bool:
    """Row lists equal (ORDER BY in the gold query) or equal as multisets."""
    return predicted == gold if ordered else Counter(predicted) == Counter(gold)


@register_metric("sql_execution", "sample", needs_doc=True)
def sql_execution(
    prediction: str,
    references: list[str],
    doc: dict[str, Any] | None = None,
    database: str | None = None,
    database_field: str = "db_path",
    timeout_s: float = 5.0,
    **_: Any,
) -> dict[str, float]:
    """1.0 when the predicted query returns the gold query's rows on the document's database."""
    path = Path(database or str((doc or {}).get(database_field, "")))
    if not path.is_file():
        raise SllmError(f"sql_execution: database not found: {path or '(none given)'}")
    gold_query = references[0]
    try:
        gold = run_query(path, gold_query, timeout_s)
    except (sqlite3.Error, sqlite3.Warning) as exc:
        raise SllmError(f"sql_execution: the gold query fails on {path}: {exc}: {gold_query}") from None
    try:
        predicted = run_query(path, prediction.strip().rstrip(";"), timeout_s)
    except (sqlite3.Error, sqlite3.Warning):
        return {"execution_accuracy": 0.0}
    ordered = "order by" in gold_query.lower()
    return {"execution_accuracy": float(same_result(predicted, gold, ordered))}
