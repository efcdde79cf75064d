"""`sllm cache`: inspect or clear the model-call cache."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption
from sllm.tables import cell

cache_app = typer.Typer(
    help="Inspect or clear the model-call cache (SLLM_CACHE, default SLLM_HOME/cache.sqlite).",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


@cache_app.command(epilog="[bold]Example[/bold]\n\n  sllm cache stats\n  sllm cache stats --json")
def stats(as_json: bool = JsonOption) -> None:
    """Show cached entries per model fingerprint and request kind."""
    from sllm.models.cache import CallCache
    from sllm.paths import default_cache_path

    path = default_cache_path()
    cache = CallCache(path)
    rows = cache.stats()
    cache.close()
    size = path.stat().st_size if path.exists() else 0
    if as_json:
        print(json.dumps({"path": str(path), "bytes": size, "entries": rows}))
        return
    table = Table(title=f"model-call cache: {path} ({size / 1e6:.1f} MB)")
    for column in ("model", "kind", "entries", "last used"):
        # a narrow terminal folds the fingerprint instead of cutting it (clear --model takes it whole)
        table.add_column(column, justify="right" if column == "entries" else "left", overflow="fold")
    for row in rows:
        last = datetime.fromtimestamp(row["last"], tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
        table.add_row(row["model"], row["kind"], cell(row["entries"]), last)
    Console().print(table)


@cache_app.command(
    epilog="[bold]Examples[/bold]\n\n  sllm cache clear --yes\n  sllm cache clear --model 'hf|dfcb…' --yes"
)
def clear(
    model: str | None = typer.Option(
        None, "--model", help="Only this model: its fingerprint, or the start of it, as cache stats shows it."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete cached model calls (all, or one model's)."""
    from sllm.models.cache import CallCache
    from sllm.paths import default_cache_path

    path = default_cache_path()
    cache = CallCache(path)
    try:
        # the name is checked (and completed) before asking, so the question names what goes
        target = None if model is None else _resolved(cache, model)
        what = "all cached calls" if target is None else f"the cached calls of {target}"
        if not yes and not typer.confirm(f"Delete {what} in {path}?"):
            raise typer.Exit(1)
        removed = cache.clear(target)
    finally:
        cache.close()
    print(f"removed {removed} cached calls from {path}")


def _resolved(cache, model: str) -> str:  # noqa: ANN001
    from sllm.errors import UsageError

    try:
        return cache.resolve_model(model)
    except UsageError as exc:
        raise UsageError(f"--model: {exc}") from None
