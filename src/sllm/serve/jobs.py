"""One unit of work for an engine, and the events it sends back to the waiting HTTP handler.

The engine runs in a worker thread; the handler awaits on the event loop. `Job.emit` crosses
between the two with `call_soon_threadsafe`, the one safe way to wake an asyncio queue from
another thread. A job carries its own cancellation flag (the client went away) and deadline
(the per-request timeout), which the engine checks between decoding steps.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from sllm.generation.config import GenerationConfig


@dataclass(frozen=True)
class TokenLogprob:
    """A token's text, its log-probability (None for a prompt's first token) and the top-N."""

    token: str
    logprob: float | None
    top: dict[str, float] = field(default_factory=dict)
    offset: int = 0  # where the token's text starts in the whole text


@dataclass(frozen=True)
class Delta:
    """New generated text (whole characters only, never past a stop sequence)."""

    text: str
    tokens: int  # generated tokens so far


@dataclass(frozen=True)
class Finished:
    """The job is done: the full text, token counts, why it ended, and log-probs if asked."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length", "abort"]
    logprobs: list[TokenLogprob] | None = None


@dataclass(frozen=True)
class Failed:
    """The job could not run: HTTP status and message."""

    status: int
    message: str


Event = Delta | Finished | Failed


@dataclass(eq=False)
class Job:
    """A generation (or, with kind='score', a prompt scoring) request as the engine sees it."""

    prompt_ids: list[int]
    config: GenerationConfig
    kind: Literal["generate", "score"] = "generate"
    index: int = 0  # which choice of its HTTP request this job answers
    top_logprobs: int | None = None  # None: no log-probs; N: the token's and N alternatives'
    deadline: float = float("inf")
    loop: asyncio.AbstractEventLoop | None = None
    events: asyncio.Queue[tuple[int, Event]] | None = None  # shared by the request's choices
    cancelled: threading.Event = field(default_factory=threading.Event)
    enqueued: float = field(default_factory=time.monotonic)
    started: float | None = None
    first_token: float | None = None
    last_token: float | None = None
    streams: bool = True  # False: only the Finished event matters (no Delta wanted)
    extra: dict[str, Any] = field(default_factory=dict)

    def emit(self, event: Event) -> None:
        """Hand an event to the waiting handler (safe from any thread)."""
        if self.loop is None or self.events is None:
            return
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, (self.index, event))
        except RuntimeError:  # the event loop is closed: the server is shutting down
            pass

    def stopped(self) -> bool:
        """The client went away or the request ran out of time: stop spending work on it."""
        return self.cancelled.is_set() or time.monotonic() > self.deadline

    def timed_out(self) -> bool:
        """The per-request deadline passed."""
        return time.monotonic() > self.deadline
