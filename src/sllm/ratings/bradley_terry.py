"""Bradley-Terry ratings by maximum likelihood, as Chatbot Arena computes them (FastChat's
`compute_mle_elo`): a logistic regression without intercept or penalty on +-log(BASE) indicator
rows, wins weighted 2 and ties 1 for each side (a tie is half a win), ratings = SCALE * coef +
INIT_RATING. Confidence intervals come from a seeded bootstrap over battles.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from sllm.errors import UsageError
from sllm.ratings.battles import Battle

SCALE, BASE, INIT_RATING = 400.0, 10.0, 1000.0


def _pair_weights(battles: Sequence[Battle]) -> Counter[tuple[str, str]]:
    """weights[(a, b)] = 2 * wins of a over b + ties between them (FastChat's ptbl_win)."""
    weights: Counter[tuple[str, str]] = Counter()
    for b in battles:
        if b.winner == "model_a":
            weights[(b.model_a, b.model_b)] += 2
        elif b.winner == "model_b":
            weights[(b.model_b, b.model_a)] += 2
        else:
            weights[(b.model_a, b.model_b)] += 1
            weights[(b.model_b, b.model_a)] += 1
    return weights


def fit_bradley_terry(
    battles: Sequence[Battle],
    scale: float = SCALE,
    base: float = BASE,
    init_rating: float = INIT_RATING,
    anchor: tuple[str, float] | None = None,
) -> dict[str, float]:
    """Ratings of every model in the battles, highest first; `anchor` pins one model's rating."""
    from sklearn.linear_model import LogisticRegression

    models = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    if anchor is not None and anchor[0] not in models:
        raise UsageError(f"anchor model '{anchor[0]}' is not in the battles")
    index = {m: i for i, m in enumerate(models)}
    weights = _pair_weights(battles)
    rows, labels, sample_weight = [], [], []
    for a in models:
        for b in models:
            if a == b or (weights[(a, b)] == 0 and weights[(b, a)] == 0):
                continue
            # Two rows per ordered pair, as FastChat: "a beats b" weighted by a's wins over b,
            # and "a loses to b" weighted by b's wins over a.
            row = np.zeros(len(models))
            row[index[a]], row[index[b]] = math.log(base), -math.log(base)
            rows += [row, row]
            labels += [1.0, 0.0]
            sample_weight += [weights[(a, b)], weights[(b, a)]]
    if not rows or len(set(labels)) < 2:
        raise UsageError("Bradley-Terry needs battles between at least two models")
    # C=inf: no penalty (FastChat passes penalty=None, which scikit-learn 1.8 deprecated).
    fit = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-6, max_iter=1000)
    fit.fit(np.array(rows), np.array(labels), sample_weight=np.array(sample_weight, dtype=float))
    ratings = scale * fit.coef_[0] + init_rating
    if anchor is not None:
        ratings += anchor[1] - ratings[index[anchor[0]]]
    return dict(sorted(zip(models, ratings.tolist()), key=lambda kv: -kv[1]))


def bootstrap_ratings(
    battles: Sequence[Battle], rounds: int, seed: int = 42, **fit_options: object
) -> dict[str, list[float]]:
    """Ratings refitted on `rounds` resamples (with replacement) of the battles; seeded."""
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        picked = rng.integers(0, len(battles), size=len(battles))
        ratings = fit_bradley_terry([battles[i] for i in picked], **fit_options)  # type: ignore[arg-type]
        for model, value in ratings.items():
            samples.setdefault(model, []).append(value)
    return samples


def win_probability(rating_a: float, rating_b: float, scale: float = SCALE, base: float = BASE) -> float:
    """P(a beats b) under the ratings."""
    return 1.0 / (1.0 + base ** ((rating_b - rating_a) / scale))


def win_rate_matrix(battles: Sequence[Battle]) -> dict[str, dict[str, float]]:
    """Observed share of points (ties = 1/2) of the row model against the column model."""
    points: Counter[tuple[str, str]] = Counter()
    games: Counter[tuple[str, str]] = Counter()
    for b in battles:
        points[(b.model_a, b.model_b)] += b.score_a
        points[(b.model_b, b.model_a)] += 1 - b.score_a
        games[(b.model_a, b.model_b)] += 1
        games[(b.model_b, b.model_a)] += 1
    models = sorted({m for pair in games for m in pair})
    return {a: {b: points[(a, b)] / games[(a, b)] for b in models if games[(a, b)]} for a in models}
