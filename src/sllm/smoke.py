"""`SLLM_SMOKE=1`: a smoke-test switch that shrinks every run to a few seconds of model work.

The documentation test (tests/test_docs_examples.py) sets it so that every documented command
runs exactly as written and still finishes in well under a minute on a CPU. With the switch on,
each place that already applies a limit caps it further: an eval reads at most `DOCS` documents
per task and the first `GROUP_TASKS` tasks of each group; generation stops after `NEW_TOKENS`
new tokens and samples each prompt at most `REPEATS` times (pass@k for k above that is left
out); training stops after `STEPS` optimizer steps of `BATCH` row each; a judge, G-Eval,
RAG, MT-Bench, AlpaGasus or Self-Instruct run takes at most `ITEMS` items (questions, samples,
batches), and a judge asks no second time when a reply holds no verdict. The numbers such runs
produce mean nothing; what they show is that the command works end to end.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

ENV = "SLLM_SMOKE"
DOCS = 2
GROUP_TASKS = 2
NEW_TOKENS = 16
REPEATS = 2
STEPS = 2
BATCH = 1
ITEMS = 1

T = TypeVar("T")


def enabled() -> bool:
    """Whether the smoke-test switch is on (`SLLM_SMOKE` set to anything but empty or 0)."""
    return os.environ.get(ENV, "").strip() not in ("", "0")


def cap(value: int | None, smoke_value: int) -> int | None:
    """`value` unchanged, or at most `smoke_value` with the switch on (None or <= 0 = unlimited)."""
    if not enabled():
        return value
    return smoke_value if value is None or value <= 0 else min(value, smoke_value)


def head(items: Sequence[T], count: int = ITEMS) -> Sequence[T]:
    """`items` unchanged, or only the first `count` of them with the switch on."""
    return items[:count] if enabled() else items
