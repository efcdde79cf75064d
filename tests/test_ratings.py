"""Bradley-Terry ratings (Chatbot Arena's formulation), bootstrap CIs, online Elo, `sllm rate`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from sllm.errors import SllmError
from sllm.ratings import Battle, fit_bradley_terry, load_battles, online_elo
from sllm.ratings.battles import UNPAIRED, UNPARSED, load_battle_files
from sllm.ratings.bradley_terry import (
    bootstrap_ratings,
    build_design,
    newton_fit,
    style_coefficients,
    win_rate_matrix,
)

ARENA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arena_hard"
FIXTURES = Path(__file__).parent / "fixtures" / "leaderboards"


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
def test_arena_bench_grades_are_all_paired_and_rank_models_as_the_arena_hard_leaderboard() -> None:
    folder = ARENA / "arena-bench-v1" / "model_judgment"
    battles, report = load_battle_files(sorted(folder.glob("*.jsonl")))
    # gpt-3.5-turbo's file writes turn 1.0 on 200 rows and no turn on 100: all 300 questions pair.
    # Each file has one unparsed grade (on different questions), so 298 questions have both.
    assert len(battles) == 298
    assert report.read == 600 and report.used == 596
    assert report.dropped == {UNPARSED: 2, UNPAIRED: 2}
    assert report.used_by == {"gpt-3.5-turbo": 298, "Llama-2-70b-chat": 298}
    ratings = fit_bradley_terry(battles)
    assert list(ratings) == ["gpt-3.5-turbo", "Llama-2-70b-chat"]
    # The published Arena-Hard leaderboard puts every gpt-3.5-turbo version above llama-2-70b-chat.
    rows = (ARENA / "leaderboard" / "arena_hard_leaderboard_20240731.csv").read_text().splitlines()[1:]
    score = {r.split(",")[0]: float(r.split(",")[1]) for r in rows}
    assert min(v for k, v in score.items() if k.startswith("gpt-3.5-turbo")) > score["llama-2-70b-chat"]


def _sklearn_ratings(battles: list[Battle], anchor: str) -> dict[str, float]:
    """arena-hard-auto's compute_mle_elo, written out: battles duplicated, a tie one win each way,
    scikit-learn's LogisticRegression without penalty, anchor at 1000."""
    models = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    rows = battles + battles
    x = np.zeros((len(rows), len(models)))
    y = np.zeros(len(rows))
    for i, b in enumerate(rows):
        x[i, models.index(b.model_a)], x[i, models.index(b.model_b)] = math.log(10), -math.log(10)
        y[i] = 1.0 if b.winner == "model_a" or (b.winner.startswith("tie") and i < len(battles)) else 0.0
    fit = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-10, max_iter=10000).fit(x, y)
    ratings = 400 * fit.coef_[0] + 1000
    return {m: float(r - ratings[models.index(anchor)] + 1000) for m, r in zip(models, ratings)}


@pytest.mark.skipif(not ARENA.is_dir(), reason="../shared/data/arena_hard not present")
def test_rate_baseline_scores_on_arena_bench_equal_an_independent_sklearn_fit() -> None:
    files = sorted((ARENA / "arena-bench-v1" / "model_judgment").glob("*.jsonl"))
    result = run_cli("rate", *map(str, files), "--baseline", "gpt-3.5-turbo", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    expected = _sklearn_ratings(load_battle_files(files)[0], "gpt-3.5-turbo")
    llama = payload["scores"]["Llama-2-70b-chat"]
    assert payload["ratings"]["gpt-3.5-turbo"]["rating"] == pytest.approx(1000.0, abs=1e-6)
    assert payload["ratings"]["Llama-2-70b-chat"]["rating"] == pytest.approx(
        expected["Llama-2-70b-chat"], abs=1e-4
    )
    assert llama["score"] == pytest.approx(
        100 / (1 + 10 ** ((1000 - expected["Llama-2-70b-chat"]) / 400)), abs=1e-6
    )
    # With two models Bradley-Terry reproduces the observed share of points.
    battles = load_battle_files(files)[0]
    share = sum(1 - b.score_a if b.model_a == "gpt-3.5-turbo" else b.score_a for b in battles) / len(battles)
    assert llama["score"] == pytest.approx(100 * share, abs=1e-6)
    assert llama["ci_low"] < llama["score"] < llama["ci_high"]
    assert payload["bootstrap"] == 1000 and payload["read"]["dropped"] == {UNPARSED: 2, UNPAIRED: 2}


def test_batched_newton_equals_sklearn_on_each_bootstrap_weighting() -> None:
    battles = _battles(
        [("x", "y", "model_a", 7), ("y", "x", "model_a", 3), ("y", "z", "model_a", 5), ("z", "y", "tie", 2),
         ("x", "z", "model_a", 6), ("z", "x", "model_a", 1), ("x", "y", "tie", 1)]
    )  # fmt: skip
    design = build_design(battles)
    draws = np.random.default_rng(5).multinomial(len(battles), design.counts / design.counts.sum(), size=3)
    counts, points = design.aggregate(draws.astype(float))
    ours = newton_fit(design.x, points, counts, len(design.models))
    for weights, won, beta in zip(counts, points, ours):
        # The same weighted rows as a binary problem: each row once as wins, once as losses.
        x2 = np.vstack([design.x, design.x])
        y2 = np.concatenate([np.ones(len(weights)), np.zeros(len(weights))])
        fit = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-12, max_iter=10000)
        fit.fit(x2, y2, sample_weight=np.concatenate([won, weights - won]))
        reference = fit.coef_[0] - fit.coef_[0].mean()
        assert beta.tolist() == pytest.approx(reference.tolist(), abs=1e-5)


def test_style_control_equals_arena_hard_autos_penalised_fit() -> None:
    rng = np.random.default_rng(11)
    battles = []
    for _ in range(400):
        a, b = rng.choice(["m1", "m2", "m3"], size=2, replace=False)
        style_a = (float(rng.integers(100, 2000)), float(rng.integers(0, 4)), float(rng.integers(0, 9)), 0.0)
        style_b = (float(rng.integers(100, 2000)), float(rng.integers(0, 4)), float(rng.integers(0, 9)), 1.0)
        longer = style_a[0] > style_b[0]
        winner = rng.choice(["model_a", "model_b", "tie"], p=[0.6, 0.3, 0.1] if longer else [0.3, 0.6, 0.1])
        battles.append(Battle(str(a), str(b), str(winner), style_a, style_b))  # type: ignore[arg-type]
    features = ("length", "headers", "lists", "bold")
    ours = fit_bradley_terry(battles, anchor=("m1", 1000.0), features=features)
    # arena-hard-auto's construct_style_matrices + fit_bt (scikit-learn default L2, C=1), written out.
    models = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    a = np.array([b.style_a for b in battles])
    b = np.array([b.style_b for b in battles])
    diff = (a - b) / (a + b + 1)
    diff = (diff - diff.mean(axis=0)) / np.where(diff.std(axis=0) > 0, diff.std(axis=0), 1)
    rows = battles + battles
    x = np.zeros((len(rows), len(models) + 4))
    y = np.zeros(len(rows))
    for i, battle in enumerate(rows):
        x[i, models.index(battle.model_a)], x[i, models.index(battle.model_b)] = math.log(10), -math.log(10)
        x[i, len(models) :] = diff[i % len(battles)]
        y[i] = 1.0 if battle.winner == "model_a" or (battle.winner == "tie" and i < len(battles)) else 0.0
    fit = LogisticRegression(fit_intercept=False, C=1.0, tol=1e-10, max_iter=10000).fit(x, y)
    ratings = 400 * fit.coef_[0][: len(models)] + 1000
    expected = {m: r - ratings[0] + 1000 for m, r in zip(models, ratings)}
    assert ours == pytest.approx(expected, abs=1e-3)
    assert style_coefficients(battles, features) == pytest.approx(
        dict(zip(features, fit.coef_[0][len(models) :].tolist())), abs=1e-6
    )
    # The bold column is constant: its coefficient is zero and nothing breaks.
    assert style_coefficients(battles, features)["bold"] == 0.0


def test_turns_and_question_ids_written_differently_pair_up(tmp_path: Path) -> None:
    rows = [
        {"question_id": 1, "model": "a", "score": 7, "turn": 1},
        {"question_id": "1", "model": "b", "score": 5},
        {"question_id": 2.0, "model": "a", "score": 3, "turn": 1.0},
        {"question_id": 2, "model": "b", "score": 3, "turn": "1"},
        {"question_id": "q3", "model": "a", "score": 2, "turn": 2},
        {"question_id": "q3", "model": "b", "score": 8, "turn": 2.0},
    ]
    path = tmp_path / "grades.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    battles, report = load_battle_files([path])
    assert sorted((b.model_a, b.model_b, b.winner) for b in battles) == [
        ("a", "b", "model_a"), ("a", "b", "model_b"), ("a", "b", "tie")
    ]  # fmt: skip
    assert (report.read, report.used, report.n_dropped) == (6, 6, 0)


def test_a_third_of_grades_unpaired_fails_naming_count_and_reason(tmp_path: Path) -> None:
    rows = [{"question_id": q, "model": m, "score": 5} for q in range(4) for m in ("a", "b")]
    rows += [{"question_id": q, "model": "a", "score": 5, "turn": 2} for q in range(4)]  # b has no turn 2
    path = tmp_path / "grades.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    failed = run_cli("rate", str(path))
    assert failed.returncode == 1
    assert (
        "used 8 of 12 rows; dropped 4 grades with no other model's grade on the same question and turn "
        "(33% dropped, more than 5%)" in failed.stderr
    )
    assert "--allow-partial" in failed.stderr
    partial = run_cli("rate", str(path), "--allow-partial", "--json")
    assert partial.returncode == 0, partial.stderr
    assert json.loads(partial.stdout)["n_battles"] == 4


def test_arena_hard_judgments_become_battles_with_the_baseline(tmp_path: Path) -> None:
    battles, report = load_battle_files([FIXTURES / "arena_hard_judgments.jsonl"])
    # Record 1: A=B, then (model shown first) A>B = a model win. Record 2: A>B and B>A, both the baseline.
    assert [(b.model_a, b.model_b, b.winner) for b in battles] == [
        ("gpt-4-0314", "gpt-3.5-turbo-0125", "tie"),
        ("gpt-4-0314", "gpt-3.5-turbo-0125", "model_b"),
        ("gpt-4-0314", "gpt-3.5-turbo-0125", "model_a"),
        ("gpt-4-0314", "gpt-3.5-turbo-0125", "model_a"),
    ]
    # Styles come from the answers quoted in the judge's prompt, baseline first whatever the order shown.
    assert battles[0].style_a == battles[1].style_a and battles[0].style_a[2] == 0.0  # type: ignore[index]
    assert battles[0].style_b[0] > battles[0].style_a[0]  # type: ignore[index]
    assert (report.read, report.used) == (2, 2)
    result = run_cli(
        "rate", str(FIXTURES / "arena_hard_judgments.jsonl"), "--baseline", "gpt-4-0314", "--json"
    )
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)["scores"]
    assert scores["gpt-4-0314"] == {"score": 50.0, "ci_low": 50.0, "ci_high": 50.0}
    assert scores["gpt-3.5-turbo-0125"]["score"] == pytest.approx(100 * 1.5 / 4, abs=1e-6)
    strong = dict(json.loads((FIXTURES / "arena_hard_judgments.jsonl").read_text().splitlines()[0]))
    strong["games"][0]["score"] = "B>>A"
    strong.pop("baseline")
    (tmp_path / "v01.jsonl").write_text(json.dumps(strong) + "\n")
    assert run_cli("rate", str(tmp_path / "v01.jsonl")).returncode == 1  # no baseline named anywhere
    battles, _ = load_battle_files([tmp_path / "v01.jsonl"], baseline="gpt-4-0314")
    assert [b.winner for b in battles] == ["model_b"] * 4  # a strong verdict counts 3 battles


def test_mt_bench_pairwise_judgments_are_read() -> None:
    path = FIXTURES / "mt_bench_pair.jsonl"
    battles, report = load_battle_files([path], allow_partial=True)
    assert [(b.model_a, b.model_b, b.winner) for b in battles] == [
        ("vicuna-13b", "alpaca-13b", "model_a"), ("vicuna-13b", "llama-13b", "tie")
    ]  # fmt: skip
    assert report.dropped == {UNPARSED: 1}


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
