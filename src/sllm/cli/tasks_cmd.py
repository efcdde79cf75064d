"""`sllm tasks`: list the registered tasks and groups, or show one task's spec and a prompt."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption

tasks_app = typer.Typer(help="List tasks and groups, or show one task.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
IncludeOption = typer.Option(None, "--include-path", help="Extra folder of task YAML files.")


@tasks_app.command("list", epilog="[bold]Examples[/bold]\n\n  sllm tasks list\n  sllm tasks list --json")
def list_tasks(include_path: list[str] | None = IncludeOption, as_json: bool = JsonOption) -> None:
    """List tasks (name, output type, metrics, groups) and groups."""
    from sllm.tasks.registry import get_registry

    registry = get_registry(include_path or [])
    if as_json:
        print(json.dumps({"tasks": registry.names(), "groups": registry.groups}))
        return
    table = Table(title=f"{len(registry.tasks)} tasks, {len(registry.groups)} groups")
    table.add_column("task", no_wrap=True)
    for column in ("output type", "metrics", "groups"):
        table.add_column(column, overflow="fold")
    for name in registry.names():
        spec = registry.tasks[name]
        table.add_row(name, spec.output_type, ", ".join(spec.metric_names()), ", ".join(spec.group))
    Console().print(table)


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
