"""`sllm chat`: an interactive multi-turn conversation with a model."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from sllm.cli.app import app
from sllm.cli.options import (
    ModelOption,
    NoCacheOption,
    PresetOption,
    RepetitionPenaltyOption,
    SeedOption,
    SystemOption,
    TemperatureOption,
    TopKOption,
    TopPOption,
)

EXAMPLES = """
[bold]Examples[/bold]

  sllm chat
  sllm chat --model hf:./out --system "You are a concise assistant."
  sllm chat --temperature 0.7 --top-p 0.9 --seed 3

[bold]In the chat[/bold]  /reset clears the history, /system TEXT sets the system prompt,
/history shows the conversation, /exit (or Ctrl-D) leaves.
"""


@app.command(epilog=EXAMPLES)
def chat(  # noqa: PLR0913 - the decoding options
    model: str = ModelOption,
    system: str | None = SystemOption,
    preset: str | None = PresetOption,
    temperature: float | None = TemperatureOption,
    top_k: int | None = TopKOption,
    top_p: float | None = TopPOption,
    repetition_penalty: float | None = RepetitionPenaltyOption,
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", "-n", help="Per reply."),
    seed: int | None = SeedOption,
    truncate: str | None = typer.Option(
        None,
        "--truncate",
        help="left | right: cut a conversation longer than the context window from this side. "
        "Default: that turn fails with an error and the history is kept (/reset clears it).",
    ),
    no_cache: bool = NoCacheOption,
) -> None:
    """Talk to a model turn by turn; the whole history is sent each turn."""
    from sllm.generation.config import config_from_flags
    from sllm.models.chat import HELP_LINE, ChatSession, reply
    from sllm.models.context import ContextOverflowError, parse_side
    from sllm.models.spec import open_model

    config = config_from_flags(
        preset, None, temperature=temperature, top_k=top_k, top_p=top_p,
        repetition_penalty=repetition_penalty, max_new_tokens=max_new_tokens, seed=seed,
    ).model_copy(update={"truncate": parse_side(truncate)})  # fmt: skip
    console, err = Console(), Console(stderr=True)
    lm = open_model(model, use_cache=not no_cache)
    session = ChatSession(system)
    err.print(f"[dim]chatting with {lm.spec} — {HELP_LINE}[/dim]")
    # The prompt marker is for people; piped input gets only the replies on stdout.
    marker = "you> " if sys.stdin.isatty() else ""
    try:
        while True:
            try:
                line = input(marker)
            except EOFError:
                break
            try:
                answer = session.handle(line, lambda messages: reply(lm, messages, config))
            except ContextOverflowError as exc:  # the turn fails; the conversation goes on
                err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
                continue
            if answer is None:
                break
            console.print(answer, markup=False, highlight=False)
    finally:
        lm.close()
