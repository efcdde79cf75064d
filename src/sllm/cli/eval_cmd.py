"""`sllm eval`: benchmarks and metrics on any model, lm-evaluation-harness-compatible numbers."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from sllm.cli.app import app
from sllm.cli.options import JsonOption, ModelOption, NoCacheOption, parse_key_values

EXAMPLES = """
[bold]Examples[/bold]

  sllm eval --tasks hellaswag --limit 50
  sllm eval --tasks mmlu --limit 0.1 --data-dir ../shared/data     # the first 10% of each subject
  sllm eval --model hf:./out --tasks mmlu,hellaswag --num-fewshot 5 --data-dir ../shared/data
  sllm eval --tasks truthfulqa_mc1,truthfulqa_mc2 --batch-size auto --json
  sllm eval --tasks my_task --include-path ./my_tasks --no-track
  sllm eval --tasks gsm8k_cot,xsum --chat --system "You are a careful assistant." --limit 20
  sllm eval --tasks mmlu,kobest --mc-mode generate --chat --data-dir ../shared/data
  sllm eval --tasks gsm8k --prompt-style zeroshot-cot --limit 20
  sllm eval --tasks humaneval --gen-kwargs max_new_tokens=256 --limit 10
  sllm eval --tasks gsm8k_cot_self_consistency --gen-kwargs repeats=5,temperature=0.7 --limit 10
  sllm eval --tasks xsum --model hf:./out,max_length=2048 --truncate left --limit 20

Without --data-dir (or SLLM_DATA_DIR), tasks load from the Hugging Face hub when online, else
from the small sample bundled with sllm (a warning says so). Results go to
OUTPUT/<model>/<time>-<random suffix>/: results.json (with the environment and
each task's full config), results.md (a markdown table), and every prompt and
answer in samples.jsonl (a new folder per run, so concurrent runs never
overwrite each other).
"""


GEN_KEYS = ("max_new_tokens", "temperature", "top_p", "top_k", "strategy", "seed", "repeats", "until")


def _positive_int(text: str) -> int:
    from sllm.errors import UsageError

    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"--batch-size: expected a positive number or auto, got '{text}'")
    return int(text)


# EvalConfig fields whose flag is not simply --field-name
FLAGS = {"fewshot_sampler": "--fewshot", "include_paths": "--include-path", "system_prompt": "--system"}


def option_error(exc: Any) -> str:
    """The first problem of an EvalConfig ValidationError as `--flag: message, got 'value'`."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "config"
    flag = FLAGS.get(field, "--" + field.replace("_", "-"))
    message = first["msg"].removeprefix("Value error, ")
    return f"{flag}: {message}, got {first['input']!r}" if "input" in first else f"{flag}: {message}"


def parse_limit(text: str | None) -> float | None:
    """`--limit` as a number: N documents, or a fraction below 1 (checked by EvalConfig)."""
    from sllm.errors import UsageError
    from sllm.evaluation.pipeline import LIMIT_EXPECTED

    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{LIMIT_EXPECTED}, got '{text}'") from None


def parse_gen_kwargs(text: str | None) -> dict[str, Any]:
    """`max_new_tokens=64,temperature=0.7` -> typed values; unknown keys are errors."""
    from sllm.errors import unknown_name

    values = parse_key_values([i for i in (text or "").split(",") if i.strip()], "--gen-kwargs")
    for key in values:
        if key not in GEN_KEYS:
            raise unknown_name("generation setting", key, GEN_KEYS)
    if "until" in values and not isinstance(values["until"], list):
        values["until"] = [str(values["until"])]
    return values


@app.command("eval", epilog=EXAMPLES)
def eval_command(
    tasks: str = typer.Option(..., "--tasks", "-t", help="Comma-separated task or group names."),
    model: str = ModelOption,
    num_fewshot: int | None = typer.Option(None, "--num-fewshot", "-k", help="Exemplars per prompt."),
    fewshot: str | None = typer.Option(
        None,
        "--fewshot",
        help="Exemplars: first_n (= fixed) | random | retrieved.",
    ),
    limit: str | None = typer.Option(
        None,
        "--limit",
        metavar="N|F",
        help="Only the first N documents of each task, or a fraction F of each (0.1 = the first 10%).",
    ),
    data_dir: str | None = typer.Option(None, "--data-dir", help="Folder laid out like ../shared/data."),
    include_path: list[str] | None = typer.Option(None, "--include-path", help="Folder of task YAML."),
    batch_size: str | None = typer.Option(
        None, "--batch-size", "-b", help="Requests per forward pass: N, or auto (the largest that fits)."
    ),
    chat: bool = typer.Option(False, "--chat", help="Generation prompts through the chat template."),
    mc_mode: str = typer.Option(
        "loglikelihood",
        "--mc-mode",
        help="Multiple choice by loglikelihood, or generate (the model writes a letter).",
    ),
    system: str | None = typer.Option(None, "--system", help="System prompt (with --chat)."),
    prompt_style: str | None = typer.Option(
        None, "--prompt-style", help="plain | cot (CoT exemplars) | zeroshot-cot (two-stage)."
    ),
    gen_kwargs: str | None = typer.Option(
        None,
        "--gen-kwargs",
        help="Override generation settings: KEY=VALUE,... (max_new_tokens, temperature, top_p, "
        "top_k, strategy, seed, repeats).",
    ),
    truncate: str | None = typer.Option(
        None,
        "--truncate",
        help="left | right: cut prompts longer than the context window from this side (log-likelihood "
        "contexts: always from the left); each cut is recorded in samples.jsonl. Default: error.",
    ),
    output: str = typer.Option("sllm-results", "--output", "-o", help="Folder for the records."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not record an MLflow run."),
    no_cache: bool = NoCacheOption,
    as_json: bool = JsonOption,
) -> None:
    """Evaluate a model on tasks; print a table (or JSON) and write results and samples."""
    from pydantic import ValidationError

    from sllm.cli import preflight
    from sllm.errors import UsageError
    from sllm.evaluation.pipeline import EvalConfig, evaluate, output_dir, prepare
    from sllm.evaluation.records import eval_params, record_evaluation, results_table, write_records
    from sllm.tracking import track_run

    try:
        config = EvalConfig(
            model=model,
            tasks=[t.strip() for t in tasks.split(",") if t.strip()],
            num_fewshot=num_fewshot,
            fewshot_sampler=fewshot,
            limit=parse_limit(limit),
            data_dir=data_dir,
            include_paths=include_path or [],
            batch_size=batch_size if batch_size in (None, "auto") else _positive_int(batch_size),
            use_cache=not no_cache,
            output=output,
            track=not no_track,
            chat=chat,
            mc_mode=mc_mode,
            system_prompt=system,
            prompt_style=prompt_style,
            gen_kwargs=parse_gen_kwargs(gen_kwargs),
            truncate=truncate,
        )
    except ValidationError as exc:
        raise UsageError(option_error(exc)) from None
    # Every check (tasks, metrics, data, prompts, paths) before the model loads and the run starts
    preflight.model_spec(model, "--model")
    preflight.writable_dir(output, "--output")
    plan = prepare(config)
    err = Console(stderr=True)
    # The run spans the work (model loading included): its duration is the evaluation's.
    with track_run("eval", params=eval_params(config.model_dump()), enabled=config.track) as run:
        record = evaluate(config, progress=True, plan=plan)
        sampled = [t for t, source in record["data_sources"].items() if source.startswith("bundled sample")]
        if sampled:
            names = ", ".join(sampled[:3]) + (f" and {len(sampled) - 3} more" if len(sampled) > 3 else "")
            err.print(
                f"[yellow]warning:[/yellow] {names} ran on the small samples bundled with sllm; "
                "pass --data-dir for the full data"
            )
        folder = output_dir(config)
        summary = write_records(record, folder)
        summary["run_id"] = record_evaluation(run, summary, folder)
    if as_json:
        keep = ("model", "results", "samples", "run_id", "cache")
        print(json.dumps({k: summary[k] for k in keep}, default=str))
        return
    Console().print(results_table(summary))
    err.print(f"records: {folder}" + (f"  run: {summary['run_id']}" if summary["run_id"] else ""))
