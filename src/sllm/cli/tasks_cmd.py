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
    for column in ("task", "output type", "metrics", "groups"):
        table.add_column(column)
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
    from sllm.evaluation.instances import build_instances
    from sllm.tasks.data import load_task_data
    from sllm.tasks.registry import get_registry

    spec = get_registry(include_path or []).resolve([name])[0]
    console = Console()
    console.print_json(spec.model_dump_json(exclude={"variables"}))
    data = load_task_data(spec, data_dir)
    k = spec.fewshot.num_fewshot if num_fewshot is None else num_fewshot
    instance = build_instances(spec, data.docs[:1], data.fewshot_docs, k)[0]
    console.rule(f"first prompt ({data.source}, {k}-shot)")
    console.print(instance.prompt, markup=False, highlight=False)
    console.rule("continuations")
    for i, request in enumerate(instance.requests):
        mark = "  <- gold" if i == instance.gold else ""
        console.print(repr(request.continuation) + mark, markup=False, highlight=False)
