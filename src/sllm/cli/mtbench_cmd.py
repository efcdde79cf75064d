"""`sllm judge mtbench`: MT-Bench end to end -- candidates answer two-turn questions, a judge grades."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm import smoke
from sllm.cli.judge import (
    JudgeFamilyOption,
    NoTrackOption,
    PriceTableOption,
    judge_app,
    judge_items,
    plan_judging,
    warn_self_preference,
)
from sllm.cli.options import JsonOption, NoCacheOption
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm judge mtbench -m default -m tuned=hf:./out --judge openai:gpt-4o@https://api.openai.com/v1 -o mtb
  sllm judge mtbench -m base=default -m lora=hf:./base,adapter=./lora --mode pairwise --limit 10 -o mtb
  sllm judge mtbench -m default --questions ../shared/data/mt_bench --mode single -o mtb

Candidates are NAME=SPEC (or a bare spec, named after itself). Without --questions, the 10-question
sample bundled with sllm is used; a FastChat mt_bench folder (question.jsonl, reference_answer/)
gives the full 80. Writes OUT/model_answer/NAME.jsonl (FastChat's format),
OUT/model_judgment/MODE.jsonl and OUT/summary.json. Everything is cached: a rerun makes no calls.
"""


def _candidates(given: list[str]) -> dict[str, str]:
    """NAME=SPEC (the spec may hold its own ,key=value options) or a bare spec named after itself."""
    from sllm.redact import redact_spec

    out = {}
    for part in (p.strip() for p in given if p.strip()):
        name, sep, spec = part.partition("=")
        if sep and ":" not in name and "," not in name:
            out[name] = spec
        else:
            out[redact_spec(part)] = part  # the name is recorded: never the spec's key
    return out


@judge_app.command("mtbench", epilog=EXAMPLES)
def judge_mtbench(
    models: list[str] = typer.Option(..., "--model", "-m", help="A candidate, NAME=SPEC or SPEC (repeat)."),
    judge: str = typer.Option("default", "--judge", "-j", help="Model spec of the judge."),
    mode: str = typer.Option(
        "single", "--mode", help="single (1-10 grades) | pairwise (all pairs, swapped)."
    ),
    questions: Path | None = typer.Option(None, "--questions", help="FastChat mt_bench folder."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="First N questions."),
    answer_tokens: int = typer.Option(1024, "--answer-max-new-tokens", help="Cap on each answer."),
    judge_tokens: int | None = typer.Option(None, "--judge-max-new-tokens", help="Cap on each judgment."),
    retries: int = typer.Option(2, "--retries", min=0),
    output: Path = typer.Option(Path("mt-bench"), "--output", "-o", help="Output folder."),
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    judge_family: str | None = JudgeFamilyOption,
    as_json: bool = JsonOption,
) -> None:
    """Generate answers of every candidate to MT-Bench's two-turn questions, then judge both turns."""
    from sllm.cli import preflight
    from sllm.errors import UsageError
    from sllm.judging.mtbench import answer_records, build_items, generate_answers, load_questions
    from sllm.judging.run import pairwise_rates, summarize_pairwise
    from sllm.models.spec import open_model
    from sllm.usage import usage_report

    if mode not in ("single", "pairwise"):
        raise UsageError(f"--mode must be single or pairwise, got '{mode}'")
    candidates = _candidates(models)
    if mode == "pairwise" and len(candidates) < 2:
        raise UsageError("pairwise MT-Bench needs at least two --model candidates")
    asked = load_questions(questions, smoke.cap(limit, smoke.ITEMS))  # SLLM_SMOKE: a few questions
    for name, spec in candidates.items():
        preflight.model_spec(spec, f"--model {name}")
    preflight.model_spec(judge, "--judge")
    preflight.writable_dir(output, "--output")
    preflight.price_table(price_table)
    answers = {}
    (output / "model_answer").mkdir(parents=True, exist_ok=True)
    calls: Counter[str] = Counter()
    usage = {}
    for name, spec in candidates.items():
        lm = open_model(spec, use_cache=not no_cache)
        answers[name] = generate_answers(lm, asked, answer_tokens)
        usage[name] = usage_report(lm, price_table)
        calls.update(usage[name]["calls"])
        rows = answer_records(name, asked, answers[name])
        (output / "model_answer" / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        )
    judge_lm = open_model(judge, use_cache=not no_cache)
    items = build_items(asked, answers, mode)
    plan = plan_judging(items, mode, "auto", ())
    rows, configs = judge_items(judge_lm, plan, mode, (), True, retries, judge_tokens, not as_json)
    usage["judge"] = usage_report(judge_lm, price_table)
    calls.update(usage["judge"]["calls"])
    (output / "model_judgment").mkdir(parents=True, exist_ok=True)
    (output / "model_judgment" / f"{mode}.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    )
    summary = {
        "mode": mode,
        "judge_model": judge_lm.spec,
        "questions": len(asked),
        "configs": configs,
        "calls": dict(calls),
        "usage": usage,
    }
    summary["models"] = _single_scores(rows) if mode == "single" else pairwise_rates(rows)
    if mode == "pairwise":
        summary["position_consistency"] = summarize_pairwise(rows)["position_consistency"]
    summary["n_unparsed"] = sum(r["status"] == "unparsed" for r in rows)
    risky = warn_self_preference(judge, [*candidates, *candidates.values()], judge_family)
    summary["self_preference_risk"] = [n for n, spec in candidates.items() if n in risky or spec in risky]
    from sllm.judging.tracking import track_judging

    answer_files = sorted((output / "model_answer").glob("*.jsonl"))
    judged = [output / "model_judgment" / f"{mode}.jsonl"]
    summary["run_id"] = track_judging("mtbench", summary, [], [*answer_files, *judged], not no_track)
    (output / "summary.json").write_text(json.dumps(summary, indent=2))
    if as_json:
        print(json.dumps(summary))
        return
    _print(summary)


def _single_scores(rows: list[dict]) -> dict[str, dict]:
    """MT-Bench's score: the mean grade per model, per turn and over both turns (None where no
    grade parsed), with the counts of graded and unparsed judgments."""
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


def _headline(values: dict) -> float | None:
    return values.get("score", values.get("win_rate_adjusted"))


def _print(summary: dict) -> None:
    mode, judge, n = summary["mode"], summary["judge_model"], summary["questions"]
    table = Table(title=f"MT-Bench ({mode}, judge {judge}, {n} questions)")
    first = next(iter(summary["models"].values()), {})
    table.add_column("model", no_wrap=True)
    for key in first:
        table.add_column(key, justify="right")
    # Ranked by the headline (score / adjusted win rate); a model with nothing parsed goes last.
    ranked = sorted(summary["models"].items(), key=lambda kv: -(_headline(kv[1]) or -1.0))
    for model, values in ranked:
        table.add_row(
            model,
            *(cell(v, ".3f") for v in values.values()),
        )
    Console().print(table)
    calls = ", ".join(f"{n} {kind}" for kind, n in sorted(summary["calls"].items())) or "none"
    extra = f"unparsed judgments: {summary['n_unparsed']}; model calls: {calls}"
    if summary.get("position_consistency") is not None:
        extra += f"; position consistency: {summary['position_consistency']:.2f}"
    Console(stderr=True).print(extra)
