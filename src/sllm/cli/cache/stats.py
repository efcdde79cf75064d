"""`sllm cache stats`: cached entries per model fingerprint and request kind."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from rich.console import Console
from rich.table import Table

from sllm.cli.cache import cache_app
from sllm.cli.options import JsonOption
from sllm.tables import cell


@cache_app.command(epilog="[bold]Example[/bold]\n\n  sllm cache stats\n  sllm cache stats --json")
def stats(as_json: bool = JsonOption) -> None:
    """Show cached entries per model fingerprint and request kind."""
    from sllm.models.cache import cache_summary

    summary = cache_summary()
    if as_json:
        print(json.dumps(summary))
        return
    table = Table(title=f"model-call cache: {summary['path']} ({summary['bytes'] / 1e6:.1f} MB)")
    for column in ("model", "kind", "entries", "last used"):
        # a narrow terminal folds the fingerprint instead of cutting it (clear --model takes it whole)
        table.add_column(column, justify="right" if column == "entries" else "left", overflow="fold")
    for row in summary["entries"]:
        last = datetime.fromtimestamp(row["last"], tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
        table.add_row(row["model"], row["kind"], cell(row["entries"]), last)
    Console().print(table)
