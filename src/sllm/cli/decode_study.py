"""`sllm decode-study`: the same prompts under every decoding strategy, measured side by side."""

from __future__ import annotations

import json

import typer

from sllm.cli.app import app
from sllm.cli.options import JsonOption, ModelOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm decode-study --prompts prompts.txt --max-new-tokens 48
  sllm decode-study --model ov:default --prompts xsum.jsonl --field document --prompt-words 40 --limit 30
  sllm decode-study --prompts prompts.txt --strategies greedy,nucleus_0.95 --out study.json --json
"""


@app.command("decode-study", epilog=EXAMPLES)
def decode_study(  # noqa: PLR0913 - the study's settings
    prompts: str = typer.Option(..., "--prompts", help="Prompts: .txt (one per line), JSONL, JSON, CSV."),
    model: str = ModelOption,
    field: str | None = typer.Option(
        None, "--field", help="The prompt field (default: prompt, question, ...)."
    ),
    prompt_words: int = typer.Option(
        0, "--prompt-words", min=0, help="Keep each prompt's first N words (0 = all)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Use the first N prompts."),
    strategies: str = typer.Option("all", "--strategies", help="Comma-separated names, or all."),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", "-n", min=1, help="Tokens per output."),
    seed: int = typer.Option(0, "--seed", help="One seed for all the sampling of the study."),
    out: str | None = typer.Option(None, "--out", help="Write the study (measures and outputs) as JSON."),
    as_json: bool = JsonOption,
) -> None:
    """Generate from the same prompts with greedy, beam, pure sampling, top-k, nucleus and several
    temperatures; measure each: perplexity under the model, repetition %, self-BLEU, distinct-n
    and length (Holtzman et al., 2020)."""
    from pathlib import Path

    from sllm.errors import UsageError, unknown_name
    from sllm.evaluation.decode_study import STRATEGIES, prompt_head, run_study
    from sllm.models.spec import open_model
    from sllm.serve.prompt_files import read_prompts

    names = (
        list(STRATEGIES) if strategies == "all" else [s.strip() for s in strategies.split(",") if s.strip()]
    )
    for name in names:
        if name not in STRATEGIES:
            raise unknown_name("decoding strategy", name, STRATEGIES)
    texts = [row.text for row in read_prompts(prompts, field)][:limit]
    if prompt_words:
        texts = [prompt_head(t, prompt_words) for t in texts]
    if len(texts) < 2:
        raise UsageError(f"{prompts}: a study needs at least 2 prompts (self-BLEU compares outputs)")
    lm = open_model(model, use_cache=False)  # sampling is the point: nothing from the cache
    try:
        rows = run_study(lm, texts, names, max_new_tokens, seed, progress=True)
    finally:
        lm.close()
    study = {"model": lm.spec, "prompts": prompts, "n_prompts": len(texts), "max_new_tokens": max_new_tokens,
             "seed": seed, "strategies": rows}  # fmt: skip
    if out:
        Path(out).write_text(json.dumps(study, ensure_ascii=False, indent=1), encoding="utf-8")
    if as_json:
        print(json.dumps(study | {"strategies": [_measures(r) for r in rows]}))
        return
    _print_table(rows)


def _measures(row: dict) -> dict:
    """A row without its outputs (for the terminal)."""
    return {k: v for k, v in row.items() if k not in ("samples", "settings")}


def _print_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="decoding study (ppl: under the model; rep %: seq-rep-4 x 100)")
    for column in ("strategy", "ppl", "rep %", "self-BLEU", "dist-1", "dist-2", "tokens", "at limit"):
        table.add_column(column, justify="left" if column == "strategy" else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            r["strategy"], f"{r['perplexity']:.2f}", f"{r['repetition_pct']:.1f}", f"{r['self_bleu']:.1f}",
            f"{r['distinct_1']:.3f}", f"{r['distinct_2']:.3f}", f"{r['mean_tokens']:.1f}",
            f"{r['hit_limit']:.0%}",
        )  # fmt: skip
    Console().print(table)
