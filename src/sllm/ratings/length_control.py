"""Length-controlled win rate (Dubois et al., 2024): alpaca_eval's `length_controlled_v1` GLM.

Per model, a logistic regression of the (continuous) preference on tanh of the standardised
length difference (baseline minus model, characters), the instruction's difficulty and a model
term, L1-penalised with the strength chosen by 5-fold cross-validation grouped by row, no
intercept. The fit is regularised as alpaca_eval's: rows of two length-gamed versions of the
baseline (its concise and verbose GPT-4 Turbo answers, no model term, weight 0.2 shared between
them) pin the length and difficulty slopes to how the judge reacts to length alone, so a model
cannot buy LC by answering in a few words. The LC win rate is the mean predicted preference with
the length term at zero; its standard error is that of the mean of those predictions (as
alpaca_eval's `lc_standard_error`).

For AlpacaEval 2.0 (baseline gpt4_1106_preview, every instruction one of AlpacaEval's 805) the
difficulty and the gamed-baseline rows come from sllm's shipped reference (data/README.md), so a
model's LC does not depend on which other files are passed. Two things alpaca_eval does are
reproduced there because its published LC depends on them: difficulties are looked up by row
position when a file misses a few rows (`by_instruction` corrects that), and a model whose
annotations were part of alpaca_eval's own difficulty fit (on its leaderboard before LC came out)
has the difficulty re-fitted with its annotations added (`lc_of_model`). Elsewhere difficulty
comes from a file (`--difficulty`) or a joint fit over the files given, and the fit is
regularised only with gamed-baseline annotations the user supplies (the same judge's verdicts on a
concise and a verbose rewrite of the baseline's answers): another judge's reaction to length is
no prior.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sllm.errors import SllmError, UsageError
from sllm.ratings.alpaca_eval_reference import LengthReference, alpaca_eval_reference, instruction_key
from sllm.ratings.winrate import Annotation

REGULARIZATION = 0.2  # alpaca_eval's regularize_to_baseline_lambda
POSITIONAL_MAX_MISSING = 0.05  # files missing up to this share follow alpaca_eval's row positions
MAX_REFITS = 5  # in-sample difficulty re-fits; the ranks settle after two or three


@dataclass
class Difficulty:
    """Difficulty per row of each model's annotations, the gamed-baseline rows, where they came from,
    and what the row-position lookup and the in-sample re-fit did or need."""

    by_model: dict[str, np.ndarray]
    anchor_x: np.ndarray
    anchor_p: np.ndarray
    source: str
    slots: dict[str, np.ndarray] = field(default_factory=dict)  # each row's reference instruction
    missing_by_position: dict[str, int] = field(default_factory=dict)  # looked up by row position
    reference: LengthReference | None = None  # the shipped reference, when its difficulty is used
    refit: frozenset[str] = frozenset()  # models re-fitted in sample (`lc_of_model`)


def valid(rows: Sequence[Annotation]) -> np.ndarray:
    """Mask of rows whose preference is a number in [1, 2]."""
    return np.array([r.preference is not None and 1.0 <= r.preference <= 2.0 for r in rows], dtype=bool)


def standardized_length_delta(rows: Sequence[Annotation]) -> np.ndarray:
    """(len(baseline) - len(model)) / its standard deviation over the rows (ddof 1)."""
    delta = np.array([len(r.output_1) - len(r.output_2) for r in rows], dtype=float)
    std = delta.std(ddof=1) if len(delta) > 1 else 0.0
    return delta / std if std > 0 else delta


def length_feature(rows: Sequence[Annotation]) -> np.ndarray:
    """The GLM's length column for the rows with a valid preference: tanh of the length difference
    standardised over all rows, unparsed ones included (as alpaca_eval, which drops them after)."""
    return np.tanh(standardized_length_delta(rows))[valid(rows)]


@contextmanager
def _quiet_convergence() -> Iterator[None]:
    """liblinear stops at alpaca_eval's iteration cap on some cross-validation folds' extreme C;
    the same cap keeps the numbers alpaca_eval's, so its ConvergenceWarning is no news to users."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _weighted_log_loss(
    y_true: np.ndarray, y_pred: np.ndarray, true_prob: np.ndarray, true_weight: np.ndarray
) -> float:
    target = np.where(y_true == 1, true_prob, 1 - true_prob)
    y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
    return float(-np.mean(true_weight * (target * np.log(y_pred) + (1 - target) * np.log(1 - y_pred))))


def fit_glm(
    x: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None, n_splits: int = 5
) -> np.ndarray:
    """alpaca_eval's fit: L1 logistic regression on continuous targets (each row twice, labels 1
    and 0 weighted p and 1-p, times the row's weight), C by cross-validation grouped by row."""
    import sklearn
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    n = len(p)
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    xs = np.vstack([x, x])
    ys = np.concatenate([np.ones(n), np.zeros(n)])
    true_prob = np.concatenate([p, 1 - p])
    true_weight = np.concatenate([weight, weight])
    groups = np.concatenate([np.arange(n), np.arange(n)])
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(
            _weighted_log_loss, response_method="predict_proba", greater_is_better=False
        ).set_score_request(true_prob=True, true_weight=True)
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
        with _quiet_convergence():
            model.fit(
                xs,
                ys,
                sample_weight=true_prob * true_weight,
                groups=groups,
                true_prob=true_prob,
                true_weight=true_weight,
            )
    return np.asarray(model.coef_[0])


def length_controlled_winrate(
    rows: Sequence[Annotation],
    difficulty: Sequence[float] | np.ndarray,
    anchor_x: np.ndarray | None = None,
    anchor_p: np.ndarray | None = None,
    regularization: float = REGULARIZATION,
) -> dict[str, float]:
    """LC win rate (0-100), its standard error and the GLM weights, for one model's annotations
    against the baseline; `difficulty` is aligned with `rows`; the anchor rows (gamed baselines:
    tanh length, difficulty, 0) regularise the fit with total weight `regularization`."""
    keep = valid(rows)
    kept = [r for r, k in zip(rows, keep) if k]
    d = np.asarray(difficulty, dtype=float)[keep]
    if len(kept) < 2:
        raise SllmError(f"too few valid preferences ({len(kept)}) for a length-controlled win rate")
    if all(r.generator_1 == r.generator_2 for r in kept):  # the baseline against itself: 1/2 by construction
        return {"length_controlled_winrate": 50.0, "lc_standard_error": 0.0, "weight_length": 0.0,
                "weight_difficulty": 0.0, "weight_model": 0.0}  # fmt: skip
    p = np.array([r.preference for r in kept], dtype=float) - 1.0
    x = np.column_stack([length_feature(rows), d, np.ones(len(kept))])
    weight = None
    if regularization and anchor_x is not None and anchor_p is not None and len(anchor_p):
        # Gamed rows first, as alpaca_eval concatenates them: the fold assignment follows the order.
        x = np.vstack([anchor_x, x])
        weight = np.concatenate([np.full(len(anchor_p), regularization / 2), np.ones(len(p))])
        p = np.concatenate([anchor_p, p])
    w_length, w_difficulty, w_model = fit_glm(x, p, weight)
    predicted = 1.0 / (1.0 + np.exp(-(w_difficulty * d + w_model)))
    return {
        "length_controlled_winrate": float(predicted.mean() * 100),
        "lc_standard_error": float(predicted.std(ddof=1) / math.sqrt(len(predicted)) * 100),
        "weight_length": float(w_length),
        "weight_difficulty": float(w_difficulty),
        "weight_model": float(w_model),
    }


def lc_of_model(
    table: Difficulty, model: str, rows: Sequence[Annotation], regularization: float = REGULARIZATION
) -> dict[str, float]:
    """`length_controlled_winrate` of one model under a resolved difficulty. A model in
    `table.refit` was among the models alpaca_eval fitted its difficulties on, so its published LC
    is in sample: its fitted weights and annotations join the reference's difficulty estimate, the
    GLM is fitted again, and so on until the difficulty ranks settle."""
    difficulty = table.by_model[model]
    result = length_controlled_winrate(rows, difficulty, table.anchor_x, table.anchor_p, regularization)
    if model not in table.refit or table.reference is None:
        return result
    keep = valid(rows)
    slots = table.slots[model][keep]
    preference = np.array([r.preference for r, k in zip(rows, keep) if k], dtype=float) - 1.0
    length = length_feature(rows)
    for _ in range(MAX_REFITS):
        offset = result["weight_length"] * length + result["weight_model"]
        refitted = difficulty.copy()
        refitted[keep] = table.reference.refit(slots, preference, offset, result["weight_difficulty"])[slots]
        if np.array_equal(refitted, difficulty):
            break
        difficulty = refitted
        result = length_controlled_winrate(rows, difficulty, table.anchor_x, table.anchor_p, regularization)
    return result


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
        kept = [r for r, k in zip(rows, valid(rows)) if k]
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
    with _quiet_convergence():
        fit.fit(xs, ys, sample_weight=np.concatenate([p, 1 - p]))
    terms = fit.coef_[0][2 * n_models :]
    terms = (terms - terms.mean()) / (terms.std() or 1.0)
    return dict(zip(instructions, terms.tolist()))


def load_difficulty(path: str | Path, keys_by_index: Sequence[str]) -> dict[str, float]:
    """A difficulty CSV, by instruction key (`instruction_key`): alpaca_eval's
    instruction_difficulty.csv (index = position in the evaluation set, whose keys are
    `keys_by_index`; column instruction_difficulty) or one with an `instruction` column."""
    path = Path(path)
    if not path.is_file():
        raise SllmError(f"difficulty file not found: {path}")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "instruction_difficulty" not in rows[0]:
        raise SllmError(f"{path}: needs a column 'instruction_difficulty'")
    out = {}
    for number, row in enumerate(rows, start=2):
        if row.get("instruction") is not None:
            key = instruction_key(row["instruction"])
        else:
            index = row.get("index") or row.get("") or str(number - 2)
            if not index.isdigit() or int(index) >= len(keys_by_index):
                raise SllmError(f"{path}:{number}: index {index!r} is not a position in the evaluation set")
            key = keys_by_index[int(index)]
        try:
            out[key] = float(row["instruction_difficulty"])
        except ValueError:
            raise SllmError(f"{path}:{number}: instruction_difficulty is not a number") from None
    return out


REFERENCE_BASELINE = "gpt4_1106_preview"  # the baseline (and judge set-up) of the shipped reference


def gamed_anchor_rows(
    gamed: Mapping[str, Sequence[Annotation]], table: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Regularisation rows from annotations of length-gamed versions of the baseline (a concise and
    a verbose rewrite, judged by the same judge against the baseline): tanh length, difficulty, 0."""
    xs, ps = [], []
    for name, rows in gamed.items():
        kept = [r for r, k in zip(rows, valid(rows)) if k]
        missing = [r.instruction[:60] for r in kept if r.instruction not in table]
        if missing:
            raise SllmError(
                f"gamed baseline {name}: no difficulty for {len(missing)} instructions, e.g. {missing[0]!r}"
            )
        length = np.tanh(standardized_length_delta(kept))
        xs.append(np.column_stack([length, [table[r.instruction] for r in kept], np.zeros(len(kept))]))
        ps.append(np.array([r.preference for r in kept], dtype=float) - 1.0)
    return (np.vstack(xs), np.concatenate(ps)) if xs else (np.zeros((0, 3)), np.zeros(0))


def _reference_slots(
    rows: Sequence[Annotation], position: Mapping[str, int], by_instruction: bool
) -> tuple[np.ndarray, int]:
    """Each row's place in the evaluation set, and how many rows are missing when they are looked
    up by row position as alpaca_eval does: a file in evaluation order that lacks a few rows (up
    to POSITIONAL_MAX_MISSING) gets row j's difficulty from place j, shifted after each gap."""
    slots = np.array([position[instruction_key(r.instruction)] for r in rows], dtype=int)
    missing = len(position) - len(rows)
    in_order = bool(np.all(np.diff(slots) > 0))
    if by_instruction or not in_order or not 0 < missing <= POSITIONAL_MAX_MISSING * len(position):
        return slots, 0
    return np.arange(len(rows)), missing


def resolve_difficulty(  # noqa: PLR0913 - the difficulty choices of `sllm winrate`
    by_model: Mapping[str, Sequence[Annotation]],
    source: str | Path = "auto",
    by_instruction: bool = False,
    baseline: str | None = None,
    gamed: Mapping[str, Sequence[Annotation]] | None = None,
    reference: LengthReference | None = None,
) -> Difficulty:
    """Difficulty for every annotation row of every model, and the gamed-baseline rows to
    regularise with. `source`: auto (sllm's AlpacaEval reference when the baseline is
    gpt4_1106_preview and every instruction is AlpacaEval's, else a joint fit), alpaca_eval,
    joint, or a CSV file. On AlpacaEval's instructions a file missing a few rows has its
    difficulties looked up by row position, as alpaca_eval did for its leaderboard, unless
    `by_instruction`. `gamed`: annotations of length-gamed versions of the baseline to regularise
    with; without them, the shipped AlpacaEval rows when they apply. `reference`: another
    AlpacaEval reference than the shipped one (benchmarks)."""
    ref = reference or alpaca_eval_reference()
    every = [r.instruction for rows in [*by_model.values(), *(gamed or {}).values()] for r in rows]
    covered = ref.covers(every)
    reference_setting = covered and baseline in (None, REFERENCE_BASELINE)
    key_of = {text: instruction_key(text) for text in set(every)}
    position = {k: i for i, k in enumerate(ref.keys)}
    ref_difficulty: np.ndarray | None = None  # in evaluation-set order, for the row-position lookup
    if str(source) in ("auto", "alpaca_eval"):
        if str(source) == "alpaca_eval" and not covered:
            missing = next(t for t in every if key_of[t] not in position)
            raise UsageError(f"--difficulty alpaca_eval: not an AlpacaEval instruction: {missing[:60]!r}")
        source = "alpaca_eval" if reference_setting or str(source) == "alpaca_eval" else "joint"
    shipped = str(source) == "alpaca_eval"
    if shipped:
        table = {t: float(ref.difficulty[position[k]]) for t, k in key_of.items()}
        ref_difficulty = ref.difficulty
        note = "instruction difficulty: sllm's AlpacaEval 2.0 reference (ratings/data/README.md)"
    elif str(source) == "joint":
        table = estimate_difficulty([*by_model.values(), *(gamed or {}).values()])
        note = (
            f"instruction difficulty fitted jointly on {len(by_model) + len(gamed or {})} annotation set(s)"
        )
    else:
        # Positions in a difficulty file are positions in the evaluation set: AlpacaEval's own
        # order when the instructions are AlpacaEval's, else their order of first appearance.
        order = list(ref.keys) if covered else [key_of[t] for t in dict.fromkeys(every)]
        by_key = load_difficulty(source, order)
        table = {t: by_key[k] for t, k in key_of.items() if k in by_key}
        note = f"instruction difficulty from {source}"
        if covered and all(k in by_key for k in ref.keys):
            ref_difficulty = np.array([by_key[k] for k in ref.keys])
    by_model_d, slots, by_position = {}, {}, {}
    for model, rows in by_model.items():
        if ref_difficulty is not None and covered:
            slots[model], missing = _reference_slots(rows, position, by_instruction)
            if missing:
                by_position[model] = missing
                by_model_d[model] = ref_difficulty[slots[model]].astype(float)
                continue
        absent = [r.instruction[:60] for r in rows if r.instruction not in table]
        if absent:
            raise SllmError(f"no instruction difficulty for {len(absent)} instructions, e.g. {absent[0]!r}")
        by_model_d[model] = np.array([table[r.instruction] for r in rows], dtype=float)
    if gamed:
        anchor_x, anchor_p = gamed_anchor_rows(gamed, table)
        note += f"; regularised toward {len(gamed)} gamed baseline(s) given"
    elif reference_setting:
        anchor_difficulty = ref.difficulty if ref_difficulty is None else ref_difficulty
        anchor_x = np.column_stack(
            [ref.gamed_length, anchor_difficulty[ref.gamed_position], np.zeros(len(ref.gamed_length))]
        )
        anchor_p = ref.gamed_preference
        note += "; regularised toward AlpacaEval's gamed GPT-4 Turbo baselines"
    else:
        anchor_x, anchor_p = np.zeros((0, 3)), np.zeros(0)
        note += "; not regularised (no --gamed-baseline for this judge): very short answers can inflate LC"
    refit = frozenset(m for m in by_model if shipped and m in ref.in_sample)
    if refit:
        note += (
            f"; re-fitted with their own annotations, as alpaca_eval's difficulty fit had them:"
            f" {', '.join(sorted(refit))}"
        )
    return Difficulty(
        by_model_d, anchor_x, anchor_p, note, slots, by_position, ref if shipped else None, refit
    )
