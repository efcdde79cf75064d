"""`sllm data selfinstruct`: bootstrap instruction data from seed tasks with any generator model."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from sllm import smoke
from sllm.cli.data import data_app
from sllm.cli.options import JsonOption, NoCacheOption, NoTrackOption, PriceTableOption
from sllm.tables import counts_table

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
    price_table: Path | None = PriceTableOption,
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Generate new instructions with instances from seed tasks (Self-Instruct), resumable."""
    from sllm.data.selfinstruct.pipeline import SelfInstructConfig, run_selfinstruct

    config = SelfInstructConfig(
        seeds=seeds, n=n, batch_size=batch_size, rouge_threshold=rouge_threshold, temperature=temperature,
        top_p=top_p, max_new_tokens=max_new_tokens, instance_max_new_tokens=instance_max_new_tokens,
        seed=seed, max_batches=smoke.cap(max_batches, smoke.ITEMS),  # SLLM_SMOKE: a few batches
    )  # fmt: skip
    report = run_selfinstruct(
        config, generator, output, work_dir, not no_cache, not no_track, price_table, progress=not as_json
    )
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    _print(report, n)


def stop_note(kept: int, n: int) -> str:
    """Why a run kept fewer than --n instructions ("" when it kept enough)."""
    if kept >= n:
        return ""
    if smoke.enabled():  # the smoke switch, not --max-batches, stopped it
        batches = f"{smoke.ITEMS} batch" + ("" if smoke.ITEMS == 1 else "es")
        return f" (SLLM_SMOKE stops the run after {batches}; unset it to run until {n} are kept)"
    return f" (stopped before {n}: raise --max-batches)"


def _print(report: dict, n: int) -> None:
    from sllm.usage import cost_line

    title = f"Self-Instruct: {report['candidates']} candidate instructions"
    console = Console()
    console.print(counts_table(title, "decision", "count", report["decisions"]))
    status = stop_note(report["kept_instructions"], n)
    console.print(
        f"kept {report['kept_instructions']} instructions{status}, {report['rows']} rows "
        f"-> {report['output']} (decisions in {report['work_dir']}/decisions.jsonl)"
    )
    console.print(cost_line(report))
