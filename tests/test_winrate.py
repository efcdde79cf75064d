"""`sllm winrate`: alpaca_eval's win rate and standard error, and the length-controlled GLM."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from sllm.errors import SllmError
from sllm.ratings.length_control import estimate_difficulty
from sllm.ratings.winrate import head_to_head, load_annotations

ALPACA = Path(__file__).resolve().parents[2] / "shared" / "data" / "alpaca_eval"
SHARED_MODELS = ["alpaca-7b", "alpaca-7b_concise", "alpaca-7b_verbose"]


def _synthetic(tmp_path: Path) -> list[Path]:
    """Two equally good models, one writes 3x longer answers, and the judge likes length."""
    rng = np.random.default_rng(0)
    difficulty = rng.normal(size=300)
    paths = []
    for name, words in (("terse", 20), ("wordy", 60)):
        rows = []
        for i, d in enumerate(difficulty):
            own = words + int(rng.integers(-5, 6))
            base = 40 + int(rng.integers(-5, 6))
            bias = 1.5 * np.tanh((own - base) / 20)
            p = 1 / (1 + np.exp(-(-0.5 + 0.8 * d + bias)))
            rows.append(
                {"instruction": f"task {i}", "output_1": "b " * base, "output_2": "m " * own,
                 "generator_1": "base", "generator_2": name, "preference": 1 + p}
            )  # fmt: skip
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(rows))
        paths.append(path)
    return paths


def test_length_control_shrinks_a_length_advantage(tmp_path: Path) -> None:
    paths = _synthetic(tmp_path)
    result = run_cli("winrate", *map(str, paths), "--length-controlled", "--json")
    assert result.returncode == 0, result.stderr
    models = json.loads(result.stdout)["models"]
    plain_gap = models["wordy"]["win_rate"] - models["terse"]["win_rate"]
    lc_gap = models["wordy"]["length_controlled_winrate"] - models["terse"]["length_controlled_winrate"]
    assert plain_gap > 25 and abs(lc_gap) < plain_gap / 3
    assert {"win_rate", "standard_error", "length_controlled_winrate", "n_total"} <= set(models["wordy"])


def test_difficulty_file_is_used(tmp_path: Path) -> None:
    paths = _synthetic(tmp_path)
    estimated = estimate_difficulty([load_annotations(p) for p in paths])
    instructions = [r.instruction for r in load_annotations(paths[0])]
    with (tmp_path / "difficulty.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["index", "instruction_difficulty"])
        writer.writerows([i, estimated[t]] for i, t in enumerate(instructions))
    args = [*map(str, paths), "--length-controlled", "--json"]
    by_estimate = json.loads(run_cli("winrate", *args).stdout)["models"]
    by_file = json.loads(run_cli("winrate", *args, "--difficulty", str(tmp_path / "difficulty.csv")).stdout)[
        "models"
    ]
    assert by_file["wordy"]["length_controlled_winrate"] == pytest.approx(
        by_estimate["wordy"]["length_controlled_winrate"], abs=1e-6
    )


def test_unparsed_preferences_are_counted_not_dropped_silently() -> None:
    result = head_to_head([2.0, 1.0, None, 1.5, 0])
    assert result["n_total"] == 4 and result["n_unparsed"] == 1 and result["n_draws"] == 2
    assert result["win_rate"] == pytest.approx(50.0) and result["discrete_win_rate"] == pytest.approx(50.0)


def test_bad_annotation_file(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([{"instruction": "x", "output_1": "a", "output_2": "b"}]))
    with pytest.raises(SllmError, match=r"a.json: item 1: missing field 'generator_1'"):
        load_annotations(tmp_path / "a.json")


@pytest.mark.skipif(not ALPACA.is_dir(), reason="../shared/data/alpaca_eval not present")
def test_plain_win_rate_equals_the_alpaca_eval_leaderboard_and_lc_narrows_the_variants() -> None:
    board_path = (
        ALPACA / "leaderboards" / "data_AlpacaEval_2" / "weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
    )
    board = {row[""]: row for row in csv.DictReader(board_path.open())}
    files = [
        str(ALPACA / "results" / m / "weighted_alpaca_eval_gpt4_turbo" / "annotations.json")
        for m in SHARED_MODELS
    ]
    result = run_cli("winrate", *files, "--length-controlled", "--json")
    assert result.returncode == 0, result.stderr
    ours = json.loads(result.stdout)["models"]
    for model in SHARED_MODELS:
        assert ours[model]["win_rate"] == pytest.approx(float(board[model]["win_rate"]), abs=0.05)
        assert ours[model]["standard_error"] == pytest.approx(
            float(board[model]["standard_error"]), abs=0.005
        )
        assert ours[model]["n_total"] == int(board[model]["n_total"])
        assert ours[model]["n_wins"] == int(board[model]["n_wins"])
        assert ours[model]["discrete_win_rate"] == pytest.approx(
            float(board[model]["discrete_win_rate"]), abs=0.05
        )
        # Without alpaca_eval's difficulty file and gamed baselines, LC is approximate (docs/judging.md).
        assert (
            abs(ours[model]["length_controlled_winrate"] - float(board[model]["length_controlled_winrate"]))
            < 4
        )
    plain = abs(ours["alpaca-7b_verbose"]["win_rate"] / ours["alpaca-7b_concise"]["win_rate"] - 1)
    lc = abs(
        ours["alpaca-7b_verbose"]["length_controlled_winrate"]
        / ours["alpaca-7b_concise"]["length_controlled_winrate"]
        - 1
    )
    assert lc < plain / 3
