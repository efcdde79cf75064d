"""`sllm monitor report`: drift of logged prompts against a profile, overall and window by window."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.monitor import monitor_app
from sllm.cli.options import JsonOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm monitor report --profile profile.json --log requests.jsonl
  sllm monitor report --profile profile.json --log requests.jsonl --window 100 --html drift.html
  sllm monitor report --profile profile.json --log requests.jsonl --json

Measures (0 = like the reference): psi_length / psi_words / psi_hangul (PSI: under 0.1 stable,
over 0.25 a major shift), language_shift (0-1), embedding_distance (cosine, 0-2),
embedding_outliers (about 0.05 when nothing changed), ngram_distance. The log's prompts are taken
in order: the table shows all of them, then each run of --window prompts. The HTML page is
self-contained (plotly inlined) and opens offline.
"""
SHOWN = 20  # windows in the terminal table (the HTML and --json have all)


@monitor_app.command("report", epilog=EXAMPLES)
def monitor_report(
    profile: Path = typer.Option(..., "--profile", "-p", help="Profile JSON from sllm monitor profile."),
    log: Path = typer.Option(..., "--log", "-l", help="Request log (or any prompt file) to measure."),
    window: int = typer.Option(200, "--window", "-w", min=1, help="Prompts per window."),
    field: str | None = typer.Option(None, "--field", help="Field holding the prompt (default: prompt)."),
    html: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML report."),
    as_json: bool = JsonOption,
) -> None:
    """Drift of the log's prompts from the profile: every measure, overall and per window."""
    from sllm.progress import stderr_console
    from sllm.serve.drift import load_profile
    from sllm.serve.drift_report import drift_report, write_html
    from sllm.serve.prompt_files import read_prompts

    reference = load_profile(profile)
    rows = read_prompts(log, field)
    with stderr_console.status(f"measuring {len(rows)} prompts", spinner="dots"):
        report = drift_report(reference, rows, window)
    report |= {"profile": str(profile), "log": str(log), "html": str(html) if html else None}
    if html:
        write_html(report, html, title=f"drift of {log.name} against {profile.name}")
    if as_json:
        print(json.dumps(report, default=str))
        return
    _print_table(report)
    if html:
        Console(stderr=True).print(f"report: {html}", highlight=False)


def _print_table(report: dict) -> None:
    from sllm.serve.drift import MEASURES
    from sllm.serve.drift_report import PSI_MAJOR, PSI_STABLE
    from sllm.tables import cell

    names = [m for m in MEASURES if m != "prompts"]
    table = Table(title=f"drift of {report['log']} against {report['profile']} ({report['embedding_space']})")
    table.add_column("prompts")
    for name in names:
        table.add_column(name.replace("_", " "), justify="right")

    def row(label: str, measures: dict) -> list[str]:
        out = [label]
        for name in names:
            text = cell(measures[name], ".3f")
            if name.startswith("psi_") and measures[name] > PSI_MAJOR:
                text = f"[red]{text}[/red]"
            elif name.startswith("psi_") and measures[name] > PSI_STABLE:
                text = f"[yellow]{text}[/yellow]"
            out.append(text)
        return out

    table.add_row(*row(f"all {report['prompts']}", report["overall"]), end_section=True)
    windows = report["windows"]
    if len(windows) > 1:
        for w in windows[-SHOWN:]:
            table.add_row(*row(f"{w['first']}-{w['last']}", w["measures"]))
    Console().print(table)
    if len(windows) > SHOWN:
        Console(stderr=True).print(f"(the last {SHOWN} of {len(windows)} windows; --html or --json for all)")
