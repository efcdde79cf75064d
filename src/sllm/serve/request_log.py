"""The request log: one JSONL line per sampled request, personal data masked; and the eval set
drawn from it, which closes the loop from serving back to evaluation.

`RequestLog(path)` is a request observer for `sllm serve`. Each line holds the request record's
fields (LOGGED: time as ISO 8601 UTC, endpoint, model, version, prompt, messages, replies, token
counts, latency) and `masked`, the count of each kind of personal data replaced. The prompt, every
message and every reply go through the safety filter's patterns (`sllm.data.quality.safety`:
e-mail addresses, Korean phone and resident registration numbers, card numbers, US SSNs), so
`hong@example.com` is written as `[EMAIL]` and 010-1234-5678 as `[PHONE]`. Only those fields are
written: never a header or the API key (the record carries neither). Lines are appended under a
lock, UTF-8 with non-ASCII text as is, one `open` per line so a rotated log is followed.

`sample_eval_set(log, n, out)` draws n distinct prompts and writes rows that three readers take as
they are: `sllm judge single --input` (question_id, question, model, answer: the served model's
logged answer is graded), an alpaca_eval model-outputs file (instruction, output, generator: an
answer set for `sllm judge compare`), and an Alpaca instruction file for `sllm data` (instruction,
output, optional system).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sllm.data.quality.safety import find_pii, mask_pii
from sllm.errors import SllmError, UsageError

LOGGED = (
    "time", "endpoint", "model", "version", "prompt", "messages", "replies", "prompt_tokens",
    "completion_tokens", "latency_s",
)  # fmt: skip


def masked_text(text: str, found: Counter[str]) -> str:
    """The text with personal data replaced by placeholders; counts each kind in `found`."""
    matches = find_pii(text)
    found.update(m.kind for m in matches)
    return mask_pii(text, matches) if matches else text


def log_line(record: dict[str, Any]) -> dict[str, Any]:
    """The logged form of a request record: LOGGED fields only, personal data masked."""
    found: Counter[str] = Counter()
    line = {key: record.get(key) for key in LOGGED}
    stamp = record.get("time")
    if isinstance(stamp, (int, float)):
        line["time"] = datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="milliseconds")
    if isinstance(line["prompt"], str):
        line["prompt"] = masked_text(line["prompt"], found)
    if isinstance(line["messages"], list):
        line["messages"] = [
            {**m, "content": masked_text(m["content"], found)}
            if isinstance(m, dict) and isinstance(m.get("content"), str)
            else m
            for m in line["messages"]
        ]
    if isinstance(line["replies"], list):
        line["replies"] = [masked_text(r, found) if isinstance(r, str) else r for r in line["replies"]]
    line["masked"] = dict(sorted(found.items()))
    return line


class RequestLog:
    """A request observer appending sampled requests to a JSONL file (see the module docstring).

    `sample_rate` in [0, 1] is the share of requests written, drawn from a generator seeded with
    `seed` (the same traffic gives the same lines)."""

    def __init__(self, path: str | Path, sample_rate: float = 1.0, seed: int = 0) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise UsageError(f"the log's sample rate must be in [0, 1]; got {sample_rate}")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.written = 0
        try:  # a path that cannot be written fails at start, not on the first request
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        except OSError as exc:
            raise SllmError(f"cannot write the request log {self.path}: {exc.strerror or exc}") from None

    def __call__(self, record: dict[str, Any]) -> None:
        self.observe(record)

    def observe(self, record: dict[str, Any]) -> None:
        """Append the record, masked, if it is drawn."""
        with self._lock:
            if self.sample_rate < 1.0 and self._random.random() >= self.sample_rate:
                return
        text = json.dumps(log_line(record), ensure_ascii=False) + "\n"
        with self._lock:
            with self.path.open("a", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            self.written += 1


def read_log(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) of every line of a request log; a line that is not one is an error."""
    from sllm.data.formats import raw_rows

    path = Path(path)
    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    out = []
    for where, record, problem in raw_rows(path):
        if problem is not None:
            raise SllmError(str(problem))
        if not isinstance(record, dict) or not isinstance(record.get("prompt"), str):
            raise SllmError(f"{where}: not a request log line (no string field 'prompt')")
        out.append((where, record))
    return out


def eval_row(record: dict[str, Any]) -> dict[str, Any]:
    """One eval-set row of a logged request (the fields three readers take; module docstring)."""
    prompt = record["prompt"]
    replies = record.get("replies") or [""]
    answer = str(replies[0])
    model = str(record.get("model") or "served")
    row: dict[str, Any] = {
        "question_id": "req-" + hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:12],
        "question": prompt, "model": model, "answer": answer,
        "instruction": prompt, "output": answer, "generator": model,
    }  # fmt: skip
    system = [
        m.get("content")
        for m in record.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "system"
    ]
    if system and isinstance(system[0], str):
        row["system"] = system[0]
    for key in ("endpoint", "version", "time"):
        if record.get(key) is not None:
            row[key] = record[key]
    return row


def sample_eval_set(log_path: str | Path, n: int, out_path: str | Path, seed: int = 0) -> dict[str, Any]:
    """Draw `n` distinct prompts (seeded) from a request log and write them as an eval set (JSONL,
    in log order); a summary of what was read and written."""
    if n < 1:
        raise UsageError(f"--n must be at least 1; got {n}")
    records = read_log(log_path)
    unique: dict[str, dict[str, Any]] = {}
    for _, record in records:
        if record["prompt"].strip():
            unique.setdefault(record["prompt"], record)  # the first time a prompt was asked
    if not unique:
        raise SllmError(f"{log_path}: no non-empty prompts")
    order = list(unique)
    chosen = sorted(random.Random(seed).sample(range(len(order)), min(n, len(order))))
    from sllm.textio import write_jsonl

    write_jsonl(out_path, [eval_row(unique[order[i]]) for i in chosen])
    return {"log": str(log_path), "requests": len(records), "distinct_prompts": len(unique),
            "written": len(chosen), "out": str(out_path), "seed": seed}  # fmt: skip
