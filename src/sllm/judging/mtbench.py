"""MT-Bench end to end (Zheng et al., 2023): answers to two-turn questions, then judgments.

Answers follow FastChat's gen_model_answer: the chat template of each candidate, turn 2 sees
turn 1 and its own answer, and the temperature comes from the question's category (0 for
extraction, math, coding and reasoning; 0.1 for STEM and humanities; 0.7 for writing and
roleplay). Sampled answers are seeded, so they are cached and a rerun makes no new calls.
Judging then uses the MT-Bench prompts per turn: the reference-guided ones for math, reasoning
and coding, the multi-turn ones for turn 2.
"""

from __future__ import annotations

import hashlib
import json
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sllm.errors import SllmError
from sllm.generation.config import make_config
from sllm.judging.items import Item
from sllm.metaeval.records import read_records
from sllm.models.base import LM, GenerationRequest

if TYPE_CHECKING:
    from sllm.judging.jobs import JudgeOptions

SAMPLE = Path(__file__).parent / "data" / "mt_bench_sample"
TEMPERATURE = {
    "writing": 0.7, "roleplay": 0.7, "extraction": 0.0, "math": 0.0, "coding": 0.0,
    "reasoning": 0.0, "stem": 0.1, "humanities": 0.1, "arena-hard-200": 0.0,
}  # fmt: skip


def load_questions(folder: str | Path | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """question.jsonl (FastChat layout) with reference answers attached where they exist."""
    base = Path(folder) if folder else SAMPLE
    questions = [r for _, r in read_records(base / "question.jsonl")][:limit]
    refs: dict[str, list[str]] = {}
    for path in (
        sorted((base / "reference_answer").glob("*.jsonl")) if (base / "reference_answer").is_dir() else []
    ):
        for where, r in read_records(path):
            try:
                refs[str(r["question_id"])] = list(r["choices"][0]["turns"])
            except (KeyError, IndexError, TypeError):
                raise SllmError(f"{where}: expected choices[0].turns") from None
    for q in questions:
        q.setdefault("reference", refs.get(str(q["question_id"])))
    return questions


def generate_answers(
    lm: LM, questions: list[dict[str, Any]], max_new_tokens: int, seed: int = 0
) -> list[list[str]]:
    """Two turns per question, as FastChat's gen_model_answer (batched per turn)."""

    def config(q: dict[str, Any]) -> Any:
        t = TEMPERATURE.get(q["category"], 0.7)
        if t == 0:
            return make_config(max_new_tokens=max_new_tokens)
        return make_config(
            strategy="sample", temperature=t, top_p=1.0, max_new_tokens=max_new_tokens, seed=seed
        )

    first = lm.generate(
        [GenerationRequest.chat([{"role": "user", "content": q["turns"][0]}], config(q)) for q in questions]
    )
    second = lm.generate([
        GenerationRequest.chat(
            [{"role": "user", "content": q["turns"][0]}, {"role": "assistant", "content": a.text},
             {"role": "user", "content": q["turns"][1]}],
            config(q),
        )
        for q, a in zip(questions, first, strict=True)
    ])  # fmt: skip
    return [[a.text, b.text] for a, b in zip(first, second, strict=True)]


def answer_records(
    model: str, questions: list[dict[str, Any]], answers: list[list[str]]
) -> list[dict[str, Any]]:
    """FastChat's model_answer format."""
    return [
        {
            "question_id": q["question_id"],
            "answer_id": hashlib.sha256(json.dumps([model, q["question_id"], a]).encode()).hexdigest()[:22],
            "model_id": model,
            "choices": [{"index": 0, "turns": a}],
        }
        for q, a in zip(questions, answers, strict=True)
    ]


def build_items(
    questions: list[dict[str, Any]], answers: dict[str, list[list[str]]], mode: str
) -> list[Item]:
    """Items for both turns: one per model (single) or per model pair (pairwise)."""
    groups = [[m] for m in answers] if mode == "single" else [list(p) for p in combinations(answers, 2)]
    items = []
    for k, q in enumerate(questions):
        for models in groups:
            for turn in (1, 2):
                items.append(
                    Item(
                        str(q["question_id"]),
                        list(q["turns"]),
                        models,
                        [answers[m][k] for m in models],
                        q.get("reference"),
                        q["category"],
                        turn,
                    )  # fmt: skip
                )
    return items


def run_mtbench(  # noqa: PLR0913 - the benchmark's settings
    candidates: dict[str, str],
    mode: str,
    output: Path,
    options: JudgeOptions,
    questions: Path | None = None,
    limit: int | None = None,
    answer_tokens: int = 1024,
) -> dict[str, Any]:
    """`sllm judge mtbench`: every candidate (name -> model spec) answers both turns, the judge
    grades (single) or compares (pairwise, all pairs, swapped); FastChat's files under `output`."""
    from collections import Counter

    from sllm import preflight, smoke
    from sllm.errors import UsageError
    from sllm.judging.bias import warn_self_preference
    from sllm.judging.jobs import check_judge, judge_items, open_judge, plan_judging
    from sllm.judging.run import pairwise_rates, summarize_pairwise
    from sllm.judging.tracking import track_judging
    from sllm.models.spec import open_model
    from sllm.textio import write_jsonl
    from sllm.usage import usage_report

    if mode not in ("single", "pairwise"):
        raise UsageError(f"--mode must be single or pairwise, got '{mode}'")
    if mode == "pairwise" and len(candidates) < 2:
        raise UsageError("pairwise MT-Bench needs at least two --model candidates")
    asked = load_questions(questions, smoke.cap(limit, smoke.ITEMS))  # SLLM_SMOKE: a few questions
    for name, spec in candidates.items():
        preflight.model_spec(spec, f"--model {name}")
    check_judge(options, output, output_is_folder=True)
    answers, usage, calls = {}, {}, Counter()
    for name, spec in candidates.items():
        lm = open_model(spec, use_cache=options.use_cache)
        answers[name] = generate_answers(lm, asked, answer_tokens)
        usage[name] = usage_report(lm, options.price_table)
        calls.update(usage[name]["calls"])
        write_jsonl(output / "model_answer" / f"{name}.jsonl", answer_records(name, asked, answers[name]))
    judge_lm = open_judge(options)
    plan = plan_judging(build_items(asked, answers, mode), mode, "auto", ())
    rows, configs = judge_items(judge_lm, plan, mode, options)
    usage["judge"] = usage_report(judge_lm, options.price_table)
    calls.update(usage["judge"]["calls"])
    judged = output / "model_judgment" / f"{mode}.jsonl"
    write_jsonl(judged, rows)
    summary: dict[str, Any] = {"mode": mode, "judge_model": judge_lm.spec, "questions": len(asked),
                               "configs": configs, "calls": dict(calls), "usage": usage}  # fmt: skip
    summary["models"] = single_scores(rows) if mode == "single" else pairwise_rates(rows)
    if mode == "pairwise":
        summary["position_consistency"] = summarize_pairwise(rows)["position_consistency"]
    summary["n_unparsed"] = sum(r["status"] == "unparsed" for r in rows)
    risky = warn_self_preference(options.judge, [*candidates, *candidates.values()], options.judge_family)
    summary["self_preference_risk"] = [n for n, spec in candidates.items() if n in risky or spec in risky]
    answer_files = sorted((output / "model_answer").glob("*.jsonl"))
    summary["run_id"] = track_judging("mtbench", summary, [], [*answer_files, judged], options.track)
    (output / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def single_scores(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """MT-Bench's score: the mean grade per model, per turn and over both turns (None where no
    grade parsed), with the counts of graded and unparsed judgments."""
    from collections import defaultdict

    scores: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    unparsed: dict[str, int] = defaultdict(int)
    for r in rows:
        grades = scores[r["model"]][r["turn"]]  # every model and turn gets a column, graded or not
        if r["score"] is None:
            unparsed[r["model"]] += 1
        else:
            grades.append(r["score"])
    out = {}
    for model, turns in scores.items():
        every = [s for t in turns.values() for s in t]
        out[model] = {
            "score": sum(every) / len(every) if every else None,
            **{f"turn_{t}": sum(v) / len(v) if v else None for t, v in sorted(turns.items())},
            "graded": len(every),
            "unparsed": unparsed[model],
        }
    return out
