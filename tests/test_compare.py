"""`sllm judge compare`: answer files in peers' layouts, baseline and all-pairs leaderboards,
and a new model costing only its new pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ScriptedLM, run_cli

from sllm.errors import SllmError, UsageError
from sllm.judging.answers import load_answers, load_question_file, model_pairs, pair_items
from sllm.judging.compare import leaderboard as _leaderboard
from sllm.judging.run import Judge
from sllm.judging.spec import get_judge

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
QUESTIONS = {"q1": "What is the capital of France?", "q2": "Name a primary colour.", "q3": "What is 2 + 2?"}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _fastchat(path: Path, model: str, answers: dict[str, str]) -> Path:
    return _write(path, [{"question_id": q, "model_id": model, "choices": [{"index": 0, "turns": [a]}]}
                         for q, a in answers.items()])  # fmt: skip


def _arena(path: Path, model: str, answers: dict[str, str]) -> Path:
    return _write(path, [{"uid": q, "model": model, "messages": [
        {"role": "user", "content": QUESTIONS[q]}, {"role": "assistant", "content": {"answer": a}}]}
        for q, a in answers.items()])  # fmt: skip


def test_answer_files_in_fastchat_arena_hard_alpaca_and_sllm_layouts(tmp_path: Path) -> None:
    fast = load_answers(_fastchat(tmp_path / "f.jsonl", "m1", {"q1": "Paris."}))
    arena = load_answers(_arena(tmp_path / "a.jsonl", "m2", {"q1": "Paris!"}))
    alpaca = load_answers(
        _write(tmp_path / "o.json", [{"instruction": "Say hi", "output": "hi", "generator": "m3"}])
    )
    ours = load_answers(_write(tmp_path / "s.jsonl", [{"question_id": 1, "answer": "x"}]), name="mine")
    assert (fast.model, fast.answers) == ("m1", {"q1": ["Paris."]})
    assert (arena.model, arena.answers, arena.questions) == (
        "m2",
        {"q1": ["Paris!"]},
        {"q1": [QUESTIONS["q1"]]},
    )
    assert alpaca.answers == {"Say hi": ["hi"]} and alpaca.questions == {"Say hi": ["Say hi"]}
    assert ours.model == "mine" and ours.answers == {"1": ["x"]}
    with pytest.raises(SllmError, match=r"s.jsonl:1: no model name in the record; pass NAME=FILE"):
        load_answers(tmp_path / "s.jsonl")
    _write(tmp_path / "bad.jsonl", [{"question_id": "q1", "text": "?"}])
    with pytest.raises(SllmError, match=r"bad.jsonl:1: not an answer record"):
        load_answers(tmp_path / "bad.jsonl")


def test_shared_arena_hard_answers_pair_up_with_the_question_file() -> None:
    root = SHARED / "arena_hard" / "arena-hard-v0.1"
    if not root.is_dir():
        pytest.skip("../shared/data is not beside the repository")
    questions = load_question_file(root / "question.jsonl")
    sets = [load_answers(root / "model_answer" / f"{m}.jsonl") for m in ("gpt-4-0314", "gpt-3.5-turbo-0125")]
    items, missing = pair_items(sets, model_pairs([s.model for s in sets], "gpt-4-0314"), questions)
    assert (
        len(questions) == 500 and len(items) == 500 and missing == {"gpt-4-0314": 0, "gpt-3.5-turbo-0125": 0}
    )
    assert items[0].models == ["gpt-4-0314", "gpt-3.5-turbo-0125"] and items[0].category == "arena-hard-v0.1"


def test_baseline_and_all_pairs_leaderboards_with_a_scripted_judge(tmp_path: Path) -> None:
    # The judge prefers the longer answer, whatever its position: an exactly known outcome.
    def longer(prompt: str, seed: int | None) -> str:
        a = prompt.split("[The Start of Assistant A's Answer]")[1].split("[The End of Assistant A's Answer]")[
            0
        ]
        b = prompt.split("[The Start of Assistant B's Answer]")[1].split("[The End of Assistant B's Answer]")[
            0
        ]
        return "[[A]]" if len(a) > len(b) else "[[B]]" if len(b) > len(a) else "[[C]]"

    sets = [
        load_answers(_fastchat(tmp_path / "s.jsonl", "short", {"q1": "P", "q2": "R", "q3": "4"})),
        load_answers(_fastchat(tmp_path / "m.jsonl", "medium", {"q1": "Pa", "q2": "Red", "q3": "4"})),
        load_answers(_fastchat(tmp_path / "l.jsonl", "long", {"q1": "Paris", "q2": "Blue"})),
    ]
    questions = {q: {"turns": [t], "category": ""} for q, t in QUESTIONS.items()}
    judge = Judge(ScriptedLM(longer), get_judge("mt_bench_pair_v2"))
    items, missing = pair_items(sets, model_pairs(["short", "medium", "long"], "short"), questions)
    assert missing == {"short": 0, "medium": 0, "long": 1}
    board = _leaderboard(judge.pairwise(items), "short")
    # medium beats short on q1, q2 and ties on q3; long beats short on q1, q2 (q3 unanswered)
    assert board["medium"]["n_wins"] == 2 and board["medium"]["n_draws"] == 1
    assert board["medium"]["win_rate"] == pytest.approx(100 * 2.5 / 3)
    assert board["long"]["win_rate"] == 100.0 and board["long"]["n_total"] == 2
    every, _ = pair_items(sets, model_pairs(["short", "medium", "long"], None), questions)
    rows = judge.pairwise(every)
    assert all(r["consistent"] for r in rows)
    ratings = _leaderboard(rows, None)
    assert list(ratings) == ["long", "medium", "short"]  # Bradley-Terry, highest first
    assert ratings["medium"]["wins"] == 2 and ratings["medium"]["ties"] == 1
    with pytest.raises(UsageError, match="baseline 'gpt-4' is not among"):
        model_pairs(["a", "b"], "gpt-4")


@pytest.mark.slow
def test_adding_a_model_costs_only_its_new_pairs(tmp_path: Path) -> None:
    a = _fastchat(tmp_path / "a.jsonl", "alpha", {"q1": "The capital of France is Paris.", "q3": "4"})
    b = _arena(tmp_path / "b.jsonl", "beta", {"q1": "Lyon.", "q3": "2 + 2 = 4."})
    gamma = [("q1", "Paris"), ("q3", "5")]
    c = _write(
        tmp_path / "c.jsonl",
        [{"question_id": q, "model": "gamma", "answer": t, "question": QUESTIONS[q]} for q, t in gamma],
    )
    out = tmp_path / "j.jsonl"
    base = [
        "judge",
        "compare",
        "--all-pairs",
        "-o",
        str(out),
        "--max-new-tokens",
        "24",
        "--retries",
        "0",
        "--no-track",
        "--json",
    ]
    first = run_cli(*base, "-a", str(a), "-a", str(b))
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)
    assert one["n"] == 2 and one["calls"] == {"computed": 4, "cached": 0}  # 2 questions x 2 orders
    second = run_cli(*base, "-a", str(a), "-a", str(b), "-a", str(c))
    assert second.returncode == 0, second.stderr
    two = json.loads(second.stdout)
    assert two["n"] == 6 and two["calls"] == {"computed": 8, "cached": 4}  # only gamma's pairs are new
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {(r["model_a"], r["model_b"]) for r in rows} == {
        ("alpha", "beta"),
        ("alpha", "gamma"),
        ("beta", "gamma"),
    }
    assert two["n_unparsed"] == sum(r["winner"] is None for r in rows)
    rated = run_cli("rate", str(out), "--json", "--allow-partial")
    if two["n_unparsed"] == len(rows):  # the 135M judge may never give a verdict in 24 tokens
        assert rated.returncode == 1
        assert f"no battles ({len(rows)} grades or verdicts were unparsed)" in rated.stderr
    else:
        assert rated.returncode == 0, rated.stderr
        assert json.loads(rated.stdout)["missing_grades"] == two["n_unparsed"]
