"""`sllm tasks`: list the registered tasks and groups, or show one task's spec and a prompt."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption

if TYPE_CHECKING:
    from sllm.tasks.registry import TaskRegistry

tasks_app = typer.Typer(help="List tasks and groups, or show one task.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
IncludeOption = typer.Option(None, "--include-path", help="Extra folder of task YAML files.")


# Short labels keep the table inside 80 columns; --json gives the full names.
_TYPE_LABELS = {"multiple_choice": "mc", "generate_until": "gen", "loglikelihood_rolling": "ppl"}
_DATA_LABELS = {
    "bundled sample": "sample",
    "network only": "online",
    "user path": "user path",
    "data dir": "data dir",
    "no data": "none",
}
_LEGEND = (
    "type: mc = multiple_choice, gen = generate_until, ppl = loglikelihood_rolling. "
    "data offline: sample = bundled sample (no --data-dir needed), online = network only "
    "(the hub when online, else --data-dir), user path = the task's own folder, "
    "data dir = found in --data-dir / SLLM_DATA_DIR."
)
_GROUPS_MIN_WIDTH = 24  # below this much room for metrics + groups, groups are left out (see --json)


@tasks_app.command(
    "list",
    epilog="[bold]Examples[/bold]\n\n  sllm tasks list\n  sllm tasks list --json\n"
    "  sllm tasks list --data-dir ../shared/data",
)
def list_tasks(
    include_path: list[str] | None = IncludeOption,
    data_dir: str | None = typer.Option(None, "--data-dir", help="Folder laid out like ../shared/data."),
    as_json: bool = JsonOption,
) -> None:
    """List tasks (name, output type, where their data come from offline, metrics, groups) and groups."""
    from sllm.tasks.data import data_availability
    from sllm.tasks.registry import get_registry

    registry = get_registry(include_path or [])
    names = registry.names()
    data = {n: data_availability(registry.tasks[n], data_dir) for n in names}
    if as_json:
        details = {
            n: {
                "output_type": registry.tasks[n].output_type,
                "metrics": registry.tasks[n].metric_names(),
                "groups": registry.tasks[n].group,
                "data": data[n],
            }
            for n in names
        }
        print(json.dumps({"tasks": names, "groups": registry.groups, "details": details}))
        return
    console = Console()
    console.print(_tasks_table(registry, data, console.width))


def _tasks_table(registry: TaskRegistry, data: dict[str, str], width: int) -> Table:
    """The task table, fitted to `width` columns: names and labels whole, long lists cut with '…'."""
    names = registry.names()
    counts = Counter(data.values())
    summary = ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
    specs = [registry.tasks[n] for n in names]
    labels = [(n, _TYPE_LABELS[s.output_type], _DATA_LABELS[data[n]]) for n, s in zip(names, specs)]
    fixed = [max([len(h), *(len(row[i]) for row in labels)]) for i, h in enumerate(("task", "type", "data"))]
    metric_words = [len(m) for s in specs for m in s.metric_names()]
    # Two spaces between columns and no outer edge: what is left goes to metrics (and groups).
    room = width - sum(w + 2 for w in fixed)
    metrics_width = max(8, min(max(metric_words, default=8), room))
    with_groups = room - metrics_width - 2 >= _GROUPS_MIN_WIDTH
    table = Table(
        title=f"{len(names)} tasks ({summary}), {len(registry.groups)} groups",
        caption=_LEGEND + ("" if with_groups else " Groups: a wider terminal, or --json."),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    for header, w in zip(("task", "type", "data"), fixed):
        table.add_column(header, no_wrap=True, min_width=w)
    # Only these may shrink: they wrap between names; a name wider than its column ends in '…'.
    table.add_column("metrics", overflow="ellipsis", min_width=metrics_width)
    if with_groups:
        table.add_column("groups", overflow="ellipsis")
    for row, spec in zip(labels, specs):
        groups = [", ".join(spec.group)] if with_groups else []
        table.add_row(*row, ", ".join(spec.metric_names()), *groups)
    return table


@tasks_app.command(
    "show",
    epilog="[bold]Examples[/bold]\n\n  sllm tasks show hellaswag\n"
    "  sllm tasks show mmlu_anatomy --num-fewshot 5 --data-dir ../shared/data",
)
def show_task(
    name: str = typer.Argument(..., help="Task name."),
    num_fewshot: int | None = typer.Option(None, "--num-fewshot", "-k"),
    data_dir: str | None = typer.Option(None, "--data-dir"),
    include_path: list[str] | None = IncludeOption,
) -> None:
    """Show a task's spec and the prompt of its first document."""
    from sllm.evaluation.pipeline import BUILDERS
    from sllm.tasks.data import load_task_data
    from sllm.tasks.registry import get_registry

    spec = get_registry(include_path or []).resolve([name])[0]
    console = Console()
    console.print_json(spec.model_dump_json(exclude={"variables"}))
    data = load_task_data(spec, data_dir)
    k = spec.fewshot.num_fewshot if num_fewshot is None else num_fewshot
    instance = BUILDERS[spec.output_type](spec, data.docs[:1], data.fewshot_docs, k, None)[0]
    console.rule(f"first prompt ({data.source}, {k}-shot)")
    console.print(instance.prompt, markup=False, highlight=False)
    if spec.output_type != "multiple_choice":
        console.rule("target")
        console.print(repr(instance.gold), markup=False, highlight=False)
        return
    console.rule("continuations")
    for i, request in enumerate(instance.requests):
        mark = "  <- gold" if i == instance.gold else ""
        console.print(repr(request.continuation) + mark, markup=False, highlight=False)


@tasks_app.command(
    "metrics", epilog="[bold]Examples[/bold]\n\n  sllm tasks metrics\n  sllm tasks metrics --json"
)
def list_metrics_command(as_json: bool = JsonOption) -> None:
    """List every metric usable in task YAML and in `sllm score`."""
    from sllm.metrics import list_metrics

    metrics = list_metrics()
    if as_json:
        rows = [
            {
                "name": m.name,
                "family": m.family,
                "tokenizer": m.needs_tokenizer,
                "references": m.needs_references,
            }
            for m in metrics
        ]
        print(json.dumps({"metrics": rows}))
        return
    table = Table(title=f"{len(metrics)} metrics")
    table.add_column("metric", no_wrap=True)
    table.add_column("level")
    table.add_column("tokenizer")
    table.add_column("what it measures", overflow="fold")
    for m in metrics:
        summary = (m.description or "").strip().splitlines()[0] if m.description else ""
        table.add_row(m.name, m.family, "yes" if m.needs_tokenizer else "", summary)
    Console().print(table)
