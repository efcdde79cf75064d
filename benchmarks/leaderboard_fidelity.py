"""Leaderboard fidelity: sllm's win rates against the published AlpacaEval 2.0 leaderboard.

    python benchmarks/leaderboard_fidelity.py [--data ../shared/data] [--results DIR ...] [--markdown]

For every model with annotations under DATA/alpaca_eval/results (and any extra results folders
given, e.g. held-out models: results/<model>/weighted_alpaca_eval_gpt4_turbo/annotations.json or
.json.gz), prints sllm's win rate and length-controlled (LC) win rate beside the leaderboard's,
the LC error, the LC without alpaca_eval's regularisation (what sllm computed before), and the LC
with alpaca_eval's row-position difficulty lookup. Then a gaming probe built from alpaca-7b: every
answer cut to its first sentence, the cut answers marked as losses (see docs/judging.md). Summary:
mean and largest absolute LC error, Spearman rank correlation with the leaderboard's LC.
`--markdown` prints the table that docs/judging.md shows.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from sllm.ratings.length_control import length_controlled_winrate, resolve_difficulty
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


def lc_of(by_model: dict[str, list[Annotation]], **options: object) -> dict[str, float]:
    """LC win rate per model under one difficulty choice (positional, regularisation)."""
    regularization = float(options.pop("regularization", 0.2))  # type: ignore[arg-type]
    table = resolve_difficulty(by_model, "auto", **options)  # type: ignore[arg-type]
    return {
        m: length_controlled_winrate(rows, table.by_model[m], table.anchor_x, table.anchor_p, regularization)[
            "length_controlled_winrate"
        ]
        for m, rows in by_model.items()
    }


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
    lc = lc_of(dict(by_model))
    unregularised = lc_of(dict(by_model), regularization=0.0)
    positional = lc_of(dict(by_model), positional=True)
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
            "lc_unregularised": unregularised[model],
            "lc_positional": positional[model],
        })  # fmt: skip
    rows.sort(key=lambda r: -(r["board_lc"] if r["board_lc"] is not None else r["lc"]))
    scored = [r for r in rows if r["board_lc"] is not None]
    errors = np.array([abs(r["lc"] - r["board_lc"]) for r in scored])
    summary = {
        "models": len(scored),
        "lc_mae": float(errors.mean()) if len(errors) else None,
        "lc_max_error": float(errors.max()) if len(errors) else None,
        "lc_mae_positional": _mae(scored, "lc_positional"),
        "lc_mae_unregularised": _mae(scored, "lc_unregularised"),
        "spearman_lc": float(spearmanr([r["lc"] for r in scored], [r["board_lc"] for r in scored]).statistic)
        if len(scored) > 2
        else None,
    }  # fmt: skip
    if not args.markdown:
        print(json.dumps({"rows": rows, "summary": summary}, indent=1))
        return
    print("| model | n | win rate (sllm / board) | LC board | LC sllm | error | LC, no regularisation "
          "| LC, by row position |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        board_wr = "" if r["board_win_rate"] is None else f"{r['board_win_rate']:.2f}"
        board_lc = "" if r["board_lc"] is None else f"{r['board_lc']:.2f}"
        error = "" if r["board_lc"] is None else f"{r['lc'] - r['board_lc']:+.2f}"
        print(f"| {r['model']} | {r['n']} | {r['win_rate']:.2f} / {board_wr} | {board_lc} | {r['lc']:.2f} "
              f"| {error} | {r['lc_unregularised']:.2f} | {r['lc_positional']:.2f} |")  # fmt: skip
    print()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
