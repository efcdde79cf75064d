"""A content-addressed SQLite cache around any LM: resumable runs, no repeated cost.

Modelled on lm-evaluation-harness's CachingLM, with two differences that matter for long runs:
results are written the moment the backend yields them (WAL mode, one commit each), so a run
killed half way resumes without repeating finished calls; and the key covers the model
fingerprint (weights digest, adapter, dtype), not only the model's name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sllm.models.base import (
    LM,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodResult,
    RequestKind,
    RollingResult,
)

RESULT_TYPES: dict[str, type] = {
    "loglikelihood": LoglikelihoodResult,
    "loglikelihood_rolling": RollingResult,
    "generate": GenerationResult,
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_model ON calls(model);
"""


def request_key(fingerprint: str, kind: str, request: Any) -> str:
    """Return the content address of one request to one exact model."""
    payload = json.dumps(
        {"model": fingerprint, "kind": kind, "request": request.cache_key()},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class CallCache:
    """The SQLite store behind CachingLM (also used by `sllm cache stats|clear`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        """Return the stored responses for the keys that are present."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT key, response FROM calls WHERE key IN ({marks})", chunk)
            found.update(rows.fetchall())
        return found

    def put(self, key: str, kind: str, model: str, request: str, response: str) -> None:
        """Store one response and commit at once (so a killed run keeps it)."""
        self.db.execute(
            "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?, ?)",
            (key, kind, model, request, response, time.time()),
        )
        self.db.commit()

    def stats(self) -> list[dict[str, Any]]:
        """Return entry counts per model and request kind."""
        rows = self.db.execute(
            "SELECT model, kind, COUNT(*), MIN(created), MAX(created) FROM calls "
            "GROUP BY model, kind ORDER BY model, kind"
        )
        keys = ("model", "kind", "entries", "first", "last")
        return [dict(zip(keys, row)) for row in rows]

    def clear(self, model: str | None = None) -> int:
        """Delete every entry, or those of one model fingerprint; return how many."""
        if model is None:
            cursor = self.db.execute("DELETE FROM calls")
        else:
            cursor = self.db.execute("DELETE FROM calls WHERE model = ?", (model,))
        self.db.commit()
        self.db.execute("VACUUM")
        return cursor.rowcount

    def close(self) -> None:
        """Close the connection."""
        self.db.close()


class CachingLM(LM):
    """Wrap an LM: answer repeated requests from the cache, store new ones as they finish."""

    def __init__(self, inner: LM, cache: CallCache | str | Path) -> None:
        super().__init__()
        self.inner = inner
        self.spec = inner.spec
        self.cache = cache if isinstance(cache, CallCache) else CallCache(cache)
        self.hits = 0
        #: prompt / completion tokens of the generations served from the cache
        self.cached_tokens: Counter[str] = Counter()

    def fingerprint(self) -> str:
        """Return the wrapped model's fingerprint."""
        return self.inner.fingerprint()

    def __getattr__(self, name: str) -> Any:
        # Backend-specific attributes (tokenizer, max_length) pass through to the wrapped model.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def stream(self, kind: RequestKind, requests: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Yield cached results first, then compute and store the misses."""
        fingerprint = self.inner.fingerprint()
        keys = [request_key(fingerprint, kind, r) for r in requests]
        cacheable = [_cacheable(r) for r in requests]
        stored = self.cache.get_many([k for k, ok in zip(keys, cacheable) if ok])
        result_type = RESULT_TYPES[kind]
        misses: list[int] = []
        for index, (key, ok) in enumerate(zip(keys, cacheable)):
            if ok and key in stored:
                self.hits += 1
                result = result_type(**json.loads(stored[key]))
                if isinstance(result, GenerationResult):
                    self.cached_tokens["prompt"] += result.prompt_tokens
                    self.cached_tokens["completion"] += result.n_tokens
                yield index, result
            else:
                misses.append(index)
        # Identical requests inside one run are computed once.
        first_of: dict[str, int] = {}
        unique = [i for i in misses if not cacheable[i] or first_of.setdefault(keys[i], i) == i]
        unique_set = set(unique)
        duplicates = [i for i in misses if i not in unique_set]
        computed: dict[int, Any] = {}
        for local, result in self.inner.stream(kind, [requests[i] for i in unique]):
            index = unique[local]
            if cacheable[index]:
                self.cache.put(
                    keys[index],
                    kind,
                    fingerprint,
                    json.dumps(requests[index].cache_key(), ensure_ascii=False),
                    json.dumps(dataclasses.asdict(result), ensure_ascii=False),
                )
            computed[index] = result
            yield index, result
        for index in duplicates:
            yield index, computed[first_of[keys[index]]]

    def close(self) -> None:
        """Close the wrapped model and the cache."""
        self.inner.close()
        self.cache.close()


def _cacheable(request: Any) -> bool:
    """Sampling without a seed is not repeatable, so it is never served from the cache."""
    return not isinstance(request, GenerationRequest) or request.config.deterministic
