"""Pairwise judging of per-model answer files (`sllm judge compare`), and the leaderboard of it:
against a baseline, alpaca_eval's win rate per model; over all pairs, Bradley-Terry ratings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sllm.judging.jobs import JudgeOptions


def compare_answers(  # noqa: PLR0913 - the comparison's inputs
    answers: list[tuple[str | None, Path]],
    output: Path,
    baseline: str | None,
    options: JudgeOptions,
    questions: Path | None = None,
    reference: Path | None = None,
) -> dict[str, Any]:
    """Judge each model against `baseline` (None: every pair of models); the summary with its
    leaderboard. `answers` are (name or None, file) pairs; a name renames the file's model."""
    from sllm.errors import UsageError
    from sllm.judging.answers import load_answers, load_question_file, model_pairs, pair_items
    from sllm.judging.bias import warn_self_preference
    from sllm.judging.jobs import check_judge, judge_items, open_judge, plan_judging
    from sllm.judging.run import summarize_pairwise
    from sllm.judging.tracking import track_judging
    from sllm.textio import write_jsonl
    from sllm.usage import usage_report

    sets = [load_answers(path, name) for name, path in answers]
    models = [s.model for s in sets]
    if len(set(models)) != len(models) or len(models) < 2:
        raise UsageError(f"need at least two answer files of different models, got {', '.join(models)}")
    asked = load_question_file(questions) if questions else None
    refs = load_answers(reference, "reference") if reference else None
    items, missing = pair_items(sets, model_pairs(models, baseline), asked, refs)
    plan = plan_judging(items, "pairwise", options.config, options.include)
    check_judge(options, output)
    lm = open_judge(options)
    rows, configs = judge_items(lm, plan, "pairwise", options)
    write_jsonl(output, rows)
    summary = {
        "output": str(output),
        "judge_model": lm.spec,
        "configs": configs,
        "baseline": baseline,
        "models": leaderboard(rows, baseline),
        "missing_answers": {m: n for m, n in missing.items() if n},
        **summarize_pairwise(rows),
        **usage_report(lm, options.price_table),
    }
    summary["self_preference_risk"] = warn_self_preference(options.judge, models, options.judge_family)
    inputs = [path for _, path in answers] + [p for p in (questions, reference) if p]
    summary["run_id"] = track_judging("compare", summary, inputs, [output], options.track)
    return summary


def leaderboard(rows: list[dict[str, Any]], baseline: str | None) -> dict[str, dict[str, Any]]:
    """Against a baseline: alpaca_eval's win rate and its standard error per model; all pairs:
    Bradley-Terry ratings (FastChat's formulation) beside each model's adjusted win rate."""
    from sllm.judging.run import pairwise_rates
    from sllm.ratings.battles import Battle
    from sllm.ratings.winrate import head_to_head

    judged = [r for r in rows if r["winner"] is not None]
    if baseline is not None:
        out = {}
        for model in sorted({r["model_b"] for r in rows}):
            mine = [r["preference"] for r in rows if r["model_b"] == model]
            out[model] = head_to_head(mine) if any(p is not None for p in mine) else {"n_unparsed": len(mine)}
        return out
    rates = pairwise_rates(rows)
    battles = [Battle(r["model_a"], r["model_b"], r["winner"]) for r in judged]
    models = {r["model_a"] for r in judged} | {r["model_b"] for r in judged}
    outcomes = {b.winner for b in battles}
    if len(models) < 2 or outcomes <= {"tie"}:
        return rates  # nothing separates the models: no ratings to fit
    from sllm.ratings.bradley_terry import fit_bradley_terry

    ratings = fit_bradley_terry(battles)
    return {m: {"rating": ratings[m], **rates.get(m, {})} for m in ratings}
