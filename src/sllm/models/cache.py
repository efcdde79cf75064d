"""A content-addressed SQLite cache around any LM: resumable runs, no repeated cost.

Modelled on lm-evaluation-harness's CachingLM, with two differences that matter for long runs:
results are written the moment the backend yields them (WAL mode, one commit each), so a run
killed half way resumes without repeating finished calls; and the key covers the model
fingerprint (weights digest, adapter, dtype), not only the model's name. Runs sharing one cache
at the same time claim the keys they compute (`claims.py`): a second run waits for a first
run's results instead of computing them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Generator, Iterator, Sequence
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
from sllm.models.claims import CLAIMS_SCHEMA, DEFAULT_LEASE, Claims
from sllm.models.detokenize import finished_text

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
        # Several runs may write at once: readers never block the writer (WAL), and a writer
        # waits for the lock instead of failing with "database is locked".
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA + CLAIMS_SCHEMA)

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
        """Store one response and drop its claim, committed at once (so a killed run keeps it)."""
        self.db.execute(
            "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?, ?)",
            (key, kind, model, request, response, time.time()),
        )
        self.db.execute("DELETE FROM claims WHERE key = ?", (key,))
        self.db.commit()

    def new_claims(self, lease: float = DEFAULT_LEASE) -> Claims:
        """A new owner of in-flight claims on this database (one per stream)."""
        return Claims(self.db, self.path, lease)

    def stats(self) -> list[dict[str, Any]]:
        """Return entry counts per model and request kind."""
        rows = self.db.execute(
            "SELECT model, kind, COUNT(*), MIN(created), MAX(created) FROM calls "
            "GROUP BY model, kind ORDER BY model, kind"
        )
        keys = ("model", "kind", "entries", "first", "last")
        return [dict(zip(keys, row)) for row in rows]

    def resolve_model(self, given: str) -> str:
        """The cached model fingerprint `given` names: itself, or the only one it is a prefix of
        (as `sllm cache stats` shows it, maybe cut short with an ellipsis)."""
        from sllm.errors import UsageError, unknown_name

        models = [row[0] for row in self.db.execute("SELECT DISTINCT model FROM calls ORDER BY model")]
        if given in models:
            return given
        prefix = given.strip().removesuffix("…").removesuffix("...")  # how rich cuts a long cell
        if not models:
            raise UsageError(f"no cached calls of model '{given}': the cache is empty")
        matches = [m for m in models if prefix and m.startswith(prefix)]
        if not matches:
            raise unknown_name("cached model", given, models)
        if len(matches) > 1:
            raise UsageError(
                f"'{given}' matches {len(matches)} cached models: {', '.join(matches)}; give more of it"
            )
        return matches[0]

    def clear(self, model: str | None = None) -> int:
        """Delete every entry, or those of one model (a fingerprint or its prefix); return how many."""
        if model is None:
            cursor = self.db.execute("DELETE FROM calls")
        else:
            cursor = self.db.execute("DELETE FROM calls WHERE model = ?", (self.resolve_model(model),))
        self.db.commit()
        self.db.execute("VACUUM")
        return cursor.rowcount

    def close(self) -> None:
        """Close the connection."""
        self.db.close()


def cache_summary() -> dict[str, Any]:
    """`sllm cache stats`: the cache file, its size in bytes, and its entries per model and kind."""
    from sllm.paths import default_cache_path

    path = default_cache_path()
    cache = CallCache(path)
    try:
        entries = cache.stats()
    finally:
        cache.close()
    return {"path": str(path), "bytes": path.stat().st_size if path.exists() else 0, "entries": entries}


class CachingLM(LM):
    """Wrap an LM: answer repeated requests from the cache, store new ones as they finish."""

    def __init__(self, inner: LM, cache: CallCache | str | Path) -> None:
        super().__init__()
        self.inner = inner
        self.spec = inner.spec
        self.cache = cache if isinstance(cache, CallCache) else CallCache(cache)
        self.hits = 0
        #: of the hits, results another run computed while this one waited for them
        self.waited = 0
        #: prompt / completion tokens of the generations served from the cache
        self.cached_tokens: Counter[str] = Counter()
        #: seconds between looks for results other runs are computing; their claims' lease
        self.poll_interval = 0.5
        self.lease = DEFAULT_LEASE

    def fingerprint(self) -> str:
        """Return the wrapped model's fingerprint."""
        return self.inner.fingerprint()

    def __getattr__(self, name: str) -> Any:
        # Backend-specific attributes (tokenizer, max_length) pass through to the wrapped model.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def stream(self, kind: RequestKind, requests: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Yield cached results first, then compute and store the misses (in completion order).

        Misses another live run is computing are not computed again: this run computes its
        own claimed keys first, then waits for the others' results (taking over any whose
        owner died), so no run ever waits while holding unfinished claims.
        """
        fingerprint = self.inner.fingerprint()
        keys = [request_key(fingerprint, kind, r) for r in requests]
        cacheable = [_cacheable(r) for r in requests]
        stored = self.cache.get_many([k for k, ok in zip(keys, cacheable) if ok])
        misses: list[int] = []
        for index, (key, ok) in enumerate(zip(keys, cacheable)):
            if ok and key in stored:
                yield index, self._hit(kind, stored[key])
            else:
                misses.append(index)
        # Identical requests inside one run are computed once.
        first_of: dict[str, int] = {}
        unique = [i for i in misses if not cacheable[i] or first_of.setdefault(keys[i], i) == i]
        unique_set = set(unique)
        duplicates = [i for i in misses if i not in unique_set]
        computed: dict[int, Any] = {}
        claims = self.cache.new_claims(self.lease)
        try:
            shared = [i for i in unique if cacheable[i]]
            mine = claims.take([keys[i] for i in shared]) if shared else set()
            work = [i for i in unique if not cacheable[i] or keys[i] in mine]
            waiting = [i for i in shared if keys[i] not in mine]
            while work or waiting:
                yield from self._compute(kind, fingerprint, requests, keys, cacheable, work, computed)
                work, waiting = yield from self._wait(kind, keys, waiting, computed, claims)
        finally:
            claims.release()
        for index in duplicates:
            yield index, computed[first_of[keys[index]]]

    def _hit(self, kind: RequestKind, stored: str) -> Any:
        """A result served from the cache, counted (with its tokens, for usage reports)."""
        self.hits += 1
        result = RESULT_TYPES[kind](**json.loads(stored))
        if isinstance(result, GenerationResult):
            # Results stored before cut characters were held back still end in U+FFFD.
            result = dataclasses.replace(result, text=finished_text(result.text, result.finish_reason))
            self.cached_tokens["prompt"] += result.prompt_tokens
            self.cached_tokens["completion"] += result.n_tokens
        return result

    def _compute(
        self,
        kind: RequestKind,
        fingerprint: str,
        requests: Sequence[Any],
        keys: list[str],
        cacheable: list[bool],
        work: list[int],
        computed: dict[int, Any],
    ) -> Iterator[tuple[int, Any]]:
        """Run `work` through the wrapped model, storing each result the moment it arrives."""
        if not work:
            return
        for local, result in self.inner.stream(kind, [requests[i] for i in work]):
            index = work[local]
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

    def _wait(
        self,
        kind: RequestKind,
        keys: list[str],
        waiting: list[int],
        computed: dict[int, Any],
        claims: Claims,
    ) -> Generator[tuple[int, Any], None, tuple[list[int], list[int]]]:
        """Yield other runs' results as they land, until some claims are ours to take over.

        Returns (indices taken over, indices still waiting): both empty when all have landed.
        """
        while waiting:
            found = self.cache.get_many([keys[i] for i in waiting])
            for index in (i for i in waiting if keys[i] in found):
                computed[index] = self._hit(kind, found[keys[index]])
                self.waited += 1
                yield index, computed[index]
            waiting = [i for i in waiting if keys[i] not in found]
            taken = claims.take([keys[i] for i in waiting]) if waiting else set()
            if taken:
                return [i for i in waiting if keys[i] in taken], [i for i in waiting if keys[i] not in taken]
            if waiting:
                time.sleep(self.poll_interval)
        return [], []

    def close(self) -> None:
        """Close the wrapped model and the cache."""
        self.inner.close()
        self.cache.close()


def _cacheable(request: Any) -> bool:
    """Sampling without a seed is not repeatable, so it is never served from the cache."""
    return not isinstance(request, GenerationRequest) or request.config.deterministic
