"""Bradley-Terry ratings by maximum likelihood, as Chatbot Arena computes them (FastChat's
`compute_mle_elo`): a logistic regression without intercept or penalty on +-log(BASE) indicator
rows, a tie half a win for each side, ratings = SCALE * coef + INIT_RATING, centred on
INIT_RATING unless anchored. With style features (arena-hard-auto's style control) the
standardised style differences are extra columns and the ratings are the model coefficients.

One solver serves the fit and the bootstrap: Newton's method run on all bootstrap rounds at once
(numpy, batched). A bootstrap round resamples battles with replacement, which is a multinomial
draw of how often each distinct battle row appears -- so identical rows are merged first and
every round is a reweighting of the same small design matrix.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sllm.errors import UsageError
from sllm.ratings.battles import Battle
from sllm.ratings.style import style_columns

SCALE, BASE, INIT_RATING = 400.0, 10.0, 1000.0
_RIDGE = 1e-9  # far too small to move a rating; keeps a constant style column solvable
# arena-hard-auto's style-controlled fit is scikit-learn's LogisticRegression with its default L2
# penalty (C = 1) on duplicated battle rows: 1/(2C) per battle in our parametrisation.
STYLE_L2 = 0.5
_MAX_STEP = 5.0  # safeguard for Newton on near-separable data (a model that never lost)


@dataclass
class Design:
    """Battles as a small regression: the distinct battle rows (model pair, score, style) with
    their counts, and the fit rows they fold into (one per unordered model pair without style;
    rows of a pair seen the other way round enter with the score flipped)."""

    models: list[str]
    features: tuple[str, ...]
    x: np.ndarray  # fit rows: +-log(BASE) model columns, then style columns
    counts: np.ndarray  # how often each distinct battle row occurs
    group: np.ndarray  # the fit row each distinct battle row folds into
    score: np.ndarray  # its score for the fit row's first model (1 win, 0.5 tie, 0 loss)

    def aggregate(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per fit row, the battles and the points of its first model, for each row of `weights`
        (rounds x distinct battle rows)."""
        from scipy import sparse

        fold = sparse.csr_matrix(
            (np.ones(len(self.group)), (np.arange(len(self.group)), self.group)),
            shape=(len(self.group), len(self.x)),
        )
        weights = np.atleast_2d(weights)
        return np.asarray((fold.T @ weights.T).T), np.asarray((fold.T @ (weights * self.score).T).T)


def build_design(battles: Sequence[Battle], features: Sequence[str] = (), base: float = BASE) -> Design:
    """Merge identical battles into counted rows; style columns for `features` (needs styles)."""
    models = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    if len(models) < 2:
        raise UsageError("Bradley-Terry needs battles between at least two models")
    index = {m: i for i, m in enumerate(models)}
    if features:
        missing = sum(b.style_a is None or b.style_b is None for b in battles)
        if missing:
            raise UsageError(
                f"style control needs both answers of every battle; {missing} of {len(battles)} battles "
                "have none (grades and judgments carry them in their prompts or outputs)"
            )
        style = style_columns([b.style_a for b in battles], [b.style_b for b in battles], features)  # type: ignore[misc]
        rows = [(index[b.model_a], index[b.model_b], b.score_a, tuple(s)) for b, s in zip(battles, style)]
    else:
        rows = [(index[b.model_a], index[b.model_b], b.score_a, ()) for b in battles]
    merged = Counter(rows)
    keys = list(merged)
    fit_rows: dict[tuple, int] = {}
    group, score = [], []
    for a, b, y, s in keys:
        # Without style a battle depends only on its pair: fold (b, a) into (a, b), score flipped.
        flip = not features and a > b
        key = (b, a, ()) if flip else (a, b, s)
        group.append(fit_rows.setdefault(key, len(fit_rows)))
        score.append(1.0 - y if flip else y)
    x = np.zeros((len(fit_rows), len(models) + len(features)))
    for r, (a, b, s) in enumerate(fit_rows):
        x[r, a], x[r, b] = math.log(base), -math.log(base)
        x[r, len(models) :] = s
    counts = np.array([merged[k] for k in keys], dtype=float)
    return Design(models, tuple(features), x, counts, np.array(group), np.array(score))


def _outer_products(x: np.ndarray):  # noqa: ANN202 - a scipy sparse matrix
    """Row n: the flattened outer product x_n x_n^T, sparse (a battle row touches two models and
    the style columns), so that every round's Hessian is one sparse product."""
    from scipy import sparse

    rows, cols, values = [], [], []
    q = x.shape[1]
    for n, row in enumerate(x):
        nz = np.flatnonzero(row)
        i, j = np.meshgrid(nz, nz, indexing="ij")
        rows.append(np.full(i.size, n))
        cols.append((i * q + j).ravel())
        values.append(np.outer(row[nz], row[nz]).ravel())
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(len(x), q * q)
    )


def newton_fit(
    x: np.ndarray, points: np.ndarray, weights: np.ndarray, n_models: int, l2: float = 0.0, tol: float = 1e-10
) -> np.ndarray:
    """Logistic-regression coefficients (no intercept; L2 penalty l2/2 |beta|^2, none by default)
    for each row of `weights` (rounds x rows: battles per row) at once, `points` the matching
    points won (so a row's target is points / weights). The first `n_models` columns are
    +-log(BASE) indicators: their sum is not identified, so it is kept at zero (centred)."""
    weights, points = np.atleast_2d(weights), np.atleast_2d(points)
    q = x.shape[1]
    beta = np.zeros((weights.shape[0], q))
    outer = _outer_products(x)
    gauge = np.zeros(q)
    gauge[:n_models] = 1.0 / math.sqrt(n_models)
    # The likelihood is flat along `gauge` and the gradient orthogonal to it: adding gauge gauge^T
    # to the Hessian makes it invertible without changing the step; the ridge covers a style
    # column that is constant.
    ridge = max(l2, _RIDGE)
    fixed = np.outer(gauge, gauge) + ridge * np.eye(q)
    for _ in range(200):
        p = 1.0 / (1.0 + np.exp(-(beta @ x.T)))
        gradient = (points - weights * p) @ x - ridge * beta
        curvature = weights * p * (1.0 - p)
        hessian = np.asarray(outer.T @ curvature.T).T.reshape(-1, q, q) + fixed
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        largest = np.abs(step).max(axis=1, keepdims=True)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(largest, 1e-300))
        beta += step
        beta[:, :n_models] -= beta[:, :n_models].mean(axis=1, keepdims=True)
        if largest.max() < tol:
            break
    return beta


def _fit(design: Design, weights: np.ndarray) -> np.ndarray:
    """Coefficients for each row of per-distinct-row battle counts."""
    counts, points = design.aggregate(weights)
    return newton_fit(design.x, points, counts, len(design.models), _l2(design))


def _l2(design: Design) -> float:
    return STYLE_L2 if design.features else 0.0


def _ratings(
    beta: np.ndarray, design: Design, scale: float, init_rating: float, anchor: tuple[str, float] | None
) -> np.ndarray:
    ratings = scale * beta[:, : len(design.models)] + init_rating
    if anchor is not None:
        ratings += anchor[1] - ratings[:, design.models.index(anchor[0])][:, None]
    return ratings


def _check_anchor(design: Design, anchor: tuple[str, float] | None) -> None:
    if anchor is not None and anchor[0] not in design.models:
        raise UsageError(f"anchor model '{anchor[0]}' is not in the battles")


def fit_bradley_terry(
    battles: Sequence[Battle],
    scale: float = SCALE,
    base: float = BASE,
    init_rating: float = INIT_RATING,
    anchor: tuple[str, float] | None = None,
    features: Sequence[str] = (),
) -> dict[str, float]:
    """Ratings of every model in the battles, highest first; `anchor` pins one model's rating;
    `features` adds style columns (the ratings are then style-controlled)."""
    design = build_design(battles, features, base)
    _check_anchor(design, anchor)
    ratings = _ratings(_fit(design, design.counts), design, scale, init_rating, anchor)[0]
    return dict(sorted(zip(design.models, ratings.tolist()), key=lambda kv: -kv[1]))


def style_coefficients(
    battles: Sequence[Battle], features: Sequence[str], base: float = BASE
) -> dict[str, float]:
    """The fitted style coefficients (log-odds per standard deviation of each feature difference)."""
    design = build_design(battles, features, base)
    beta = _fit(design, design.counts)[0]
    return dict(zip(features, beta[len(design.models) :].tolist()))


def bootstrap_ratings(
    battles: Sequence[Battle],
    rounds: int,
    seed: int = 42,
    scale: float = SCALE,
    base: float = BASE,
    init_rating: float = INIT_RATING,
    anchor: tuple[str, float] | None = None,
    features: Sequence[str] = (),
    chunk: int | None = None,
) -> dict[str, list[float]]:
    """Ratings refitted on `rounds` resamples (with replacement) of the battles; seeded."""
    design = build_design(battles, features, base)
    _check_anchor(design, anchor)
    rng = np.random.default_rng(seed)
    share = design.counts / design.counts.sum()
    # Rounds per batch: bounded so that the batched Hessian products stay around 10^7 numbers.
    chunk = chunk or max(
        1, min(250, 10**7 // (design.x.shape[0] + design.x.shape[1] ** 2 + len(design.counts)))
    )
    samples = []
    for start in range(0, rounds, chunk):
        draws = rng.multinomial(int(design.counts.sum()), share, size=min(chunk, rounds - start))
        samples.append(_ratings(_fit(design, draws.astype(float)), design, scale, init_rating, anchor))
    stacked = np.vstack(samples) if samples else np.zeros((0, len(design.models)))
    return {m: stacked[:, i].tolist() for i, m in enumerate(design.models)}


def win_probability(rating_a: float, rating_b: float, scale: float = SCALE, base: float = BASE) -> float:
    """P(a beats b) under the ratings."""
    return 1.0 / (1.0 + base ** ((rating_b - rating_a) / scale))


def baseline_scores(
    ratings: dict[str, float],
    samples: dict[str, list[float]],
    baseline: str,
    scale: float = SCALE,
    base: float = BASE,
) -> dict[str, dict[str, float | None]]:
    """Arena-Hard's score: each model's predicted win rate (%) against `baseline`, with the
    2.5-97.5 percentile interval of the bootstrap ratings' gaps to the baseline."""
    if baseline not in ratings:
        raise UsageError(f"baseline model '{baseline}' is not in the battles; models: {', '.join(ratings)}")
    out: dict[str, dict[str, float | None]] = {}
    reference = np.asarray(samples.get(baseline, []), dtype=float)
    for model, rating in ratings.items():
        row: dict[str, float | None] = {
            "score": 100 * win_probability(rating, ratings[baseline], scale, base),
            "ci_low": None,
            "ci_high": None,
        }
        if len(reference) and model != baseline:
            gaps = np.asarray(samples[model], dtype=float) - reference
            low, high = np.percentile(gaps, [2.5, 97.5])
            row["ci_low"] = 100 * win_probability(low, 0.0, scale, base)
            row["ci_high"] = 100 * win_probability(high, 0.0, scale, base)
        elif model == baseline:
            row["ci_low"] = row["ci_high"] = 50.0
        out[model] = row
    return dict(sorted(out.items(), key=lambda kv: -float(kv[1]["score"])))  # type: ignore[arg-type]


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
