"""`sllm tasks list`: the registered tasks (output type, offline data, metrics, groups) and groups."""

from __future__ import annotations

import json
from collections import Counter

from rich import box
from rich.console import Console
from rich.table import Table

from sllm.cli.options import DataDirOption, JsonOption, TaskIncludeOption
from sllm.cli.tasks import tasks_app

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
    include_path: list[str] | None = TaskIncludeOption,
    data_dir: str | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """List tasks (name, output type, where their data come from offline, metrics, groups) and groups."""
    from sllm.tasks.registry import task_catalog

    catalog = task_catalog(include_path or [], data_dir)
    if as_json:
        print(json.dumps(catalog))
        return
    console = Console()
    console.print(_tasks_table(catalog, console.width))


def _tasks_table(catalog: dict, width: int) -> Table:
    """The task table, fitted to `width` columns: names and labels whole, long lists cut with '…'."""
    names, details = catalog["tasks"], catalog["details"]
    counts = Counter(details[n]["data"] for n in names)
    summary = ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
    labels = [(n, _TYPE_LABELS[details[n]["output_type"]], _DATA_LABELS[details[n]["data"]]) for n in names]
    fixed = [max([len(h), *(len(row[i]) for row in labels)]) for i, h in enumerate(("task", "type", "data"))]
    metric_words = [len(m) for n in names for m in details[n]["metrics"]]
    # Two spaces between columns and no outer edge: what is left goes to metrics (and groups).
    room = width - sum(w + 2 for w in fixed)
    metrics_width = max(8, min(max(metric_words, default=8), room))
    with_groups = room - metrics_width - 2 >= _GROUPS_MIN_WIDTH
    table = Table(
        title=f"{len(names)} tasks ({summary}), {len(catalog['groups'])} groups",
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
    for row, name in zip(labels, names):
        groups = [", ".join(details[name]["groups"])] if with_groups else []
        table.add_row(*row, ", ".join(details[name]["metrics"]), *groups)
    return table
