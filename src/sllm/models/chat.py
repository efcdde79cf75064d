"""Talking to a model: one prompt in and one completion out (`sllm generate`), or a conversation
turn by turn with slash commands (`sllm chat`), independent of any terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sllm.errors import warn
from sllm.generation.config import GenerationConfig
from sllm.models.base import LM, GenerationRequest

HELP_LINE = "commands: /reset  /system TEXT  /history  /exit"


def complete(  # noqa: PLR0913 - the request's parts
    model: str,
    prompt: str,
    config: GenerationConfig,
    system: str | None = None,
    raw: bool = False,
    use_cache: bool = True,
) -> dict[str, Any]:
    """Generate one completion: {model, text, tokens, finish_reason} (+ truncated when the prompt
    was cut). Through the chat template unless `raw` or the model has none; an over-long prompt
    fails before any generation unless the config says which side to cut."""
    from sllm.models.context import check_request
    from sllm.models.spec import open_model

    lm = open_model(model, use_cache=use_cache)
    try:
        if raw or not has_chat_template(lm):
            request = GenerationRequest(
                prompt=prompt if system is None else f"{system}\n\n{prompt}", config=config
            )
        else:
            head = [{"role": "system", "content": system}] if system else []
            request = GenerationRequest.chat([*head, {"role": "user", "content": prompt}], config)
        cut = check_request(lm, request)  # an over-long prompt fails here, before any generation
        result = lm.generate([request])[0]
    finally:
        lm.close()
    payload: dict[str, Any] = {
        "model": lm.spec,  # redacted: never the spec's key
        "text": result.text,
        "tokens": result.n_tokens,
        "finish_reason": result.finish_reason,
    }
    if cut is not None:
        warn(f"the prompt was cut from the {cut.side}: {cut.from_tokens:,} -> {cut.to_tokens:,} tokens")
        payload["truncated"] = cut.record()
    return payload


def has_chat_template(lm: object) -> bool:
    """Servers apply their own template; local models need one in their tokenizer."""
    tokenizer = getattr(lm, "tokenizer", None)
    if tokenizer is None:
        return True
    return bool(getattr(tokenizer, "chat_template", None))


def reply(lm: LM, messages: list[dict[str, str]], config: GenerationConfig) -> str:
    """The model's next turn; a warning when the conversation had to be cut."""
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

    def handle(self, line: str, reply_fn: Callable[[list[dict[str, str]]], str]) -> str | None:
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
