"""`sllm judge mtbench`: MT-Bench end to end -- candidates answer two-turn questions, a judge grades."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.judge import judge_app, judge_options
from sllm.cli.options import (
    JsonOption,
    JudgeFamilyOption,
    JudgeOption,
    NoCacheOption,
    NoTrackOption,
    PriceTableOption,
    RetriesOption,
)
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
def judge_mtbench(  # noqa: PLR0913 - the benchmark's options
    models: list[str] = typer.Option(..., "--model", "-m", help="A candidate, NAME=SPEC or SPEC (repeat)."),
    judge: str = JudgeOption,
    mode: str = typer.Option(
        "single", "--mode", help="single (1-10 grades) | pairwise (all pairs, swapped)."
    ),
    questions: Path | None = typer.Option(None, "--questions", help="FastChat mt_bench folder."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="First N questions."),
    answer_tokens: int = typer.Option(1024, "--answer-max-new-tokens", help="Cap on each answer."),
    judge_tokens: int | None = typer.Option(None, "--judge-max-new-tokens", help="Cap on each judgment."),
    retries: int = RetriesOption,
    output: Path = typer.Option(Path("mt-bench"), "--output", "-o", help="Output folder."),
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    judge_family: str | None = JudgeFamilyOption,
    as_json: bool = JsonOption,
) -> None:
    """Generate answers of every candidate to MT-Bench's two-turn questions, then judge both turns."""
    from sllm.judging.mtbench import run_mtbench

    options = judge_options(
        judge, retries=retries, max_new_tokens=judge_tokens, no_cache=no_cache, no_track=no_track,
        price_table=price_table, judge_family=judge_family, as_json=as_json,
    )  # fmt: skip
    summary = run_mtbench(_candidates(models), mode, output, options, questions, limit, answer_tokens)
    if as_json:
        print(json.dumps(summary))
        return
    _print(summary)


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
