"""`sllm tasks show`: one task's spec and the prompt of its first document."""

from __future__ import annotations

import typer
from rich.console import Console

from sllm.cli.options import DataDirOption, TaskIncludeOption
from sllm.cli.tasks import tasks_app


@tasks_app.command(
    "show",
    epilog="[bold]Examples[/bold]\n\n  sllm tasks show hellaswag\n"
    "  sllm tasks show mmlu_anatomy --num-fewshot 5 --data-dir ../shared/data",
)
def show_task(
    name: str = typer.Argument(..., help="Task name."),
    num_fewshot: int | None = typer.Option(None, "--num-fewshot", "-k"),
    data_dir: str | None = DataDirOption,
    include_path: list[str] | None = TaskIncludeOption,
) -> None:
    """Show a task's spec and the prompt of its first document."""
    from sllm.evaluation.run import preview_task
    from sllm.tasks.registry import get_registry

    spec = get_registry(include_path or []).resolve([name])[0]
    console = Console()
    console.print_json(spec.model_dump_json(exclude={"variables"}))  # shown even when its data are not
    source, k, instance = preview_task(spec, num_fewshot, data_dir)
    console.rule(f"first prompt ({source}, {k}-shot)")
    console.print(instance.prompt, markup=False, highlight=False)
    if spec.output_type != "multiple_choice":
        console.rule("target")
        console.print(repr(instance.gold), markup=False, highlight=False)
        return
    console.rule("continuations")
    for i, request in enumerate(instance.requests):
        mark = "  <- gold" if i == instance.gold else ""
        console.print(repr(request.continuation) + mark, markup=False, highlight=False)
