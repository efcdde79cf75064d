"""Speed of sllm's batched Bradley-Terry bootstrap against FastChat's loop, measured in one run.

    python benchmarks/bt_bootstrap_speed.py [--models 8] [--battles 5000] [--rounds 1000]

FastChat's get_bootstrap_result resamples the battles and refits scikit-learn's
LogisticRegression once per round (what `sllm rate` did before, 100 rounds by default). sllm
draws all rounds as multinomial counts over the distinct battle rows and runs Newton's method on
every round at once. Both run on the same synthetic battles; the script prints each side's
seconds, the ratio, and how far the two 95% intervals are apart (they are different random draws
of the same bootstrap distribution, so they agree to within sampling noise).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from sllm.ratings.battles import Battle
from sllm.ratings.bradley_terry import bootstrap_ratings


def synthetic(models: int, battles: int, seed: int = 0) -> list[Battle]:
    """Battles between models with ratings 1000 + 40 k, ties one in ten."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(battles):
        a, b = rng.choice(models, size=2, replace=False)
        p = 1 / (1 + 10 ** ((b - a) * 40 / 400))
        r = rng.random()
        winner = "tie" if r < 0.1 else "model_a" if r < 0.1 + 0.9 * p else "model_b"
        out.append(Battle(f"m{a}", f"m{b}", winner))  # type: ignore[arg-type]
    return out


def fastchat_loop(battles: list[Battle], rounds: int, seed: int) -> dict[str, list[float]]:
    """FastChat's compute_mle_elo refitted on each resample (scikit-learn, no penalty)."""
    from sklearn.linear_model import LogisticRegression

    models = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    index = {m: i for i, m in enumerate(models)}
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {m: [] for m in models}
    for _ in range(rounds):
        picked = [battles[i] for i in rng.integers(0, len(battles), size=len(battles))]
        rows = picked + picked
        x = np.zeros((len(rows), len(models)))
        y = np.zeros(len(rows))
        for i, b in enumerate(rows):
            x[i, index[b.model_a]], x[i, index[b.model_b]] = math.log(10), -math.log(10)
            y[i] = 1.0 if b.winner == "model_a" or (b.winner == "tie" and i < len(picked)) else 0.0
        coef = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-6).fit(x, y).coef_[0]
        for m, v in zip(models, 400 * coef + 1000):
            samples[m].append(float(v))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--battles", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()
    battles = synthetic(args.models, args.battles)
    start = time.perf_counter()
    ours = bootstrap_ratings(battles, args.rounds, seed=1)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = fastchat_loop(battles, args.rounds, seed=1)
    theirs_s = time.perf_counter() - start
    width = {m: np.subtract(*np.percentile(v, [97.5, 2.5])) for m, v in ours.items()}
    gap = max(
        abs(np.percentile(ours[m], q) - np.percentile(theirs[m] - np.mean(theirs[m]) + np.mean(ours[m]), q))
        for m in ours
        for q in (2.5, 97.5)
    )
    print(json.dumps({
        "models": args.models, "battles": args.battles, "rounds": args.rounds,
        "sllm_seconds": round(ours_s, 3), "fastchat_loop_seconds": round(theirs_s, 3),
        "speedup": round(theirs_s / ours_s, 1),
        "ci_width_median": round(float(np.median(list(width.values()))), 2),
        "largest_ci_endpoint_difference": round(float(gap), 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
