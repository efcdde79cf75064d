"""`sllm chat`: an interactive multi-turn conversation with a model."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console

from sllm.cli.app import app
from sllm.cli.options import ModelOption, NoCacheOption, decoding_values
from sllm.errors import warn

EXAMPLES = """
[bold]Examples[/bold]

  sllm chat
  sllm chat --model hf:./out --system "You are a concise assistant."
  sllm chat --temperature 0.7 --top-p 0.9 --seed 3

[bold]In the chat[/bold]  /reset clears the history, /system TEXT sets the system prompt,
/history shows the conversation, /exit (or Ctrl-D) leaves.
"""

HELP_LINE = "commands: /reset  /system TEXT  /history  /exit"


@app.command(epilog=EXAMPLES)
def chat(
    model: str = ModelOption,
    system: str | None = typer.Option(None, "--system", "-s", help="System prompt."),
    preset: str | None = typer.Option(None, "--preset", help="greedy | beam | sample | nucleus | topk"),
    temperature: float | None = typer.Option(None, "--temperature", "-t", help="Sampling temperature."),
    top_k: int | None = typer.Option(None, "--top-k", help="Top-k (0 = off)."),
    top_p: float | None = typer.Option(None, "--top-p", help="Nucleus mass in (0, 1]."),
    repetition_penalty: float | None = typer.Option(None, "--repetition-penalty", help="1.0 = off."),
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", "-n", help="Per reply."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for sampling."),
    truncate: str | None = typer.Option(
        None,
        "--truncate",
        help="left | right: cut a conversation longer than the context window from this side. "
        "Default: that turn fails with an error and the history is kept (/reset clears it).",
    ),
    no_cache: bool = NoCacheOption,
) -> None:
    """Talk to a model turn by turn; the whole history is sent each turn."""
    from sllm.models.context import ContextOverflowError, parse_side
    from sllm.models.spec import open_model

    config = decoding_values(
        preset, None, temperature, top_k, top_p, None, repetition_penalty, max_new_tokens, None, seed
    ).model_copy(update={"truncate": parse_side(truncate)})
    console = Console()
    lm = open_model(model, use_cache=not no_cache)
    session = ChatSession(system)
    Console(stderr=True).print(f"[dim]chatting with {lm.spec} — {HELP_LINE}[/dim]")
    # The prompt marker is for people; piped input gets only the replies on stdout.
    marker = "you> " if sys.stdin.isatty() else ""
    try:
        while True:
            try:
                line = input(marker)
            except EOFError:
                break
            try:
                reply = session.handle(line, lambda messages: _reply(lm, messages, config))
            except ContextOverflowError as exc:  # the turn fails; the conversation goes on
                Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
                continue
            if reply is None:
                break
            console.print(reply, markup=False, highlight=False)
    finally:
        lm.close()


def _reply(lm: Any, messages: list[dict[str, str]], config: Any) -> str:
    """The model's next turn; a notice on stderr when the conversation had to be cut."""
    from sllm.models.base import GenerationRequest
    from sllm.models.context import check_request

    request = GenerationRequest.chat(messages, config)
    cut = check_request(lm, request)  # an over-long conversation fails before any generation
    if cut is not None:
        warn(f"the conversation was cut from the {cut.side}: {cut.from_tokens:,} -> {cut.to_tokens:,} tokens")
    return lm.generate([request])[0].text


class ChatSession:
    """History and slash commands of one conversation, independent of any terminal."""

    def __init__(self, system: str | None = None) -> None:
        self.system = system
        self.turns: list[dict[str, str]] = []

    def messages(self) -> list[dict[str, str]]:
        """Return the conversation as chat messages, system prompt first."""
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + self.turns

    def handle(self, line: str, reply_fn) -> str | None:
        """Process one input line; return what to print, or None to leave."""
        text = line.strip()
        if text in ("/exit", "/quit"):
            return None
        if text == "/reset":
            self.turns.clear()
            return "[history cleared]"
        if text.startswith("/system"):
            self.system = text.removeprefix("/system").strip() or None
            self.turns.clear()
            return f"[system prompt set: {self.system or '(none)'}; history cleared]"
        if text == "/history":
            return "\n".join(f"{m['role']}: {m['content']}" for m in self.messages()) or "[empty]"
        if not text:
            return ""
        self.turns.append({"role": "user", "content": text})
        try:
            answer = reply_fn(self.messages())
        except Exception:
            self.turns.pop()  # a failed turn leaves the history as it was
            raise
        self.turns.append({"role": "assistant", "content": answer})
        return answer
