"""results.md: an evaluation's numbers as markdown tables, laid out like lm-evaluation-harness's
`make_table` (one row per task, filter and metric), ready to paste into a model card or a PR."""

from __future__ import annotations

from typing import Any

from sllm.tables import EMPTY, cell, markdown_table

COLUMNS = ("Version", "Filter", "n-shot", "Metric", "Value", "± Stderr")
RIGHT = (False, True, False, True, False, True, True)
VALUE_FORMAT = ".4f"


def metric_rows(name: str, version: Any, shots: Any, metrics: dict[str, Any]) -> list[list[str]]:
    """One row per metric of a task or group; `metric,filter` keys split into their two columns."""
    rows = []
    for key, value in metrics.items():
        if key.endswith("_stderr") or not _is_metric(key, value):
            continue
        metric, _, filter_name = key.partition(",")
        stderr = metrics.get(f"{key}_stderr")
        rows.append(
            [
                name if not rows else "",  # name and version on a task's first row only, as lm-eval
                cell(version) if not rows else "",
                filter_name or "none",
                cell(shots),
                metric,
                cell(value, VALUE_FORMAT),
                cell(stderr, VALUE_FORMAT),
            ]
        )
    return rows


def results_markdown(summary: dict[str, Any]) -> str:
    """The markdown of results.md: a title, the run's settings, a Tasks table, a Groups table."""
    groups = summary.get("groups", {})
    results = summary["results"]
    config = summary.get("config", {})
    settings = ", ".join(
        f"{key}: {cell(config.get(key))}"
        for key in ("limit", "num_fewshot", "batch_size", "mc_mode", "prompt_style", "chat")
        if key in config
    )
    parts = [f"# sllm eval: {summary['model']}\n", f"{settings}\n" if settings else ""]
    tasks = [
        row
        for task, metrics in results.items()
        if task not in groups
        for row in metric_rows(task, metrics.get("version"), metrics.get("num_fewshot"), metrics)
    ]
    parts.append(markdown_table(("Tasks", *COLUMNS), tasks, RIGHT))
    grouped = [
        row
        for group, members in groups.items()
        for row in metric_rows(group, None, _shared_shots(results, members), results[group])
    ]
    if grouped:
        parts.append(markdown_table(("Groups", *COLUMNS), grouped, RIGHT))
    return "\n".join(p for p in parts if p)


def _is_metric(key: str, value: Any) -> bool:
    """A metric value: a number (None where JSON holds a NaN), not a count like `n` or `truncated`."""
    if isinstance(value, float):
        return True
    return value is None and key not in ("data_source", "version", "num_fewshot")


def _shared_shots(results: dict[str, Any], members: list[str]) -> Any:
    """A group's n-shot: its members' when they all agree (else none to show)."""
    shots = {results[m].get("num_fewshot") for m in members if m in results}
    return shots.pop() if len(shots) == 1 else EMPTY
