"""Length-controlled win rate (Dubois et al., 2024), alpaca_eval's `length_controlled_v1` GLM.

Per model, a logistic regression of the (continuous) preference on tanh of the standardised
length difference (baseline minus model, characters), the instruction's difficulty and a
model term, L1-penalised with the strength chosen by 5-fold cross-validation grouped by
instruction, no intercept. The LC win rate is the mean predicted preference with the length
term set to zero: "how often would the judge prefer the model if both answers were as long".

What alpaca_eval has and we may not: (1) per-instruction difficulties, fitted once by its authors
on all leaderboard models and downloaded from the hub -- we estimate them from the annotation files
given (a joint fit: model terms, per-model length slopes and one term per instruction), or read a
difficulty file when the user has it; (2) annotations of deliberately gamed baselines (concise and
verbose GPT-4) that regularise each fit toward the baseline (weight 0.2) -- without them the model
term is unregularised. Both change the numbers somewhat; docs/judging.md gives the measured gap.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sllm.errors import SllmError
from sllm.ratings.winrate import Annotation


def standardized_length_delta(rows: Sequence[Annotation]) -> np.ndarray:
    """(len(baseline) - len(model)) / its standard deviation over the rows (ddof 1)."""
    delta = np.array([len(r.output_1) - len(r.output_2) for r in rows], dtype=float)
    std = delta.std(ddof=1)
    return delta / std if std > 0 else delta


def _duplicated(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Continuous targets for a binary classifier: each row twice, labels 1 and 0 weighted p and 1-p."""
    xs = np.vstack([x, x])
    ys = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    weights = np.concatenate([p, 1 - p])
    groups = np.concatenate([np.arange(len(p)), np.arange(len(p))])
    return xs, ys, weights, groups


def _continuous_log_loss(y_true: np.ndarray, y_pred: np.ndarray, true_prob: np.ndarray) -> float:
    target = np.where(y_true == 1, true_prob, 1 - true_prob)
    y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
    return float(-np.mean(target * np.log(y_pred) + (1 - target) * np.log(1 - y_pred)))


def fit_glm(x: np.ndarray, p: np.ndarray, n_splits: int = 5) -> np.ndarray:
    """alpaca_eval's fit: L1 logistic regression on continuous targets, C by grouped CV."""
    import sklearn
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    xs, ys, weights, groups = _duplicated(x, p)
    true_prob = np.concatenate([p, 1 - p])
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(
            _continuous_log_loss, response_method="predict_proba", greater_is_better=False
        ).set_score_request(true_prob=True)
        model = LogisticRegressionCV(
            cv=GroupKFold(n_splits=n_splits),
            scoring=scorer,
            l1_ratios=[1.0],
            solver="liblinear",
            fit_intercept=False,
            random_state=123,
            use_legacy_attributes=False,
        )
        model.set_fit_request(sample_weight=True)
        model.fit(xs, ys, sample_weight=weights, groups=groups, true_prob=true_prob)
    return np.asarray(model.coef_[0])


def length_controlled_winrate(rows: Sequence[Annotation], difficulty: dict[str, float]) -> dict[str, float]:
    """LC win rate (0-100) and the GLM weights, for one model's annotations against the baseline."""
    kept = [r for r in rows if r.preference is not None and 1.0 <= r.preference <= 2.0]
    missing = [r.instruction[:60] for r in kept if r.instruction not in difficulty]
    if missing:
        raise SllmError(f"no instruction difficulty for {len(missing)} instructions, e.g. {missing[0]!r}")
    p = np.array([r.preference for r in kept], dtype=float) - 1.0
    d = np.array([difficulty[r.instruction] for r in kept])
    x = np.column_stack([np.tanh(standardized_length_delta(kept)), d, np.ones(len(kept))])
    w_length, w_difficulty, w_model = fit_glm(x, p)
    predicted = 1.0 / (1.0 + np.exp(-(w_difficulty * d + w_model)))
    return {
        "length_controlled_winrate": float(predicted.mean() * 100),
        "weight_length": float(w_length),
        "weight_difficulty": float(w_difficulty),
        "weight_model": float(w_model),
    }


def estimate_difficulty(annotation_sets: Sequence[Sequence[Annotation]], c: float = 1.0) -> dict[str, float]:
    """Instruction difficulty from a joint fit over several models' annotations (same baseline):
    logit P(model preferred) = model term + model-specific length slope + instruction term; the
    instruction terms, standardised, are the difficulties (sign: higher = the model side wins more)."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    instructions = sorted({r.instruction for rows in annotation_sets for r in rows})
    column = {text: i for i, text in enumerate(instructions)}
    n_models = len(annotation_sets)
    blocks, targets = [], []
    for m, rows in enumerate(annotation_sets):
        kept = [r for r in rows if r.preference is not None and 1.0 <= r.preference <= 2.0]
        length = np.tanh(standardized_length_delta(kept))
        model_part = np.zeros((len(kept), 2 * n_models))
        model_part[:, m] = 1.0
        model_part[:, n_models + m] = length
        instruction_part = sparse.csr_matrix(
            (np.ones(len(kept)), (np.arange(len(kept)), [column[r.instruction] for r in kept])),
            shape=(len(kept), len(instructions)),
        )
        blocks.append(sparse.hstack([sparse.csr_matrix(model_part), instruction_part]))
        targets.append(np.array([r.preference for r in kept]) - 1.0)
    x, p = sparse.vstack(blocks).tocsr(), np.concatenate(targets)
    xs = sparse.vstack([x, x]).tocsr()
    ys = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    fit = LogisticRegression(C=c, fit_intercept=False, max_iter=5000)
    fit.fit(xs, ys, sample_weight=np.concatenate([p, 1 - p]))
    terms = fit.coef_[0][2 * n_models :]
    terms = (terms - terms.mean()) / (terms.std() or 1.0)
    return dict(zip(instructions, terms.tolist()))


def load_difficulty(path: str | Path, instructions: Sequence[str]) -> dict[str, float]:
    """A difficulty CSV: alpaca_eval's instruction_difficulty.csv (index = position in the
    evaluation set, column instruction_difficulty) or one with an `instruction` column."""
    path = Path(path)
    if not path.is_file():
        raise SllmError(f"difficulty file not found: {path}")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "instruction_difficulty" not in rows[0]:
        raise SllmError(f"{path}: needs a column 'instruction_difficulty'")
    out = {}
    for number, row in enumerate(rows, start=2):
        key = row.get("instruction")
        if key is None:
            index = row.get("index") or row.get("") or str(number - 2)
            if not index.isdigit() or int(index) >= len(instructions):
                raise SllmError(f"{path}:{number}: index {index!r} is not a position in the evaluation set")
            key = instructions[int(index)]
        out[key] = float(row["instruction_difficulty"])
    return out
