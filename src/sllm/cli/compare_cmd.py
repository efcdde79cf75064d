"""`sllm judge compare`: pairwise judging of per-model answer files, against a baseline or all pairs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.judge import (
    ConfigOption,
    IncludeOption,
    JudgeFamilyOption,
    JudgeOption,
    NoTrackOption,
    PriceTableOption,
    RetriesOption,
    cost_line,
    judge_app,
    judge_items,
    plan_judging,
    warn_self_preference,
)
from sllm.cli.options import JsonOption, NoCacheOption
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm judge compare -a out/base.jsonl -a out/sft.jsonl -a out/dpo.jsonl --baseline base -o j.jsonl
  sllm judge compare -a gpt-4-0314.jsonl -a mine.jsonl --questions question.jsonl --baseline gpt-4-0314 \\
      --config arena_hard_v0_1 --judge openai:gpt-4o@https://api.openai.com/v1 -o j.jsonl
  sllm judge compare -a a.jsonl -a b.jsonl -a c.jsonl --all-pairs -o j.jsonl && sllm rate j.jsonl

Answer files: FastChat / MT-Bench (question_id, model_id, choices[0].turns), Arena-Hard
(uid, model, messages), alpaca_eval outputs (instruction, output, generator) or sllm's
(question_id, model, answer). NAME=FILE renames a model. Questions come from --questions or
from the answer files. Every pair is judged in both orders; calls are cached, so adding one
model to a leaderboard costs only its new pairs. The judgments feed `sllm rate` (Bradley-Terry)
and, against a baseline, `sllm winrate` (plain and length-controlled).
"""


def _named(value: str) -> tuple[str | None, Path]:
    name, sep, path = value.partition("=")
    return (name, Path(path)) if sep and not Path(value).exists() else (None, Path(value))


@judge_app.command("compare", epilog=EXAMPLES)
def judge_compare(  # noqa: PLR0913 - the command's options
    answers: list[str] = typer.Option(..., "--answers", "-a", help="Answer file, FILE or NAME=FILE."),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL of pairwise judgments to write."),
    baseline: str | None = typer.Option(None, "--baseline", help="Compare every model with this one."),
    all_pairs: bool = typer.Option(False, "--all-pairs", help="Compare every pair of models."),
    questions: Path | None = typer.Option(None, "--questions", help="Question file (else from answers)."),
    reference: Path | None = typer.Option(None, "--reference", help="Reference answer file."),
    judge: str = JudgeOption,
    config: str = ConfigOption,
    no_swap: bool = typer.Option(False, "--no-swap", help="Judge one order only (position bias unchecked)."),
    retries: int = RetriesOption,
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", help="Cap on each judgment."),
    include_path: list[str] | None = IncludeOption,
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    judge_family: str | None = JudgeFamilyOption,
    as_json: bool = JsonOption,
) -> None:
    """Judge models' answers pairwise: each against a baseline, or all pairs; then a leaderboard."""
    from sllm.cli import preflight
    from sllm.errors import UsageError
    from sllm.judging.answers import load_answers, load_question_file, model_pairs, pair_items
    from sllm.judging.run import summarize_pairwise
    from sllm.judging.tracking import track_judging
    from sllm.models.spec import open_model
    from sllm.usage import usage_report

    if (baseline is None) == (not all_pairs):
        raise UsageError("pass exactly one of --baseline NAME or --all-pairs")
    sets = [load_answers(path, name) for name, path in map(_named, answers)]
    models = [s.model for s in sets]
    if len(set(models)) != len(models) or len(models) < 2:
        raise UsageError(f"need at least two answer files of different models, got {', '.join(models)}")
    asked = load_question_file(questions) if questions else None
    refs = load_answers(reference, "reference") if reference else None
    items, missing = pair_items(sets, model_pairs(models, baseline), asked, refs)
    folders = tuple(include_path or ())
    plan = plan_judging(items, "pairwise", config, folders)
    preflight.model_spec(judge, "--judge")
    preflight.writable_file(output, "--output")
    preflight.price_table(price_table)
    lm = open_model(judge, use_cache=not no_cache)
    rows, configs = judge_items(
        lm, plan, "pairwise", folders, not no_swap, retries, max_new_tokens, not as_json
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    summary = {
        "output": str(output),
        "judge_model": lm.spec,
        "configs": configs,
        "baseline": baseline,
        "models": _leaderboard(rows, baseline),
        "missing_answers": {m: n for m, n in missing.items() if n},
        **summarize_pairwise(rows),
        **usage_report(lm, price_table),
    }
    summary["self_preference_risk"] = warn_self_preference(judge, models, judge_family)
    inputs = [p for _, p in map(_named, answers)] + [p for p in (questions, reference) if p]
    summary["run_id"] = track_judging("compare", summary, inputs, [output], not no_track)
    if as_json:
        print(json.dumps(summary))
        return
    _print(summary)


def _leaderboard(rows: list[dict], baseline: str | None) -> dict[str, dict]:
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


def _print(summary: dict) -> None:
    board = summary["models"]
    title = f"judge {summary['judge_model']}: " + (
        f"against {summary['baseline']}" if summary["baseline"] else "all pairs"
    )
    table = Table(title=title)
    table.add_column("model", no_wrap=True)
    if summary["baseline"]:
        columns = ("win_rate", "standard_error", "n_wins", "n_wins_base", "n_draws", "n_unparsed")
    else:
        columns = ("rating", "wins", "losses", "ties", "win_rate_adjusted")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    ranked = sorted(board.items(), key=lambda kv: -(kv[1].get(columns[0]) or 0))
    for model, values in ranked:
        shown = [values.get(c) for c in columns]
        cells = (cell(v, ".2f") for v in shown)
        table.add_row(model, *cells)
    Console().print(table)
    consistency = summary["position_consistency"]
    notes = [
        f"judgments: {summary['output']}",
        f"unparsed: {summary['n_unparsed']}",
        "" if consistency is None else f"position consistency: {consistency:.2f}",
        cost_line(summary),
    ]
    if summary["missing_answers"]:
        notes.append(f"questions without an answer: {summary['missing_answers']}")
    Console(stderr=True).print("; ".join(n for n in notes if n))
