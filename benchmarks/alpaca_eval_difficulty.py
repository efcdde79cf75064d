"""Build sllm's AlpacaEval 2.0 length-control reference (src/sllm/ratings/data/alpaca_eval_lc.csv).

    python benchmarks/alpaca_eval_difficulty.py --alpaca-eval PATH_TO_ALPACA_EVAL_CHECKOUT

alpaca_eval's `length_controlled_v1` GLM needs two files it downloads from the Hugging Face hub
and that are not in its repository: `instruction_difficulty.csv` (one term per instruction) and
`df_gamed.csv` (annotations of the length-gamed GPT-4 baselines that regularise every fit). This
script rebuilds both from what the repository does publish (commit cd543a1 or later):

1. Difficulty. The repository publishes, per model, the GLM weights it fitted with the hub
   difficulty (metrics/weights/.../baseline_gpt4_1106_preview.csv) and, for many models, the
   annotations. Holding each model's published length and model weights fixed, every
   instruction's difficulty is the (ridge-shrunk) maximum-likelihood value explaining all those
   models' preferences on it; only its rank is kept. The values given to the ranks come from the
   published leaderboard: LC of a model is mean_i sigmoid(w_model + w_difficulty * d_i), so the
   distribution of d is fitted (a cubic in normal scores) so that the published weights of every
   leaderboard model reproduce its published LC win rate.
2. Gamed-baseline rows. For gpt4_1106_preview_verbose and _concise, the length feature comes from
   their published outputs; their preferences, whose annotations are not published, are the
   predictions of their own published GLM weights.

The 16 models whose annotations sllm's tests and benchmark measure against (the 3 alpaca-7b
variants and the 13 held-out models of the shared data) are left out of step 1, so the measured
error on them is out of sample.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
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
BASELINE = "gpt4_1106_preview"
GAMED = ("gpt4_1106_preview_verbose", "gpt4_1106_preview_concise")
MEASURED = {
    "alpaca-7b", "alpaca-7b_concise", "alpaca-7b_verbose", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-1106_concise",
    "gpt-3.5-turbo-1106_verbose", "claude-2.1", "claude-2.1_concise", "vicuna-13b-v1.5", "Qwen-14B-Chat",
    "OpenHermes-2.5-Mistral-7B", "gemma-7b-it", "falcon-7b-instruct", "Mixtral-8x7B-Instruct-v0.1_concise",
    "gpt4_gamed", "NullModel",
}  # fmt: skip
RIDGE = 16.0  # shrinkage of each instruction's estimate; chosen by 5-fold CV over models (docs/judging.md)
DEGREE = 3  # cubic in normal scores for the distribution of difficulties


def instruction_key(text: str) -> str:
    """The key sllm looks difficulties up by: sha256 of the stripped instruction, 16 hex digits."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


def read_table(path: Path) -> dict[str, dict[str, str]]:
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


def raw_difficulty(root: Path, weights: dict, position: dict[str, int], models: list[str]) -> np.ndarray:
    """Per instruction, the ridge-shrunk difficulty explaining the models' preferences given
    their published length and model weights (Newton's method, all instructions at once)."""
    offset, slope, target, where = [], [], [], []
    for model in models:
        rows = json.loads((root / ANNOTATIONS.format(model)).read_text(encoding="utf-8"))
        rows = [r for r in rows if r["preference"] is not None]
        w_length, w_difficulty, w_model = weights[model]
        length = tanh_length([r["output_1"] or "" for r in rows], [r["output_2"] or "" for r in rows])
        offset.append(w_length * length + w_model)
        slope.append(np.full(len(rows), w_difficulty))
        target.append(
            np.array([1.5 if float(r["preference"]) == 0 else float(r["preference"]) for r in rows]) - 1
        )
        where.append(np.array([position[r["instruction"].strip()] for r in rows]))
    o, b, p, i = map(np.concatenate, (offset, slope, target, where))
    d = np.zeros(len(position))
    for _ in range(200):
        q = 1 / (1 + np.exp(-(o + b * d[i])))
        step = (np.bincount(i, b * (p - q), len(d)) - RIDGE * d) / (
            np.bincount(i, b * b * q * (1 - q), len(d)) + RIDGE
        )
        d += step
        if np.abs(step).max() < 1e-12:
            break
    return d


def calibrate(raw: np.ndarray, weights: dict, board: dict) -> tuple[np.ndarray, float]:
    """Values for the ranks of `raw` such that published weights reproduce published LC."""
    models = [m for m in weights if m in board and m not in MEASURED and m != BASELINE]
    a = np.array([weights[m][2] for m in models])
    b = np.array([weights[m][1] for m in models])
    lc = np.array([float(board[m]["length_controlled_winrate"]) for m in models])
    z = norm.ppf((rankdata(raw) - 0.5) / len(raw))

    def values(c: np.ndarray) -> np.ndarray:
        return sum(c[k] * z**k for k in range(len(c)))

    def residual(c: np.ndarray) -> np.ndarray:
        return 100 * (1 / (1 + np.exp(-(a[:, None] + b[:, None] * values(c)[None, :])))).mean(axis=1) - lc

    fit = least_squares(residual, np.array([0.0, 1.0] + [0.0] * (DEGREE - 1)))
    return values(fit.x), float(np.abs(fit.fun).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpaca-eval", type=Path, required=True, help="alpaca_eval checkout")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "src/sllm/ratings/data/alpaca_eval_lc.csv"
    )
    args = parser.parse_args()
    root = args.alpaca_eval
    weights = {m: weights_of(r) for m, r in read_table(root / WEIGHTS).items()}
    board = read_table(root / BOARD)
    base = json.loads((root / OUTPUTS.format(BASELINE)).read_text(encoding="utf-8"))
    instructions = [r["instruction"] for r in base]
    position = {t.strip(): k for k, t in enumerate(instructions)}
    models = sorted(
        m for m in weights
        if m not in MEASURED and m != BASELINE and (root / ANNOTATIONS.format(m)).is_file()
    )  # fmt: skip
    difficulty, calibration_mae = calibrate(raw_difficulty(root, weights, position, models), weights, board)
    columns = {
        "index": list(range(len(instructions))),
        "instruction_sha256_16": list(map(instruction_key, instructions)),
        "instruction_difficulty": difficulty,
    }
    for gamed in GAMED:
        outputs = {
            r["instruction"].strip(): r["output"]
            for r in json.loads((root / OUTPUTS.format(gamed)).read_text())
        }
        length = tanh_length([r["output"] for r in base], [outputs[t.strip()] for t in instructions])
        w_length, w_difficulty, w_model = weights[gamed]
        columns[f"{gamed}_tanh_length"] = length
        columns[f"{gamed}_preference"] = 1 / (
            1 + np.exp(-(w_length * length + w_difficulty * difficulty + w_model))
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for k in range(len(instructions)):
            writer.writerow(
                [v[k] if isinstance(v[k], (int, str)) else f"{v[k]:.6f}" for v in columns.values()]
            )
    print(json.dumps({"models_used": models, "n_models": len(models), "calibration_lc_mae": calibration_mae,
                      "out": str(args.out)}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
