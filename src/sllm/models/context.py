"""Fit requests into a model's context window: over-long input is an error unless truncation is asked for.

lm-evaluation-harness cuts over-long prompts from the left without a word; a score computed on
half a prompt then looks like any other. Here a prompt (with its `max_new_tokens`) or a
context + continuation that does not fit is a one-line error naming both lengths, unless the
caller chose a side to cut (`--truncate left|right`), and every cut is reported.

Generation: the prompt and `max_new_tokens` together must fit the window (the model could
otherwise run out of positions mid-answer); a truncated prompt keeps `window - max_new_tokens`
tokens. Log-likelihood: the model reads context + continuation minus its last token; only the
context can be cut, always from the left (cutting the right would remove the very text the
continuation follows). Rolling log-likelihood windows long texts by design and never truncates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sllm.errors import SllmError, UsageError

Side = Literal["left", "right"]
SIDES: tuple[Side, ...] = ("left", "right")
HINT = "shorten it, lower max_new_tokens or pass --truncate left|right"


class ContextOverflowError(SllmError):
    """A request that does not fit the model's context window and may not be truncated."""


@dataclass(frozen=True)
class Truncation:
    """A cut prompt (or log-likelihood context): which side, and its token count before and after."""

    side: Side
    from_tokens: int
    to_tokens: int

    def record(self) -> dict[str, Any]:
        """The JSON form written to samples.jsonl."""
        return {"side": self.side, "from_tokens": self.from_tokens, "to_tokens": self.to_tokens}


def window_text(window: int, source: str) -> str:
    """'the context window of 8,192 tokens (max_position_embeddings of the model config)'."""
    text = f"the context window of {window:,} tokens"
    return f"{text} ({source})" if source else text


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def prompt_room(max_new_tokens: int, window: int, where: str = "", source: str = "") -> int:
    """Tokens a prompt may have so that `max_new_tokens` still fit in the window."""
    room = window - max_new_tokens
    if room < 1:
        raise ContextOverflowError(
            f"{_at(where)}max_new_tokens ({max_new_tokens:,}) leaves no room for a prompt in "
            f"{window_text(window, source)}; lower max_new_tokens"
        )
    return room


def prompt_overflow(
    n_tokens: int, max_new_tokens: int, window: int, where: str = "", source: str = ""
) -> ContextOverflowError:
    """The error for a prompt that does not fit with its new tokens."""
    return ContextOverflowError(
        f"{_at(where)}the prompt is {n_tokens:,} tokens; with max_new_tokens {max_new_tokens:,} it "
        f"exceeds {window_text(window, source)}; {HINT}"
    )


def fit_prompt(
    ids: list[int], max_new_tokens: int, window: int, side: Side | None, where: str = "", source: str = ""
) -> tuple[list[int], Truncation | None]:
    """The prompt's token ids as the model will read them, and the cut made (None if it fits)."""
    room = prompt_room(max_new_tokens, window, where, source)
    if len(ids) <= room:
        return ids, None
    if side is None:
        raise prompt_overflow(len(ids), max_new_tokens, window, where, source)
    kept = ids[-room:] if side == "left" else ids[:room]
    return kept, Truncation(side, len(ids), room)


def pair_excess(n_context: int, n_continuation: int, window: int) -> int:
    """Tokens over the window for a log-likelihood request (its last token is only predicted)."""
    return n_context + n_continuation - 1 - window


def fit_pair(
    context: list[int],
    continuation: list[int],
    window: int,
    truncate: bool,
    where: str = "",
    source: str = "",
) -> tuple[list[int], Truncation | None]:
    """The context's token ids as the model will read them, and the cut made (None if it fits)."""
    excess = pair_excess(len(context), len(continuation), window)
    if excess <= 0:
        return context, None
    if len(continuation) > window:
        raise ContextOverflowError(
            f"{_at(where)}the continuation alone ({len(continuation):,} tokens) does not fit in "
            f"{window_text(window, source)}"
        )
    if not truncate:
        raise ContextOverflowError(
            f"{_at(where)}context ({len(context):,} tokens) + continuation ({len(continuation):,} tokens) "
            f"exceed {window_text(window, source)}; shorten it or pass --truncate left"
        )
    kept = context[excess:]
    return kept, Truncation("left", len(context), len(kept))


def parse_side(value: str | None, option: str = "--truncate") -> Side | None:
    """'left' / 'right' / None from a command-line value; anything else is a usage error."""
    if value is None or value in SIDES:
        return value  # type: ignore[return-value]
    raise UsageError(f"{option}: expected left or right, got '{value}'")


def check_request(lm: Any, request: Any, where: str = "") -> Truncation | None:
    """Fit one log-likelihood or generation request against a local model's window, as its backend
    will: the cut it will make (None when it fits), or the overflow error. Models without a local
    tokenizer (servers) are not checked here; they report their own limit."""
    from sllm.models.base import LoglikelihoodRequest
    from sllm.models.tokens import request_tokens

    window, encode = getattr(lm, "max_length", None), getattr(lm, "encode", None)
    if not window or encode is None:
        return None
    source = getattr(lm, "window_source", "")
    if isinstance(request, LoglikelihoodRequest):
        context, continuation = request_tokens(
            encode, lm.prefix_token_id, request.context, request.continuation
        )
        return fit_pair(context, continuation, window, request.truncate, where, source)[1]
    if request.prompt is not None:
        text = request.prompt
    elif getattr(lm, "render_chat", None) is not None:
        text = lm.render_chat(request.message_dicts())
    else:
        return None
    config = request.config
    return fit_prompt(encode(text), config.max_new_tokens, window, config.truncate, where, source)[1]


def fitted_pairs(lm: Any, requests: Any) -> list[tuple[list[int], list[int]]]:
    """(context, continuation) token ids of every log-likelihood request as a local backend scores
    them: all checked against the window (and cut where they ask for it) before any is scored."""
    from sllm.models.tokens import request_tokens

    pairs = []
    for i, r in enumerate(requests):
        context, continuation = request_tokens(lm.encode, lm.prefix_token_id, r.context, r.continuation)
        where = request_label(i, len(requests))
        context, _ = fit_pair(context, continuation, lm.max_length, r.truncate, where, lm.window_source)
        pairs.append((context, continuation))
    return pairs


def request_label(index: int, count: int) -> str:
    """How a backend names a request in an error: nothing for a single one, else 'request 3 of 10'."""
    return "" if count == 1 else f"request {index + 1} of {count}"


def model_max_length(config: Any, tokenizer: Any) -> tuple[int, str]:
    """Context length as lm-evaluation-harness finds it (config attributes, then tokenizer), and
    where it was found (error messages name it)."""
    for attribute in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, attribute, None)
        if value:
            return int(value), f"{attribute} of the model config"
    limit = getattr(tokenizer, "model_max_length", None)
    if limit and limit < 10**9:
        return int(limit), "model_max_length of the tokenizer"
    return 2048, "sllm's default: neither the model config nor the tokenizer gives one"
