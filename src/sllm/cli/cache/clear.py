"""`sllm cache clear`: delete cached model calls, all or one model's, after asking."""

from __future__ import annotations

import typer

from sllm.cli.cache import cache_app


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
