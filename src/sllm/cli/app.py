"""The Typer app, global options and the error boundary (one clear line, exit 1 or 2)."""

from __future__ import annotations

import os
import sys
import warnings

import typer
from rich.console import Console

from sllm import __version__
from sllm.errors import SllmError, SllmWarning

app = typer.Typer(
    name="sllm",
    help="The small-LLM lifecycle toolkit: generate, evaluate, judge, train, track and serve.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        print(f"sllm {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Encoding of input files (default: detect; UTF-8, UTF-8 BOM, CP949...)."
    ),
) -> None:
    """sllm: one CLI for the whole small-LLM lifecycle. Run `sllm COMMAND --help` for examples."""
    _state["debug"] = debug
    from sllm.tracking.clock import mark_command_start

    mark_command_start()  # the command's MLflow run starts here, so its duration covers the work
    if encoding:
        from sllm.textio import ENV, resolve_encoding

        os.environ[ENV] = encoding
        resolve_encoding(__file__, encoding)  # an unknown name fails now, not at the first file


# Every command, as `sllm.cli.<command path>`: `sllm judge compare` is cli/judge/compare.py, and a
# group is a package whose __init__ makes the group. The order is the order of `sllm --help`.
COMMANDS = (
    "chat", "eval", "generate", "decode_study", "agreement", "correlate", "rate", "score", "export",
    "winrate",
    "judge.single", "judge.pairwise", "judge.list", "judge.geval", "judge.bias", "judge.compare",
    "judge.mtbench", "judge.rag",
    "cache.stats", "cache.clear",
    "data.validate", "data.convert", "data.digest", "data.split", "data.decontaminate", "data.selfinstruct",
    "data.filter.alpagasus", "data.filter.diversity", "data.filter.dedup", "data.filter.safety",
    "runs.list", "runs.show", "runs.compare", "serve", "monitor.profile", "monitor.report", "monitor.sample",
    "tasks.list", "tasks.show", "tasks.metrics",
    "train.sft", "train.dpo", "train.reward", "train.distill",
)  # fmt: skip


def _register_commands() -> None:
    # Imported for their side effect of adding commands to `app`; each module is small and
    # imports heavy libraries (torch, mlflow) only inside its command functions.
    from importlib import import_module

    for name in COMMANDS:
        import_module(f"sllm.cli.{name}")


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202
    """sllm's own warnings as one plain line; other libraries' warnings as Python prints them."""
    if issubclass(category, SllmWarning):
        err.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


_python_showwarning = warnings.showwarning


def main() -> None:
    """Console-script entry point: run the app, turning SllmError into one line and an exit code."""
    _register_commands()
    warnings.showwarning = _show_warning
    try:
        # Not standalone: Typer's own usage errors come back to be shown as our one line, not a box
        code = app(standalone_mode=False)
    except SllmError as exc:
        if _state["debug"] or "--debug" in sys.argv:
            raise
        from sllm.redact import redact_text  # a message may quote a spec or URL with its key

        _error_line(redact_text(str(exc)))
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # unknown option, invalid value, missing option or argument
        sys.exit(_usage_error(exc))
    except typer.Abort:  # a confirmation prompt closed (Ctrl-D)
        err.print("aborted")
        sys.exit(1)
    except KeyboardInterrupt:
        code = 130
    if code == 130:  # Typer turns Ctrl-C into exit code 130
        err.print(
            "[yellow]interrupted[/yellow]: finished model calls are kept in the cache; "
            "run the same command again to resume from them"
        )
    sys.exit(code if isinstance(code, int) else 0)


def _error_line(message: str) -> None:
    """`error: MESSAGE` on stderr, the message printed as is (never read as rich markup)."""
    from rich.markup import escape

    err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)


def _usage_error(exc: typer.TyperException) -> int:
    """Show a Typer usage error as one line, like every other error; return its exit code."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # the help was already printed
        return exc.exit_code
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    _error_line(exc.format_message().rstrip(".") + hint)
    return exc.exit_code
