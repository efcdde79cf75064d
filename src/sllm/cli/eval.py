"""`sllm eval`: benchmarks and metrics on any model, lm-evaluation-harness-compatible numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from sllm.cli.app import app
from sllm.cli.options import (
    DataDirOption,
    JsonOption,
    ModelOption,
    NoCacheOption,
    NoTrackOption,
    TaskIncludeOption,
    parse_key_values,
    split_names,
)

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
  sllm eval --config eval.yaml --limit 5                # the file's settings; flags given win

Without --data-dir (or SLLM_DATA_DIR), tasks load from the Hugging Face hub when online, else
from the small sample bundled with sllm (a warning says so). Results go to
OUTPUT/<model>/<time>-<random suffix>/: results.json (with the environment and
each task's full config), results.md (a markdown table), and every prompt and
answer in samples.jsonl (a new folder per run, so concurrent runs never
overwrite each other). --config reads the same settings from YAML (keys as in results.json's
config: tasks, num_fewshot, fewshot_sampler, limit, gen_kwargs, ...).
"""

# EvalConfig field -> the flag that sets it, where that is not simply --field-name
FLAGS = {
    "fewshot_sampler": "--fewshot",
    "include_paths": "--include-path",
    "system_prompt": "--system",
    "use_cache": "--no-cache",
    "track": "--no-track",
}


@app.command("eval", epilog=EXAMPLES)
def eval_command(  # noqa: PLR0913 - the evaluation's options
    ctx: typer.Context,
    tasks: str | None = typer.Option(None, "--tasks", "-t", help="Comma-separated task or group names."),
    config_file: Path | None = typer.Option(
        None, "--config", "-c", help="YAML of eval settings (EvalConfig fields); flags given override it."
    ),
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
    data_dir: str | None = DataDirOption,
    include_path: list[str] | None = TaskIncludeOption,
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
    no_track: bool = NoTrackOption,
    no_cache: bool = NoCacheOption,
    as_json: bool = JsonOption,
) -> None:
    """Evaluate a model on tasks; print a table (or JSON) and write results and samples."""
    from sllm.errors import UsageError
    from sllm.evaluation.records import results_table
    from sllm.evaluation.run import eval_config, run_evaluation

    if tasks is None and config_file is None:  # as a required option says it, when no file can
        raise UsageError(f"Missing option '--tasks' / '-t' (see '{ctx.command_path} --help')")
    values = {
        "tasks": split_names(tasks),
        "model": model,
        "num_fewshot": num_fewshot,
        "fewshot_sampler": fewshot,
        "limit": parse_limit(limit),
        "data_dir": data_dir,
        "include_paths": include_path or [],
        "batch_size": parse_batch_size(batch_size),
        "use_cache": not no_cache,
        "output": output,
        "track": not no_track,
        "chat": chat,
        "mc_mode": mc_mode,
        "system_prompt": system,
        "prompt_style": prompt_style,
        "gen_kwargs": parse_gen_kwargs(gen_kwargs),
        "truncate": truncate,
    }
    if config_file is not None:  # only the flags typed on the command line override the file
        values = {field: value for field, value in values.items() if _typed(ctx, field)}
    config = eval_config(values, config_file, FLAGS)
    summary, folder = run_evaluation(config, progress=True)
    if as_json:
        keep = ("model", "results", "samples", "run_id", "cache")
        print(json.dumps({k: summary[k] for k in keep}, default=str))
        return
    Console().print(results_table(summary))
    run = f"  run: {summary['run_id']}" if summary["run_id"] else ""
    Console(stderr=True).print(f"records: {folder}{run}")


# EvalConfig field -> the command's parameter holding it
_PARAMETERS = {"fewshot_sampler": "fewshot", "include_paths": "include_path", "use_cache": "no_cache",
               "track": "no_track", "system_prompt": "system"}  # fmt: skip


def _typed(ctx: typer.Context, field: str) -> bool:
    """Whether the flag of an EvalConfig field was given on the command line."""
    source = ctx.get_parameter_source(_PARAMETERS.get(field, field))
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


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


def parse_batch_size(text: str | None) -> int | str | None:
    """`--batch-size` as a positive number, or auto."""
    from sllm.errors import UsageError

    if text in (None, "auto"):
        return text
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"--batch-size: expected a positive number or auto, got '{text}'")
    return int(text)


def parse_gen_kwargs(text: str | None) -> dict[str, Any]:
    """`max_new_tokens=64,temperature=0.7` -> typed values; unknown keys are errors."""
    from sllm.evaluation.run import check_gen_kwargs

    return check_gen_kwargs(parse_key_values(split_names(text), "--gen-kwargs"))
