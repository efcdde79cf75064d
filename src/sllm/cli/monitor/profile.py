"""`sllm monitor profile`: the reference profile that `sllm serve --drift-profile` measures against."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.monitor import monitor_app
from sllm.cli.options import JsonOption
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm monitor profile train.jsonl --out profile.json          # the fine-tuning data's user turns
  sllm monitor profile requests.jsonl --out profile.json       # last month's request log
  sllm monitor profile prompts.csv --field question --out profile.json --encoder ./multilingual-minilm
  sllm monitor profile train.jsonl --out profile.json --encoder none --json   # character n-grams only

DATA: JSONL, a JSON list, CSV/TSV, Parquet or .txt (one prompt per line). Without --field the
prompt is the `prompt` field, else `question`, else the user turn(s) of an Alpaca / chat-messages /
ShareGPT row. The embedding space is the bundled English MiniLM unless it is missing or the data
are mostly Hangul: then character 2-4-grams (a multilingual --encoder FOLDER is used as given).
Then: sllm serve --drift-profile profile.json, and watch sllm_drift on /metrics.
"""


@monitor_app.command("profile", epilog=EXAMPLES)
def monitor_profile(
    data: Path = typer.Argument(..., help="Reference prompts: instruction data, a request log or a .txt."),
    out: Path = typer.Option(..., "--out", "-o", help="Profile JSON to write."),
    field: str | None = typer.Option(None, "--field", help="Field holding the prompt (default: see below)."),
    encoder: str | None = typer.Option(
        None, "--encoder", help="Local sentence-transformers folder, or 'none' (default: bundled MiniLM)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Profile reference prompts: length, Hangul and language mix, embedding centroid and spread."""
    from sllm.progress import stderr_console
    from sllm.serve.drift import build_profile, save_profile
    from sllm.serve.prompt_files import read_prompts

    rows = read_prompts(data, field)
    with stderr_console.status(f"profiling {len(rows)} prompts", spinner="dots"):
        profile = build_profile([r.text for r in rows], encoder=encoder)
    profile["source"] = str(data)
    save_profile(profile, out)
    embedding = profile["embedding"]
    lengths = profile["lengths"]
    summary = {
        "out": str(out), "prompts": profile["prompts"], "embedding_space": embedding["space"],
        "encoder": embedding["encoder"], "why": embedding["why"], "language": profile["language"],
        "median_chars": lengths["chars"]["median"], "median_words": lengths["words"]["median"],
    }  # fmt: skip
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
        return
    table = Table(title=f"drift profile of {data}")
    table.add_column("measure")
    table.add_column("value")
    for key, value in summary.items():
        if key != "out":
            table.add_row(key, cell(value, ".3g"))
    Console().print(table)
    Console(stderr=True).print(f"profile: {out}", highlight=False)
