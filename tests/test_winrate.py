"""`sllm winrate`: alpaca_eval's win rate and standard error, and the length-controlled GLM."""

from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from sllm.errors import SllmError
from sllm.ratings.alpaca_eval_reference import alpaca_eval_reference, instruction_key
from sllm.ratings.length_control import estimate_difficulty, resolve_difficulty
from sllm.ratings.winrate import head_to_head, load_annotations

ALPACA = Path(__file__).resolve().parents[2] / "shared" / "data" / "alpaca_eval"
SHARED_MODELS = ["alpaca-7b", "alpaca-7b_concise", "alpaca-7b_verbose"]
FIXTURES = Path(__file__).parent / "fixtures" / "leaderboards" / "alpaca_eval"
FIXTURE_FILES = [
    FIXTURES / m / "weighted_alpaca_eval_gpt4_turbo" / "annotations.json" for m in SHARED_MODELS[::2]
]
# alpaca-7b_verbose's 802 annotations with every output replaced by as many "x" (LC reads only
# lengths); see fixtures/leaderboards/README.md
VERBOSE_LENGTHS = (
    Path(__file__).parent / "fixtures" / "leaderboards" / "alpaca_eval_lengths" / "alpaca-7b_verbose.json.gz"
)
# alpaca_eval @ cd543a1, src/alpaca_eval/leaderboards/.../weighted_alpaca_eval_gpt4_turbo_leaderboard.csv
VERBOSE_PUBLISHED_LC = 6.816306816367379
ROW_POSITION_WARNING = (
    "{}: {} of AlpacaEval's 805 instructions missing; difficulties looked up by row position as "
    "alpaca_eval does (its published LC); --difficulty-by-instruction for the corrected LC"
)


def _synthetic(tmp_path: Path, gamed: bool = False) -> list[Path]:
    """Two equally good models, one writes 3x longer answers, and the judge likes length; with
    `gamed`, also a concise and a verbose rewrite of the baseline (its quality, other lengths)."""
    rng = np.random.default_rng(0)
    difficulty = rng.normal(size=300)
    paths = []
    specs = [("terse", 20, -0.5), ("wordy", 60, -0.5)]
    specs += [("base_concise", 15, 0.0), ("base_verbose", 80, 0.0)] if gamed else []
    for name, words, quality in specs:
        rows = []
        for i, d in enumerate(difficulty):
            own = words + int(rng.integers(-5, 6))
            base = 40 + int(rng.integers(-5, 6))
            bias = 1.5 * np.tanh((own - base) / 20)
            p = 1 / (1 + np.exp(-(quality + 0.8 * d + bias)))
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
    payload = json.loads(result.stdout)
    models = payload["models"]
    plain_gap = models["wordy"]["win_rate"] - models["terse"]["win_rate"]
    lc_gap = models["wordy"]["length_controlled_winrate"] - models["terse"]["length_controlled_winrate"]
    assert plain_gap > 25 and abs(lc_gap) < plain_gap / 3
    assert {"win_rate", "standard_error", "length_controlled_winrate", "lc_standard_error", "n_total"} <= set(
        models["wordy"]
    )
    # Not AlpacaEval: no gamed baselines of this judge, and the output says the fit is unregularised.
    assert "not regularised" in payload["note"]


@pytest.mark.slow
def test_gamed_baselines_of_the_same_judge_regularise_the_length_slope(tmp_path: Path) -> None:
    # Each model's length difference is nearly constant, so its own rows cannot tell the length
    # slope from the model term (the gpt4_gamed situation); the gamed baselines can.
    terse, wordy, concise, verbose = map(str, _synthetic(tmp_path, gamed=True))
    plain = json.loads(run_cli("winrate", terse, wordy, "--length-controlled", "--json").stdout)["models"]
    args = ["--gamed-baseline", concise, "--gamed-baseline", verbose]
    result = run_cli("winrate", terse, wordy, "--length-controlled", "--json", *args)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload["models"]) == {"terse", "wordy"}
    assert "regularised toward 2 gamed baseline(s)" in payload["note"]
    lc = {m: r["length_controlled_winrate"] for m, r in payload["models"].items()}
    before = {m: r["length_controlled_winrate"] for m, r in plain.items()}
    assert abs(lc["wordy"] - lc["terse"]) < abs(before["wordy"] - before["terse"])
    truth = 100 * np.mean(1 / (1 + np.exp(-(-0.5 + 0.8 * np.random.default_rng(0).normal(size=300)))))
    assert abs((lc["wordy"] + lc["terse"]) / 2 - truth) < 1.0  # both models are as good as each other


@pytest.mark.slow
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


def test_placeholder_generator_takes_the_folder_name_and_gzip_is_read(tmp_path: Path) -> None:
    source = FIXTURES / "alpaca-7b" / "weighted_alpaca_eval_gpt4_turbo" / "annotations.json"
    rows = json.loads(source.read_text())
    folder = tmp_path / "results" / "my-sft" / "weighted_alpaca_eval_gpt4_turbo"
    folder.mkdir(parents=True)
    (folder / "annotations.json.gz").write_bytes(
        gzip.compress(json.dumps([r | {"generator_2": "example"} for r in rows]).encode())
    )
    loaded = load_annotations(folder / "annotations.json.gz")
    assert {r.generator_2 for r in loaded} == {"my-sft"} and len(loaded) == 30


@pytest.mark.slow
def test_lc_of_a_model_does_not_depend_on_the_other_files_given() -> None:
    alone, both = (
        run_cli("winrate", *map(str, files), "--length-controlled", "--json")
        for files in ([FIXTURE_FILES[0]], FIXTURE_FILES)
    )
    assert alone.returncode == 0 and both.returncode == 0, alone.stderr + both.stderr
    first, second = json.loads(alone.stdout), json.loads(both.stdout)
    assert first["models"]["alpaca-7b"] == second["models"]["alpaca-7b"]
    assert first["note"].startswith("instruction difficulty: sllm's AlpacaEval 2.0 reference")
    assert "regularised toward AlpacaEval's gamed GPT-4 Turbo baselines" in first["note"]
    assert first["models"]["alpaca-7b"]["lc_standard_error"] > 0


def test_the_baseline_against_itself_is_one_half(tmp_path: Path) -> None:
    rows = json.loads(FIXTURE_FILES[0].read_text())
    same = [r | {"generator_2": r["generator_1"], "output_2": r["output_1"], "preference": 1.5} for r in rows]
    (tmp_path / "self.json").write_text(json.dumps(same))
    model = json.loads(
        run_cli("winrate", str(tmp_path / "self.json"), "--length-controlled", "--json").stdout
    )
    assert model["models"]["gpt4_1106_preview"]["length_controlled_winrate"] == 50.0
    assert model["models"]["gpt4_1106_preview"]["lc_standard_error"] == 0.0


def test_more_than_five_percent_unusable_preferences_fails_unless_allowed(tmp_path: Path) -> None:
    rows = json.loads(FIXTURE_FILES[0].read_text())
    for row in rows[:3]:
        row["preference"] = None
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows))
    failed = run_cli("winrate", str(path))
    assert failed.returncode == 1
    assert (
        "used 27 of 30 annotations; dropped 3 unparsed preferences (10% dropped, more than 5%)"
        in failed.stderr
    )
    allowed = run_cli("winrate", str(path), "--allow-partial", "--json")
    assert allowed.returncode == 0, allowed.stderr
    payload = json.loads(allowed.stdout)
    assert payload["models"]["alpaca-7b"]["n_total"] == 27 and payload["read"]["dropped"] == {
        "unparsed preferences": 3
    }


def _alpaca_files(models: list[str]) -> list[str]:
    return [
        str(ALPACA / "results" / m / "weighted_alpaca_eval_gpt4_turbo" / "annotations.json") for m in models
    ]


def _board() -> dict[str, dict[str, str]]:
    path = ALPACA / "leaderboards" / "data_AlpacaEval_2" / "weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
    return {row[""]: row for row in csv.DictReader(path.open())}


@pytest.mark.slow
@pytest.mark.skipif(not ALPACA.is_dir(), reason="../shared/data/alpaca_eval not present")
def test_win_rate_and_lc_match_the_alpaca_eval_leaderboard() -> None:
    board = _board()
    result = run_cli("winrate", *_alpaca_files(SHARED_MODELS), "--length-controlled", "--json")
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
    # By default every file is within a point of its published LC, alpaca-7b_concise (804 rows) and
    # _verbose (802) too: their difficulties follow alpaca_eval's row positions, and a warning says so.
    for model in SHARED_MODELS:
        published = float(board[model]["length_controlled_winrate"])
        assert abs(ours[model]["length_controlled_winrate"] - published) < 1.0, model
    for model, missing in (("alpaca-7b_concise", 1), ("alpaca-7b_verbose", 3)):
        assert ROW_POSITION_WARNING.format(_alpaca_files([model])[0], missing) in " ".join(
            result.stderr.split()
        )
    assert "alpaca-7b:" not in result.stderr  # all 805 rows: nothing to warn about
    flags = ["--length-controlled", "--difficulty-by-instruction", "--json"]
    corrected = run_cli("winrate", *_alpaca_files(["alpaca-7b_verbose"]), *flags)
    assert corrected.returncode == 0 and "row position" not in corrected.stderr
    verbose = json.loads(corrected.stdout)["models"]["alpaca-7b_verbose"]
    assert verbose["length_controlled_winrate"] == pytest.approx(4.89, abs=0.01)


def test_lc_of_a_file_missing_rows_matches_the_leaderboard_offline() -> None:
    # alpaca-7b_verbose lacks 3 of the 805 rows; alpaca_eval's published LC looked difficulties up
    # by row position (shifted after each gap), and that is what the default reproduces.
    path = str(VERBOSE_LENGTHS)
    result = run_cli("winrate", path, "--length-controlled", "--json")
    assert result.returncode == 0, result.stderr
    assert ROW_POSITION_WARNING.format(path, 3) in " ".join(result.stderr.split())
    payload = json.loads(result.stdout)
    model = payload["models"]["alpaca-7b_verbose"]
    assert abs(model["length_controlled_winrate"] - VERBOSE_PUBLISHED_LC) < 1.0
    assert payload["note"].endswith(
        "re-fitted with their own annotations, as alpaca_eval's difficulty fit had them: alpaca-7b_verbose"
    )
    corrected = run_cli("winrate", path, "--length-controlled", "--difficulty-by-instruction", "--json")
    assert "row position" not in corrected.stderr
    by_instruction = json.loads(corrected.stdout)["models"]["alpaca-7b_verbose"]["length_controlled_winrate"]
    assert by_instruction == pytest.approx(4.89, abs=0.01)


def test_row_positions_are_used_only_for_a_file_in_order_missing_a_few_rows() -> None:
    reference = alpaca_eval_reference()
    rows = load_annotations(VERBOSE_LENGTHS)
    position = {k: i for i, k in enumerate(reference.keys)}
    by_instruction = [reference.difficulty[position[instruction_key(r.instruction)]] for r in rows]
    table = resolve_difficulty({"m": rows})
    assert table.missing_by_position == {"m": 3}
    assert table.by_model["m"].tolist() == reference.difficulty[:802].tolist()
    corrected = resolve_difficulty({"m": rows}, by_instruction=True)
    assert corrected.missing_by_position == {} and corrected.by_model["m"].tolist() == by_instruction
    # Out of AlpacaEval's order, or most instructions absent: positions mean nothing, so by instruction.
    shuffled = resolve_difficulty({"m": rows[::-1]})
    assert shuffled.missing_by_position == {} and shuffled.by_model["m"].tolist() == by_instruction[::-1]
    subset = resolve_difficulty({"m": rows[:700]})
    assert subset.missing_by_position == {} and subset.by_model["m"].tolist() == by_instruction[:700]


def test_models_alpaca_eval_fitted_its_difficulty_on_are_refitted_in_sample() -> None:
    rows = load_annotations(FIXTURE_FILES[0])
    renamed = [replace(r, generator_2="my-sft") for r in rows]
    table = resolve_difficulty({"alpaca-7b": rows, "my-sft": renamed})
    assert table.refit == frozenset({"alpaca-7b"})  # on alpaca_eval's leaderboard when LC came out
    assert resolve_difficulty({"alpaca-7b": rows}, "joint").refit == frozenset()  # not the shipped reference


def test_the_shipped_difficulty_is_the_reference_refitted_with_no_new_rows() -> None:
    reference = alpaca_eval_reference()
    empty = np.zeros(0)
    assert reference.refit(empty.astype(int), empty, empty, 1.0).tolist() == reference.difficulty.tolist()


def test_a_model_winning_an_instruction_moves_it_up_the_difficulty_ranks() -> None:
    reference = alpaca_eval_reference()
    k = int(np.argsort(reference.difficulty)[400])  # the median instruction
    wins = np.ones(20)
    refitted = reference.refit(np.full(20, k), wins, np.zeros(20), 1.0)
    assert refitted[k] > reference.difficulty[k]
    assert sorted(refitted.tolist()) == sorted(reference.difficulty.tolist())  # same calibrated values


def test_sklearn_convergence_warnings_do_not_reach_users(tmp_path: Path) -> None:
    # Four synthetic models, two of them with a nearly constant length gap: some of the
    # cross-validation folds' liblinear fits stop at alpaca_eval's iteration cap.
    paths = _synthetic(tmp_path, gamed=True)
    result = run_cli("winrate", *map(str, paths), "--length-controlled")
    assert result.returncode == 0, result.stderr
    assert "ConvergenceWarning" not in result.stderr and "failed to converge" not in result.stderr


def _first_sentence(text: str) -> str:
    text = text.strip()
    end = re.search(r"(?<=[.!?])\s|\n", text)
    return text[: end.start()].strip() if end else text


@pytest.mark.slow
@pytest.mark.skipif(not ALPACA.is_dir(), reason="../shared/data/alpaca_eval not present")
def test_a_first_sentence_gaming_probe_ranks_below_its_source(tmp_path: Path) -> None:
    # alpaca-7b's answers cut to their first sentence. The judge cannot be asked again, so a cut
    # answer is scored a loss (GPT-4 Turbo preferred the baseline on 96% of gpt4_gamed's
    # few-word answers); an answer that was one sentence already keeps its verdict.
    rows = json.loads(Path(_alpaca_files(["alpaca-7b"])[0]).read_text())
    probe = []
    for row in rows:
        short = _first_sentence(row["output_2"])
        cut = len(short) < len(row["output_2"].strip())
        probe.append(
            row | {"output_2": short, "generator_2": "probe", "preference": 1.0 if cut else row["preference"]}
        )
    (tmp_path / "probe.json").write_text(json.dumps(probe))
    args = [_alpaca_files(["alpaca-7b"])[0], str(tmp_path / "probe.json"), "--length-controlled", "--json"]
    regularised = json.loads(run_cli("winrate", *args).stdout)["models"]
    assert (
        regularised["probe"]["length_controlled_winrate"]
        < regularised["alpaca-7b"]["length_controlled_winrate"]
    )
    # Without alpaca_eval's regularisation the probe's brevity buys it LC above its source.
    bare = json.loads(run_cli("winrate", *args, "--lc-regularization", "0").stdout)["models"]
    assert bare["probe"]["length_controlled_winrate"] > bare["alpaca-7b"]["length_controlled_winrate"]


def test_an_index_keyed_difficulty_file_maps_positions_of_the_whole_evaluation_set(tmp_path: Path) -> None:
    # alpaca_eval's instruction_difficulty.csv numbers the 805 instructions; a file of 30 of them
    # must still find each one's own row, not the 30 first.
    reference = alpaca_eval_reference()
    with (tmp_path / "instruction_difficulty.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "instruction_difficulty"])
        writer.writerows(enumerate(reference.difficulty.tolist()))
    by_model = {"alpaca-7b": load_annotations(FIXTURE_FILES[0])}
    from_file = resolve_difficulty(by_model, tmp_path / "instruction_difficulty.csv")
    shipped = resolve_difficulty(by_model)
    assert from_file.by_model["alpaca-7b"].tolist() == shipped.by_model["alpaca-7b"].tolist()
    assert np.array_equal(from_file.anchor_x, shipped.anchor_x)
    assert shipped.by_model["alpaca-7b"].tolist() == [
        float(reference.difficulty[reference.keys.index(instruction_key(r.instruction))])
        for r in by_model["alpaca-7b"]
    ]
