"""Build sllm's AlpacaEval 2.0 length-control reference (src/sllm/ratings/data/alpaca_eval_lc.csv, .json).

    python benchmarks/alpaca_eval_difficulty.py --alpaca-eval PATH_TO_ALPACA_EVAL_CLONE [--cross-validate]

alpaca_eval's `length_controlled_v1` GLM needs two files it downloads from the Hugging Face hub
and that are not in its repository: `instruction_difficulty.csv` (one term per instruction) and
`df_gamed.csv` (annotations of the length-gamed GPT-4 baselines that regularise every fit). This
script rebuilds both from what the repository does publish (commit cd543a1 or later; a clone with
its history, or any folder of its files with GIT_DIR pointing at a clone):

1. Difficulty. alpaca_eval fitted its difficulties jointly on the annotations of the models on its
   leaderboard when LC came out (commit 241e1f6, 2024-03-19); the models with public annotations
   among those (the "pool") stand in for them. The repository publishes, per model, the GLM
   weights it fitted with the hub difficulty (metrics/weights/.../baseline_gpt4_1106_preview.csv).
   Holding each pool model's published length and model weights fixed, every instruction's
   difficulty is the (ridge-shrunk) maximum-likelihood value explaining the pool's preferences on
   it (`raw_difficulty`, with the curvature `raw_information` so that one more model can be added
   later); only its rank is kept. The values given to the ranks come from the published
   leaderboard: LC of a model is mean_i sigmoid(w_model + w_difficulty * d_i), so the
   distribution of d is fitted (a cubic in normal scores, sorted) so that the published weights
   of every leaderboard model reproduce its published LC win rate.
2. Gamed-baseline rows. For gpt4_1106_preview_verbose and _concise, the length feature comes from
   their published outputs; their preferences, whose annotations are not published, are the
   predictions of their own published GLM weights.
3. The names of all models on the leaderboard at that commit go to the .json: for them sllm re-fits
   the difficulty with the model's own annotations added, as alpaca_eval's fit had them.

The 16 models whose annotations sllm's tests and benchmark measure against (the 3 alpaca-7b
variants and the 13 held-out models of the shared data) are left out of steps 1 and 2, so the
measured error on them is out of sample. `--cross-validate` prints the LC error of each pool model
when the difficulty is rebuilt without its fold (5 folds), computed by sllm's `lc_of_model`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import norm, rankdata

WEIGHTS = (
    "src/alpaca_eval/metrics/weights/weighted_alpaca_eval_gpt4_turbo/length_controlled_v1/"
    "baseline_gpt4_1106_preview.csv"
)
BOARD = "src/alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
ANNOTATIONS = "results/{}/weighted_alpaca_eval_gpt4_turbo/annotations.json"
OUTPUTS = "results/{}/model_outputs.json"
SOURCE_COMMIT = "cd543a149df89434d8a54582c0151c0b945c3d20"
LC_COMMIT = "241e1f6"  # "Yann/length correction (#258)": length_controlled_v1 and its hub files appear
BASELINE = "gpt4_1106_preview"
GAMED = ("gpt4_1106_preview_verbose", "gpt4_1106_preview_concise")
MEASURED = {
    "alpaca-7b", "alpaca-7b_concise", "alpaca-7b_verbose", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-1106_concise",
    "gpt-3.5-turbo-1106_verbose", "claude-2.1", "claude-2.1_concise", "vicuna-13b-v1.5", "Qwen-14B-Chat",
    "OpenHermes-2.5-Mistral-7B", "gemma-7b-it", "falcon-7b-instruct", "Mixtral-8x7B-Instruct-v0.1_concise",
    "gpt4_gamed", "NullModel",
}  # fmt: skip
RIDGE = 16.0  # shrinkage of each instruction's estimate; see --cross-validate and data/README.md
DEGREE = 3  # cubic in normal scores for the distribution of difficulties


def instruction_key(text: str) -> str:
    """The key sllm looks difficulties up by: sha256 of the stripped instruction, 16 hex digits."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


def read_table(path: Path) -> dict[str, dict[str, str]]:
    """A CSV keyed by its first (unnamed) column."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {row[""]: row for row in csv.DictReader(handle)}


def weights_of(row: dict[str, str]) -> tuple[float, float, float]:
    """(length, difficulty, model) weights of one published GLM."""
    return (
        float(row["np.tanh(std_delta_len)"]),
        float(row["instruction_difficulty"]),
        float(row["not_gamed_baseline.astype(float)"]),
    )


def tanh_length(baseline: list[str], model: list[str]) -> np.ndarray:
    """alpaca_eval's length feature: tanh of (len baseline - len model) / its std (ddof 1)."""
    delta = np.array([len(b) - len(m) for b, m in zip(baseline, model)], dtype=float)
    return np.tanh(delta / delta.std(ddof=1))


def leaderboard_at_lc(root: Path) -> list[str]:
    """Models with weighted_alpaca_eval_gpt4_turbo annotations in the repository at LC_COMMIT."""
    listing = subprocess.run(
        ["git", "-C", str(root), "ls-tree", "-r", "--name-only", LC_COMMIT, "--", "results"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    suffix = "/weighted_alpaca_eval_gpt4_turbo/annotations.json"
    return sorted(path.split("/")[1] for path in listing if path.endswith(suffix))


def pool_rows(
    root: Path, weights: dict, position: dict[str, int], models: list[str]
) -> tuple[np.ndarray, ...]:
    """The pool's rows: logit offset (published length and model terms), slope (published
    difficulty weight), preference in [0, 1] and instruction position."""
    offset, slope, target, where = [], [], [], []
    for model in models:
        rows = json.loads((root / ANNOTATIONS.format(model)).read_text(encoding="utf-8"))
        length = tanh_length([r["output_1"] or "" for r in rows], [r["output_2"] or "" for r in rows])
        kept = [k for k, r in enumerate(rows) if r["preference"] is not None]
        w_length, w_difficulty, w_model = weights[model]
        offset.append(w_length * length[kept] + w_model)
        slope.append(np.full(len(kept), w_difficulty))
        target.append(np.array([1.5 if float(rows[k]["preference"]) == 0 else float(rows[k]["preference"])
                                for k in kept]) - 1)  # fmt: skip
        where.append(np.array([position[rows[k]["instruction"].strip()] for k in kept]))
    return tuple(map(np.concatenate, (offset, slope, target, where)))


def raw_difficulty(rows: tuple[np.ndarray, ...], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per instruction, the ridge-shrunk difficulty explaining the pool's preferences given their
    published weights (Newton's method, all instructions at once), and the curvature there."""
    o, b, p, i = rows
    d = np.zeros(n)
    for _ in range(200):
        q = 1 / (1 + np.exp(-(o + b * d[i])))
        step = (np.bincount(i, b * (p - q), n) - RIDGE * d) / (np.bincount(i, b * b * q * (1 - q), n) + RIDGE)
        d += step
        if np.abs(step).max() < 1e-12:
            break
    q = 1 / (1 + np.exp(-(o + b * d[i])))
    return d, np.bincount(i, b * b * q * (1 - q), n) + RIDGE


def calibrate(raw: np.ndarray, weights: dict, board: dict, leave_out: set[str]) -> tuple[np.ndarray, float]:
    """Values for the ranks of `raw` such that published weights reproduce published LC (sorted,
    so that a harder instruction never gets a lower value than an easier one)."""
    models = [m for m in weights if m in board and m not in MEASURED | leave_out and m != BASELINE]
    a = np.array([weights[m][2] for m in models])
    b = np.array([weights[m][1] for m in models])
    lc = np.array([float(board[m]["length_controlled_winrate"]) for m in models])
    ranks = rankdata(raw, method="ordinal")
    z = norm.ppf((ranks - 0.5) / len(raw))

    def values(c: np.ndarray) -> np.ndarray:
        return sum(c[k] * z**k for k in range(len(c)))

    def residual(c: np.ndarray) -> np.ndarray:
        return 100 * (1 / (1 + np.exp(-(a[:, None] + b[:, None] * values(c)[None, :])))).mean(axis=1) - lc

    fit = least_squares(residual, np.array([0.0, 1.0] + [0.0] * (DEGREE - 1)))
    return np.sort(values(fit.x))[ranks - 1], float(np.abs(fit.fun).mean())


def gamed_columns(root: Path, instructions: list[str], weights: dict, difficulty: np.ndarray) -> dict:
    """Tanh length and predicted preference of each gamed baseline, per instruction."""
    base = {
        r["instruction"].strip(): r["output"]
        for r in json.loads((root / OUTPUTS.format(BASELINE)).read_text())
    }
    columns = {}
    for gamed in GAMED:
        outputs = {
            r["instruction"].strip(): r["output"]
            for r in json.loads((root / OUTPUTS.format(gamed)).read_text())
        }
        length = tanh_length(
            [base[t.strip()] for t in instructions], [outputs[t.strip()] for t in instructions]
        )
        w_length, w_difficulty, w_model = weights[gamed]
        columns[f"{gamed}_tanh_length"] = length
        columns[f"{gamed}_preference"] = 1 / (
            1 + np.exp(-(w_length * length + w_difficulty * difficulty + w_model))
        )
    return columns


def build(root: Path, weights: dict, board: dict, instructions: list[str], pool: list[str],
          leave_out: set[str] = frozenset()) -> tuple[dict, float]:  # fmt: skip
    """The reference's columns from the pool's annotations, and the calibration's mean LC error."""
    position = {t.strip(): k for k, t in enumerate(instructions)}
    raw, information = raw_difficulty(pool_rows(root, weights, position, pool), len(instructions))
    difficulty, calibration_mae = calibrate(raw, weights, board, leave_out)
    columns = {
        "index": list(range(len(instructions))),
        "instruction_sha256_16": list(map(instruction_key, instructions)),
        "instruction_difficulty": difficulty,
        "raw_difficulty": raw,
        "raw_information": information,
    }
    return columns | gamed_columns(root, instructions, weights, difficulty), calibration_mae


def cross_validate(root: Path, weights: dict, board: dict, instructions: list[str], pool: list[str]) -> dict:
    """Each pool model's LC error (sllm's `lc_of_model`, in-sample re-fit included) with the
    difficulty rebuilt from the other folds, and a summary."""
    from sllm.ratings.alpaca_eval_reference import GAMED as GAMED_ORDER
    from sllm.ratings.alpaca_eval_reference import LengthReference
    from sllm.ratings.length_control import lc_of_model, resolve_difficulty
    from sllm.ratings.winrate import load_annotations

    order = np.random.default_rng(0).permutation(pool)
    errors = {}
    for fold in (set(order[k::5]) for k in range(5)):
        columns, _ = build(root, weights, board, instructions, [m for m in pool if m not in fold], fold)
        reference = LengthReference(
            keys=tuple(columns["instruction_sha256_16"]),
            difficulty=columns["instruction_difficulty"],
            gamed_length=np.concatenate([columns[f"{g}_tanh_length"] for g in GAMED_ORDER]),
            gamed_preference=np.concatenate([columns[f"{g}_preference"] for g in GAMED_ORDER]),
            gamed_position=np.tile(np.arange(len(instructions)), len(GAMED_ORDER)),
            raw=columns["raw_difficulty"],
            information=columns["raw_information"],
            in_sample=frozenset(pool),
        )
        for model in sorted(fold):
            rows = load_annotations(root / ANNOTATIONS.format(model))
            table = resolve_difficulty({model: rows}, reference=reference)
            lc = lc_of_model(table, model, rows)["length_controlled_winrate"]
            errors[model] = lc - float(board[model]["length_controlled_winrate"])
    values = np.array(list(errors.values()))
    return {
        "errors": errors,
        "mean_error": float(values.mean()),
        "mean_abs_error": float(np.abs(values).mean()),
        "max_abs_error": float(np.abs(values).max()),
    }


def write(out: Path, columns: dict, meta: dict) -> None:
    """The CSV (one row per instruction) and the JSON beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for k in range(len(columns["index"])):
            # raw scores at full precision: their ranks must survive the round trip
            writer.writerow(
                [v[k] if isinstance(v[k], (int, str)) else f"{v[k]:.17g}" if name.startswith("raw_")
                 else f"{v[k]:.6f}" for name, v in columns.items()]
            )  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpaca-eval", type=Path, required=True, help="alpaca_eval clone (with history)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "src/sllm/ratings/data/alpaca_eval_lc.csv"
    )
    parser.add_argument("--cross-validate", action="store_true", help="also print 5-fold CV errors")
    args = parser.parse_args()
    root = args.alpaca_eval
    weights = {m: weights_of(r) for m, r in read_table(root / WEIGHTS).items()}
    board = read_table(root / BOARD)
    instructions = [r["instruction"] for r in json.loads((root / OUTPUTS.format(BASELINE)).read_text())]
    at_lc = leaderboard_at_lc(root)
    pool = [m for m in at_lc if m in weights and m not in MEASURED | {BASELINE, *GAMED}
            and (root / ANNOTATIONS.format(m)).is_file()]  # fmt: skip
    columns, calibration_mae = build(root, weights, board, instructions, pool)
    meta = {"source_commit": SOURCE_COMMIT, "lc_commit": LC_COMMIT, "ridge": RIDGE, "pool": pool,
            "in_sample_models": at_lc}  # fmt: skip
    write(args.out, columns, meta)
    report = {"n_pool": len(pool), "n_in_sample": len(at_lc), "calibration_lc_mae": calibration_mae,
              "out": str(args.out)}  # fmt: skip
    if args.cross_validate:
        report["cross_validation"] = cross_validate(root, weights, board, instructions, pool)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
