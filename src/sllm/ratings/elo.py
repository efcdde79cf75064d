"""Online Elo (Chatbot Arena's early leaderboard): order-dependent, kept for reference only;
Bradley-Terry is the order-free estimate to report."""

from __future__ import annotations

from collections.abc import Sequence

from sllm.ratings.battles import Battle


def online_elo(
    battles: Sequence[Battle],
    k: float = 4.0,
    scale: float = 400.0,
    base: float = 10.0,
    init_rating: float = 1000.0,
) -> dict[str, float]:
    """Sequential Elo updates in file order (FastChat's compute_elo defaults: K=4)."""
    ratings: dict[str, float] = {}
    for b in battles:
        ra, rb = ratings.setdefault(b.model_a, init_rating), ratings.setdefault(b.model_b, init_rating)
        expected_a = 1.0 / (1.0 + base ** ((rb - ra) / scale))
        ratings[b.model_a] = ra + k * (b.score_a - expected_a)
        ratings[b.model_b] = rb + k * ((1 - b.score_a) - (1 - expected_a))
    return dict(sorted(ratings.items(), key=lambda kv: -kv[1]))


def bootstrap_online_elo(battles: Sequence[Battle], rounds: int, seed: int = 42) -> dict[str, list[float]]:
    """Online Elo on `rounds` resamples (with replacement, in drawn order) of the battles; seeded."""
    import numpy as np

    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        picked = rng.integers(0, len(battles), size=len(battles))
        for model, value in online_elo([battles[i] for i in picked]).items():
            samples.setdefault(model, []).append(value)
    return samples
