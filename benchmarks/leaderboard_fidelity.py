"""Leaderboard fidelity: sllm's win rates against the published AlpacaEval 2.0 leaderboard.

    python benchmarks/leaderboard_fidelity.py [--data ../shared/data] [--results DIR ...] [--markdown]

For every model with annotations under DATA/alpaca_eval/results (and any extra results folders
given, e.g. held-out models: results/<model>/weighted_alpaca_eval_gpt4_turbo/annotations.json or
.json.gz), prints sllm's win rate and length-controlled (LC) win rate beside the leaderboard's,
the LC error, and three variants of sllm's default: the difficulty looked up by instruction where
the default follows alpaca_eval's row positions (`--difficulty-by-instruction`), without the
in-sample re-fit for models alpaca_eval's difficulty fit had, and without alpaca_eval's
regularisation. Then a gaming probe built from alpaca-7b: every answer cut to its first sentence,
the cut answers marked as losses (see docs/judging.md). Summary: mean and largest absolute LC
error, Spearman rank correlation with the leaderboard's LC. `--markdown` prints the table that
docs/judging.md shows.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from sllm.ratings.length_control import lc_of_model, resolve_difficulty
from sllm.ratings.winrate import Annotation, head_to_head, load_annotations

BOARD = "alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
ANNOTATOR = "weighted_alpaca_eval_gpt4_turbo"


def first_sentence(text: str) -> str:
    """The text up to its first sentence end or line break."""
    text = text.strip()
    end = re.search(r"(?<=[.!?])\s|\n", text)
    return text[: end.start()].strip() if end else text


def gamed_probe(rows: list[Annotation], name: str) -> list[Annotation]:
    """Every answer cut to its first sentence; a cut answer is a loss (preference 1), an answer
    that was one sentence already keeps its preference."""
    out = []
    for row in rows:
        short = first_sentence(row.output_2)
        cut = len(short) < len(row.output_2.strip())
        out.append(replace(row, output_2=short, generator_2=name, preference=1.0 if cut else row.preference))
    return out


def annotation_files(folders: list[Path]) -> list[Path]:
    """Every results/<model>/<annotator>/annotations.json[.gz] under the folders, sorted by model."""
    found = []
    for folder in folders:
        found += sorted(folder.glob(f"*/{ANNOTATOR}/annotations.json*"))
    return found


def lc_of(
    by_model: dict[str, list[Annotation]],
    by_instruction: bool = False,
    refit: bool = True,
    regularization: float = 0.2,
) -> dict[str, float]:
    """LC win rate per model under one choice of lookup, in-sample re-fit and regularisation."""
    table = resolve_difficulty(by_model, "auto", by_instruction)
    if not refit:
        table = replace(table, refit=frozenset())
    lc = {}
    for model, rows in by_model.items():
        lc[model] = lc_of_model(table, model, rows, regularization)["length_controlled_winrate"]
        print(f"  {model}: {lc[model]:.2f}", file=sys.stderr, flush=True)
    return lc


def _mae(rows: list[dict], column: str) -> float | None:
    """Mean absolute difference of a column from the leaderboard's LC."""
    return float(np.mean([abs(r[column] - r["board_lc"]) for r in rows])) if rows else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--results", type=Path, action="append", default=[], help="extra results folder")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with (args.data / BOARD).open(encoding="utf-8", newline="") as handle:
        board = {row[""]: row for row in csv.DictReader(handle)}
    by_model: dict[str, list[Annotation]] = {}
    for path in annotation_files([args.data / "alpaca_eval" / "results", *args.results]):
        for row in load_annotations(path):
            by_model.setdefault(row.generator_2, []).append(row)
    if "alpaca-7b" in by_model:
        by_model["alpaca-7b first sentence (probe)"] = gamed_probe(by_model["alpaca-7b"], "probe")
    lc = lc_of(by_model)
    by_instruction = lc_of(by_model, by_instruction=True)
    out_of_sample = lc_of(by_model, refit=False)
    unregularised = lc_of(by_model, regularization=0.0)
    rows = []
    for model, judged in by_model.items():
        published = board.get(model)
        rows.append({
            "model": model,
            "n": len(judged),
            "win_rate": head_to_head([r.preference for r in judged])["win_rate"],
            "board_win_rate": float(published["win_rate"]) if published else None,
            "board_lc": float(published["length_controlled_winrate"]) if published else None,
            "lc": lc[model],
            "lc_by_instruction": by_instruction[model],
            "lc_out_of_sample": out_of_sample[model],
            "lc_unregularised": unregularised[model],
        })  # fmt: skip
    rows.sort(key=lambda r: -(r["board_lc"] if r["board_lc"] is not None else r["lc"]))
    scored = [r for r in rows if r["board_lc"] is not None]
    errors = np.array([abs(r["lc"] - r["board_lc"]) for r in scored])
    summary = {
        "models": len(scored),
        "lc_mae": float(errors.mean()) if len(errors) else None,
        "lc_max_error": float(errors.max()) if len(errors) else None,
        "lc_mean_error": float(np.mean([r["lc"] - r["board_lc"] for r in scored])) if scored else None,
        "lc_mae_by_instruction": _mae(scored, "lc_by_instruction"),
        "lc_mae_out_of_sample": _mae(scored, "lc_out_of_sample"),
        "lc_mae_unregularised": _mae(scored, "lc_unregularised"),
        "spearman_lc": float(spearmanr([r["lc"] for r in scored], [r["board_lc"] for r in scored]).statistic)
        if len(scored) > 2
        else None,
    }  # fmt: skip
    if not args.markdown:
        print(json.dumps({"rows": rows, "summary": summary}, indent=1))
        return
    print("| model | n | win rate (sllm / board) | LC board | LC sllm | error | LC, by instruction "
          "| LC, no in-sample re-fit | LC, no regularisation |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        board_wr = "" if r["board_win_rate"] is None else f"{r['board_win_rate']:.2f}"
        board_lc = "" if r["board_lc"] is None else f"{r['board_lc']:.2f}"
        error = "" if r["board_lc"] is None else f"{r['lc'] - r['board_lc']:+.2f}"
        print(f"| {r['model']} | {r['n']} | {r['win_rate']:.2f} / {board_wr} | {board_lc} | {r['lc']:.2f} "
              f"| {error} | {r['lc_by_instruction']:.2f} | {r['lc_out_of_sample']:.2f} "
              f"| {r['lc_unregularised']:.2f} |")  # fmt: skip
    print()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
