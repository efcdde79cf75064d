"""`sllm judge`: LLM-as-judge, single-answer grading or pairwise comparison with position swap."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm import smoke
from sllm.cli.app import app
from sllm.cli.options import JsonOption, NoCacheOption
from sllm.tables import cell

judge_app = typer.Typer(help="Judge answers with a model: single grading or pairwise.", no_args_is_help=True)
app.add_typer(judge_app, name="judge")

EXAMPLES = """
[bold]Examples[/bold]

  sllm judge single --judge openai:gpt-4o@https://api.openai.com/v1 -i answers.jsonl -o grades.jsonl
  sllm judge pairwise --judge default --input pairs.jsonl --output verdicts.jsonl --max-new-tokens 256
  sllm judge pairwise --judge hf:./judge -i pairs.jsonl -o v.jsonl --config mt_bench_pair_v2 --no-swap
  sllm judge list

Input JSONL: question_id, question (or turns), and for single grading model + answer (or
answers), for pairwise model_a, model_b, answer_a, answer_b (or answers_a / answers_b);
optional reference(s), category, turn. --config auto picks MT-Bench's prompt per item: the
reference-guided one for math / reasoning / coding with a reference, multi-turn for turn 2,
the Korean prompts for Korean questions.
Every call is cached: running the same command again makes no new model calls.
"""


def _config_for(mode: str, item, include: tuple[str, ...]):  # noqa: ANN001, ANN202
    from sllm.judging import get_judge
    from sllm.language import hangul_ratio

    base = "single" if mode == "single" else "pair"
    version = "math_v1" if item.needs_reference and item.references else ("v1" if mode == "single" else "v2")
    suffix = "_multi_turn" if item.turn == 2 else ""
    # Korean questions get the Korean judge prompts.
    korean = "ko_" if hangul_ratio(item.turns) > 0.5 else ""
    return get_judge(f"mt_bench_{korean}{base}_{version}{suffix}", include)


def plan_judging(items: list, mode: str, config: str, folders: tuple[str, ...]) -> dict[str, list]:
    """The judge config of each item (auto: MT-Bench's choice per item), grouped by config and
    checked against the mode: run before the judge model loads, so a wrong --config fails at once."""
    from sllm.errors import UsageError
    from sllm.judging import get_judge

    if config != "auto":
        try:
            get_judge(config, folders)
        except UsageError as exc:
            raise UsageError(f"--config: {exc}") from None
    groups: dict[str, list] = {}
    for item in items:
        spec = get_judge(config, folders) if config != "auto" else _config_for(mode, item, folders)
        groups.setdefault(spec.name, []).append(item)
    wanted = "single" if mode == "single" else "pairwise"
    for name in groups:
        found = get_judge(name, folders).mode
        if found != wanted:
            raise UsageError(f"--config: judge config {name} is for {found} judging, not {mode}")
    return groups


def judge_items(  # noqa: PLR0913 - the judging options, passed through
    lm,  # noqa: ANN001
    plan: dict[str, list],
    mode: str,
    folders: tuple[str, ...],
    swap: bool,
    retries: int,
    max_new_tokens: int | None,
    progress: bool,
) -> tuple[list[dict], list[str]]:
    """Judge the items of a `plan_judging` plan, each group with its config; rows and configs used."""
    from sllm.judging import get_judge
    from sllm.judging.run import Judge

    rows = []
    for name, members in plan.items():
        runner = Judge(lm, get_judge(name, folders), retries=retries, max_new_tokens=max_new_tokens)
        if mode == "single":
            rows.extend(runner.single(members, progress=progress))
        else:
            rows.extend(runner.pairwise(members, swap, progress=progress))
    return rows, sorted(plan)


def _run(  # noqa: PLR0913 - the command's options, passed through
    mode: str,
    judge: str,
    input_path: Path,
    output: Path,
    config: str,
    swap: bool,
    retries: int,
    max_new_tokens: int | None,
    include: list[str] | None,
    no_cache: bool,
    as_json: bool,
    track: bool = True,
    price_table: Path | None = None,
    judge_family: str | None = None,
) -> None:
    from sllm.cli import preflight
    from sllm.judging.items import load_items
    from sllm.judging.run import summarize_pairwise, summarize_single
    from sllm.judging.tracking import track_judging
    from sllm.models.spec import open_model
    from sllm.usage import usage_report

    folders = tuple(include or ())
    items = load_items(input_path, mode)
    plan = plan_judging(items, mode, config, folders)
    preflight.model_spec(judge, "--judge")
    preflight.writable_file(output, "--output")
    preflight.price_table(price_table)
    lm = open_model(judge, use_cache=not no_cache)
    rows, configs = judge_items(lm, plan, mode, folders, swap, retries, max_new_tokens, not as_json)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = summarize_single(rows) if mode == "single" else summarize_pairwise(rows)
    summary |= {"output": str(output), "judge_model": lm.spec, "configs": configs}
    summary |= usage_report(lm, price_table)
    summary["self_preference_risk"] = warn_self_preference(
        judge, [m for item in items for m in item.models], judge_family
    )
    summary["run_id"] = track_judging(mode, summary, [input_path], [output], track)
    if as_json:
        print(json.dumps(summary))
        return
    _print(summary, mode)


def warn_self_preference(judge: str, candidates: list[str], judge_family: str | None = None) -> list[str]:
    """Warn (stderr) when the judge may favour a candidate of its own family (`judge_family`
    overrides the family guessed from the judge's name); return those."""
    from sllm.judging.bias import self_preference_risk
    from sllm.redact import redact_spec

    risky = sorted(set(self_preference_risk(judge, sorted(set(candidates)), judge_family)))
    if risky:
        named = ", ".join(redact_spec(r) for r in risky)  # candidates may be specs with keys
        Console(stderr=True).print(
            f"[yellow]warning:[/yellow] the judge {redact_spec(judge)} is, or shares a family with, {named}: "
            "judges tend to prefer their own family's answers; compare with a judge of another family"
        )
    return risky


def _print(summary: dict, mode: str) -> None:
    table = Table(title=f"{mode} judging with {summary['judge_model']} ({', '.join(summary['configs'])})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key in ("output", "judge_model", "configs", "self_preference_risk", "run_id", "price"):
            continue
        table.add_row(key, cell(value, ".3g"))
    Console().print(table)
    Console(stderr=True).print(f"judgments: {summary['output']}")


def _shown(value: object) -> str:
    return cell(value, ".3g")


JudgeOption = typer.Option("default", "--judge", "-j", help="Model spec of the judge.")
InputOption = typer.Option(..., "--input", "-i", help="JSONL of items to judge.")
OutputOption = typer.Option(..., "--output", "-o", help="JSONL of judgments to write.")
ConfigOption = typer.Option("auto", "--config", help="Judge config name (sllm judge list), or auto.")
RetriesOption = typer.Option(2, "--retries", min=0, help="Re-asks when a reply has no verdict.")
MaxTokensOption = typer.Option(None, "--max-new-tokens", help="Cap on the judge's reply length.")
IncludeOption = typer.Option(None, "--include-path", help="Folder of extra judge YAML configs.")
NoTrackOption = typer.Option(False, "--no-track", help="Do not record an MLflow run.")
PriceTableOption = typer.Option(
    None, "--price-table", help="YAML of $ per 1M input/output tokens per model (overrides built-in)."
)
JudgeFamilyOption = typer.Option(
    None, "--judge-family", help="The judge's model family (e.g. qwen) for self-preference warnings."
)


@judge_app.command("single", epilog=EXAMPLES)
def judge_single(
    judge: str = JudgeOption,
    input_path: Path = InputOption,
    output: Path = OutputOption,
    config: str = ConfigOption,
    retries: int = RetriesOption,
    max_new_tokens: int | None = MaxTokensOption,
    include_path: list[str] | None = IncludeOption,
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    judge_family: str | None = JudgeFamilyOption,
    as_json: bool = JsonOption,
) -> None:
    r"""Grade each answer on the judge's scale (MT-Bench: 1-10, "\[\[rating]]")."""  # \[ escapes rich markup
    _run(
        "single",
        judge,
        input_path,
        output,
        config,
        False,
        retries,
        max_new_tokens,
        include_path,
        no_cache,
        as_json,
        not no_track,
        price_table,
        judge_family,
    )


@judge_app.command("pairwise", epilog=EXAMPLES)
def judge_pairwise(
    judge: str = JudgeOption,
    input_path: Path = InputOption,
    output: Path = OutputOption,
    config: str = ConfigOption,
    no_swap: bool = typer.Option(False, "--no-swap", help="Judge one order only (position bias unchecked)."),
    retries: int = RetriesOption,
    max_new_tokens: int | None = MaxTokensOption,
    include_path: list[str] | None = IncludeOption,
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    judge_family: str | None = JudgeFamilyOption,
    as_json: bool = JsonOption,
) -> None:
    """Compare two answers ("[[A]]" / "[[B]]" / "[[C]]"), in both orders unless --no-swap."""
    _run(
        "pairwise",
        judge,
        input_path,
        output,
        config,
        not no_swap,
        retries,
        max_new_tokens,
        include_path,
        no_cache,
        as_json,
        not no_track,
        price_table,
        judge_family,
    )


@judge_app.command("list", epilog="[bold]Examples[/bold]\n\n  sllm judge list\n  sllm judge list --json")
def judge_list(include_path: list[str] | None = IncludeOption, as_json: bool = JsonOption) -> None:
    """List the judge configs (built-in and from --include-path)."""
    from sllm.judging import list_judges

    judges = list_judges(tuple(include_path or ()))
    if as_json:
        print(
            json.dumps(
                {
                    name: {
                        "mode": j.mode,
                        "parser": j.parser,
                        "turns": j.turns,
                        "reference": j.needs_reference,
                    }
                    for name, j in judges.items()
                }
            )
        )
        return
    table = Table(title=f"{len(judges)} judge configs")
    for column in ("name", "mode", "verdict", "turns", "reference"):
        table.add_column(column, no_wrap=True)
    for name, j in judges.items():
        table.add_row(name, j.mode, j.parser, str(j.turns), "yes" if j.needs_reference else "")
    Console().print(table)


GEVAL_EXAMPLES = """
[bold]Examples[/bold]

  sllm judge geval --judge default -i summaries.jsonl -o geval.jsonl --criteria summeval_coherence
  sllm judge geval -j hf:./judge -i s.jsonl -o g.jsonl --criteria summeval_fluency --mode sampling --n 20
  sllm judge geval -i s.jsonl -o g.jsonl --criteria-file my_criteria.yaml --criteria helpfulness

Input JSONL: a `source` (the document) and an `output` (what is rated) per line; --source-field /
--output-field pick other names. The judge writes evaluation steps once per criterion (--steps
auto, cached and recorded) or uses the released G-Eval prompt (--steps given). --mode
probability weighs each score by its token probability; sampling averages n sampled scores;
auto uses probability where the backend scores continuations.
"""


@judge_app.command("geval", epilog=GEVAL_EXAMPLES)
def judge_geval(
    judge: str = JudgeOption,
    input_path: Path = InputOption,
    output: Path = OutputOption,
    criteria: str = typer.Option("summeval_coherence", "--criteria", help="Comma-separated criterion names."),
    criteria_file: list[str] | None = typer.Option(
        None, "--criteria-file", help="YAML file of extra criteria."
    ),
    mode: str = typer.Option("auto", "--mode", help="probability | sampling | auto."),
    steps: str = typer.Option(
        "auto", "--steps", help="auto (the judge writes them) | given (released prompt)."
    ),
    n: int = typer.Option(20, "--n", min=1, help="Samples per item in sampling mode."),
    temperature: float = typer.Option(2.0, "--temperature", help="Sampling temperature (G-Eval: 2)."),
    source_field: str = typer.Option("source", "--source-field"),
    output_field: str = typer.Option("output", "--output-field"),
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    as_json: bool = JsonOption,
) -> None:
    """G-Eval: criterion-specific evaluation steps, then a probability-weighted or sampled score."""
    from sllm.cli import preflight
    from sllm.errors import SllmError, UsageError
    from sllm.judging.geval import get_criterion, geval
    from sllm.metaeval.records import field_value, read_records
    from sllm.models.spec import open_model

    if mode not in ("auto", "probability", "sampling"):
        raise UsageError(f"--mode: expected auto, probability or sampling, got '{mode}'")
    if steps not in ("auto", "given"):
        raise UsageError(f"--steps: expected auto or given, got '{steps}'")
    chosen = [get_criterion(c.strip(), criteria_file or []) for c in criteria.split(",") if c.strip()]
    if not chosen:
        raise UsageError("--criteria: name at least one criterion")
    rows = list(smoke.head(read_records(input_path)))  # SLLM_SMOKE: a few items
    items = [{"source": str(field_value(r, source_field, w)) if any(c.uses_source for c in chosen) else "",
              "output": str(field_value(r, output_field, w))} for w, r in rows]  # fmt: skip
    if not items:
        raise SllmError(f"{input_path}: no items")
    n = smoke.cap(n, smoke.ITEMS)  # SLLM_SMOKE: a few samples
    preflight.model_spec(judge, "--judge")
    preflight.writable_file(output, "--output")
    preflight.price_table(price_table)
    lm = open_model(judge, use_cache=not no_cache)
    records, runs = [], []
    for criterion in chosen:
        scored, summary = geval(lm, criterion, items, mode, steps, n, temperature)  # type: ignore[arg-type]
        runs.append(summary)
        for (_, row), record in zip(rows, scored, strict=True):
            keep = {k: v for k, v in row.items() if k not in (source_field, output_field)}
            records.append({**keep, **record})
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    means = {
        s["criterion"]: _mean([r["score"] for r in records if r["criterion"] == s["criterion"]]) for s in runs
    }
    from sllm.judging.tracking import track_judging
    from sllm.usage import usage_report

    payload = {"output": str(output), "judge_model": lm.spec, "criteria": runs, "mean_score": means}
    payload |= usage_report(lm, price_table)
    payload["run_id"] = track_judging("geval", payload, [input_path], [output], not no_track)
    if as_json:
        print(json.dumps(payload))
        return
    table = Table(title=f"G-Eval with {lm.spec}")
    for column in ("criterion", "mode", "mean score", "items", "unscored"):
        table.add_column(column)
    for s in runs:
        table.add_row(
            s["criterion"], s["mode"], _shown(means[s["criterion"]]), str(s["n"]), str(s["n_unscored"])
        )
    Console().print(table)
    Console(stderr=True).print(f"records: {output}; {cost_line(payload)}")


def cost_line(usage: dict) -> str:
    """One line on calls, tokens and dollars of a usage report."""
    tokens = usage["tokens"]
    cost = "unknown price (pass --price-table)" if usage["cost_usd"] is None else f"${usage['cost_usd']:.4f}"
    return (
        f"calls {usage['calls']['computed']} computed, {usage['calls']['cached']} cached; "
        f"tokens {tokens['prompt']} in / {tokens['completion']} out; cost {cost}"
    )


def _mean(values: list) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
