"""`sllm data selfinstruct`: bootstrap instruction data from seed tasks with any generator model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from sllm import smoke
from sllm.cli.data_cmd import NoTrackOption, data_app
from sllm.cli.options import JsonOption, NoCacheOption
from sllm.tables import cell

if TYPE_CHECKING:
    from sllm.data.selfinstruct.pipeline import SelfInstructConfig

EXAMPLES = """
[bold]Examples[/bold]

  sllm data selfinstruct --n 20 --output machine.jsonl
  sllm data selfinstruct --seeds ko --n 200 --generator openai:qwen2.5:7b@http://127.0.0.1:11434/v1
  sllm data selfinstruct --seeds ../shared/data/self_instruct_seed/seed_tasks.jsonl --n 1000 \\
      --generator hf:./my-model --work-dir runs/si-1 --output si.jsonl

The five steps of Self-Instruct (Wang et al., 2023): 8 in-context tasks (6 seed, 2 machine-made
once there are some) -> new instructions -> filters (4-150 words, 3 for Korean; a blacklist of
tasks a text model cannot do; ROUGE-L < 0.7 against the whole pool, Korean tokenized into
morphemes) -> is it a classification task? -> instances (output-first for classification,
input-first otherwise). Each batch is checkpointed in --work-dir: run the same command again to
resume after an interruption; nothing finished is generated again. Rows are Alpaca JSONL with a
`provenance` field (generator, prompt digest, seed, step); every decision is in
WORK_DIR/decisions.jsonl.
"""


@data_app.command("selfinstruct", epilog=EXAMPLES)
def data_selfinstruct(  # noqa: PLR0913 - the pipeline's settings, passed through
    n: int = typer.Option(20, "--n", min=1, help="Stop once this many new instructions are kept."),
    generator: str = typer.Option("default", "--generator", "-g", help="Model spec of the generator."),
    seeds: str = typer.Option("en", "--seeds", help="en | ko (bundled samples) | a seed_tasks.jsonl path."),
    output: Path = typer.Option(Path("selfinstruct.jsonl"), "--output", "-o", help="Alpaca JSONL to write."),
    work_dir: Path | None = typer.Option(None, "--work-dir", help="Checkpoint folder (default: next to -o)."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Generation prompts per batch."),
    rouge_threshold: float = typer.Option(0.7, "--rouge-threshold", help="Reject at or above this ROUGE-L."),
    temperature: float = typer.Option(0.7, "--temperature"),
    top_p: float = typer.Option(0.5, "--top-p"),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="Tokens per instruction-list reply."),
    instance_max_new_tokens: int = typer.Option(256, "--instance-max-new-tokens"),
    max_batches: int | None = typer.Option(
        None, "--max-batches", min=1, help="Stop after this many batches."
    ),
    seed: int = typer.Option(0, "--seed"),
    price_table: Path | None = typer.Option(None, "--price-table", help="YAML of $ per 1M tokens by model."),
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Generate new instructions with instances from seed tasks (Self-Instruct), resumable."""
    from sllm.data.digest import DataFile, dataset_digest, track_data
    from sllm.data.formats import load_examples, write_examples
    from sllm.data.selfinstruct.pipeline import BUNDLED, SelfInstruct, SelfInstructConfig
    from sllm.models.spec import open_model
    from sllm.usage import usage_report

    config = SelfInstructConfig(
        seeds=seeds, n=n, batch_size=batch_size, rouge_threshold=rouge_threshold, temperature=temperature,
        top_p=top_p, max_new_tokens=max_new_tokens, instance_max_new_tokens=instance_max_new_tokens,
        seed=seed, max_batches=smoke.cap(max_batches, smoke.ITEMS),  # SLLM_SMOKE: a few batches
    )  # fmt: skip
    work = work_dir or output.with_name(output.stem + ".work")
    _check(config, generator, output, work, price_table)
    seed_path = BUNDLED.get(seeds, Path(seeds))
    seed_rows, seed_layout = load_examples(seed_path)  # read as the run will read it, before the model
    lm = open_model(generator, use_cache=not no_cache)
    run = SelfInstruct(lm, config, work)
    summary = run.run(progress=not as_json)
    rows = run.examples(lm.spec, lm.fingerprint())
    write_examples(rows, output, "alpaca")
    report = summary | {
        "output": str(output),
        "work_dir": str(work),
        "generator": lm.spec,
        "output_digest": dataset_digest(rows),
    }
    report |= usage_report(lm, price_table)
    files = [
        DataFile("seed_tasks", seed_path, seed_rows, seed_layout),
        DataFile.output(output, rows, "alpaca"),
    ]
    params = config.model_dump() | {"generator": lm.spec, "fingerprint": lm.fingerprint()}
    metrics = {k: float(v) for k, v in summary.items() if isinstance(v, int)}
    metrics |= {f"decisions.{k}": float(v) for k, v in summary["decisions"].items()}
    report["run_id"] = track_data(
        "selfinstruct", files, params, metrics, not no_track, [work / "decisions.jsonl"]
    )
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    _print(report, n)


def _check(
    config: SelfInstructConfig, generator: str, output: Path, work: Path, price_table: Path | None
) -> None:
    """Everything a run can get wrong before its generator loads: decoding values, paths, the
    seed tasks, and a work folder holding a run with other settings."""
    from sllm.cli import preflight
    from sllm.data.selfinstruct.pipeline import check_work_dir, load_seed_tasks
    from sllm.errors import UsageError
    from sllm.generation.config import make_config

    make_config(strategy="sample", temperature=config.temperature, top_p=config.top_p,
                max_new_tokens=config.max_new_tokens)  # fmt: skip
    make_config(max_new_tokens=config.instance_max_new_tokens)
    if not 0 < config.rouge_threshold <= 1:
        raise UsageError(
            f"--rouge-threshold: expected a ROUGE-L F1 above 0 and at most 1, got {config.rouge_threshold:g}"
        )
    preflight.model_spec(generator, "--generator")
    preflight.writable_file(output, "--output")
    preflight.writable_dir(work, "--work-dir")
    preflight.price_table(price_table)
    load_seed_tasks(config.seeds)
    check_work_dir(config, work)


def stop_note(kept: int, n: int) -> str:
    """Why a run kept fewer than --n instructions ("" when it kept enough)."""
    if kept >= n:
        return ""
    if smoke.enabled():  # the smoke switch, not --max-batches, stopped it
        batches = f"{smoke.ITEMS} batch" + ("" if smoke.ITEMS == 1 else "es")
        return f" (SLLM_SMOKE stops the run after {batches}; unset it to run until {n} are kept)"
    return f" (stopped before {n}: raise --max-batches)"


def _print(report: dict, n: int) -> None:
    from sllm.cli.judge import cost_line

    table = Table(title=f"Self-Instruct: {report['candidates']} candidate instructions")
    table.add_column("decision")
    table.add_column("count", justify="right")
    for decision, count in sorted(report["decisions"].items(), key=lambda kv: -kv[1]):
        table.add_row(decision, cell(count))
    console = Console()
    console.print(table)
    status = stop_note(report["kept_instructions"], n)
    console.print(
        f"kept {report['kept_instructions']} instructions{status}, {report['rows']} rows "
        f"-> {report['output']} (decisions in {report['work_dir']}/decisions.jsonl)"
    )
    console.print(cost_line(report))
