"""Bradley-Terry ratings (Chatbot Arena's formulation), bootstrap CIs, online Elo, `sllm rate`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli
from scipy.optimize import minimize

from sllm.errors import SllmError
from sllm.ratings import Battle, fit_bradley_terry, load_battles, online_elo
from sllm.ratings.battles import load_battle_files
from sllm.ratings.bradley_terry import bootstrap_ratings, win_rate_matrix

ARENA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arena_hard"


def _battles(spec: list[tuple[str, str, str, int]]) -> list[Battle]:
    return [Battle(a, b, w) for a, b, w, n in spec for _ in range(n)]  # type: ignore[arg-type]


def test_hand_checked_two_model_case() -> None:
    # A wins 3 of 4: P(A beats B) = 3/4, so the gap is 400 * log10(3); no anchor: centred on 1000.
    ratings = fit_bradley_terry(_battles([("A", "B", "model_a", 3), ("B", "A", "model_a", 1)]))
    assert ratings["A"] - ratings["B"] == pytest.approx(400 * math.log10(3), abs=1e-3)
    assert (ratings["A"] + ratings["B"]) / 2 == pytest.approx(1000, abs=1e-3)
    # A tie is half a win for each side: 2 wins + 2 ties for A = 3 points of 4 again.
    tied = fit_bradley_terry(
        _battles([("A", "B", "model_a", 2), ("A", "B", "tie", 1), ("B", "A", "tie (bothbad)", 1)])
    )
    assert tied["A"] - tied["B"] == pytest.approx(400 * math.log10(3), abs=1e-3)
    anchored = fit_bradley_terry(
        _battles([("A", "B", "model_a", 3), ("B", "A", "model_a", 1)]), anchor=("B", 1114)
    )
    assert anchored["B"] == pytest.approx(1114) and anchored["A"] == pytest.approx(
        1114 + 400 * math.log10(3), abs=1e-3
    )


def test_equals_an_independent_maximum_likelihood_fit() -> None:
    battles = _battles(
        [("x", "y", "model_a", 7), ("y", "x", "model_a", 3), ("y", "z", "model_a", 5), ("z", "y", "tie", 2),
         ("x", "z", "model_a", 6), ("z", "x", "model_a", 1), ("x", "y", "tie", 1)]
    )  # fmt: skip
    models = ["x", "y", "z"]

    def nll(r: np.ndarray) -> float:
        total = 0.0
        for b in battles:
            i, j = models.index(b.model_a), models.index(b.model_b)
            p = 1 / (1 + 10 ** ((r[j] - r[i]) / 400))
            total -= b.score_a * math.log(p) + (1 - b.score_a) * math.log(1 - p)
        return total

    # Optimised in units of 400 rating points, which keeps BFGS well conditioned.
    scaled = minimize(
        lambda r: nll(np.concatenate([[0.0], 400 * r])), np.zeros(2), method="BFGS", options={"gtol": 1e-10}
    )
    ours = fit_bradley_terry(battles, anchor=("x", 0.0))
    assert [ours["y"], ours["z"]] == pytest.approx((400 * scaled.x).tolist(), abs=0.01)


def test_synthetic_battles_recover_known_ratings_and_bootstrap_is_seeded() -> None:
    true = {"m1": 1250.0, "m2": 1130.0, "m3": 1000.0, "m4": 880.0}
    rng = np.random.default_rng(7)
    names = list(true)
    battles = []
    for _ in range(3000):
        a, b = rng.choice(names, size=2, replace=False)
        p = 1 / (1 + 10 ** ((true[b] - true[a]) / 400))
        battles.append(Battle(str(a), str(b), "model_a" if rng.random() < p else "model_b"))
    ratings = fit_bradley_terry(battles, anchor=("m3", 1000.0))
    samples = bootstrap_ratings(battles, rounds=60, seed=3, anchor=("m3", 1000.0))
    for model, value in true.items():
        low, high = np.percentile(samples[model], [2.5, 97.5])
        assert low - 1e-6 <= value <= high + 1e-6, (model, value, low, high)
        assert abs(ratings[model] - value) < 30
    again = bootstrap_ratings(battles, rounds=60, seed=3, anchor=("m3", 1000.0))
    assert again == samples
    assert (
        bootstrap_ratings(battles, rounds=5, seed=4)["m1"]
        != bootstrap_ratings(battles, rounds=5, seed=3)["m1"]
    )


def test_online_elo_and_win_rate_matrix() -> None:
    battles = _battles([("A", "B", "model_a", 1)])
    assert online_elo(battles) == {"A": 1002.0, "B": 998.0}  # K=4, expected 0.5
    matrix = win_rate_matrix(_battles([("A", "B", "model_a", 3), ("B", "A", "tie", 1)]))
    assert matrix["A"]["B"] == pytest.approx(3.5 / 4) and matrix["B"]["A"] == pytest.approx(0.5 / 4)


def test_battle_file_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(
        '{"model_a": "A", "model_b": "B", "winner": "model_a"}\n{"model_a": "A", "model_b": "B"}\n'
    )
    with pytest.raises(SllmError, match=r"b.jsonl:2: missing field 'winner'"):
        load_battles(path)
    path.write_text('{"model_a": "A", "model_b": "B", "winner": "A"}\n')
    with pytest.raises(SllmError, match=r"b.jsonl:1: field 'winner' must be one of"):
        load_battles(path)
    path.write_text('{"model_a": "A", "model_b": "B", "winner": "model_a"}\n{broken\n')
    with pytest.raises(SllmError, match=r"b.jsonl:2: invalid JSON"):
        load_battles(path)


@pytest.mark.skipif(not ARENA.is_dir(), reason="../shared/data/arena_hard not present")
def test_arena_bench_judge_grades_rank_models_as_the_arena_hard_leaderboard() -> None:
    folder = ARENA / "arena-bench-v1" / "model_judgment"
    battles, missing = load_battle_files(sorted(folder.glob("*.jsonl")))
    assert missing == 2  # one unparsed grade in each file
    ratings = fit_bradley_terry(battles)
    assert list(ratings) == ["gpt-3.5-turbo", "Llama-2-70b-chat"]
    # The published Arena-Hard leaderboard puts every gpt-3.5-turbo version above llama-2-70b-chat.
    rows = (ARENA / "leaderboard" / "arena_hard_leaderboard_20240731.csv").read_text().splitlines()[1:]
    score = {r.split(",")[0]: float(r.split(",")[1]) for r in rows}
    assert min(v for k, v in score.items() if k.startswith("gpt-3.5-turbo")) > score["llama-2-70b-chat"]


def test_rate_cli_json(tmp_path: Path) -> None:
    rows = [{"model_a": "A", "model_b": "B", "winner": "model_a"}] * 3 + [
        {"model_a": "B", "model_b": "A", "winner": "model_a"}
    ]
    path = tmp_path / "battles.json"
    path.write_text(json.dumps(rows))
    result = run_cli("rate", str(path), "--bootstrap", "20", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    a = payload["ratings"]["A"]
    assert set(a) == {"rating", "ci_low", "ci_high", "n"} and a["n"] == 4
    assert a["ci_low"] <= a["rating"] <= a["ci_high"]
    assert run_cli("rate", str(path), "--anchor", "nobody=1000").returncode == 2
