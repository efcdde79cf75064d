"""Stop sequences: cut generated text at the earliest stop string."""

from __future__ import annotations

from collections.abc import Sequence


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` before the first occurrence of any stop string; report whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def streamable(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """The part of a growing text that can be sent now, and whether a stop sequence ended it.

    Text up to a stop sequence is final; without one, a tail that could still grow into a stop
    sequence is held back (vLLM's rule), so a streamed reply never shows part of a stop string."""
    cut, stopped = truncate_at_stop(text, stop)
    if stopped:
        return cut, True
    hold = max((n for s in stop for n in range(1, len(s)) if text.endswith(s[:n])), default=0)
    return text[: len(text) - hold], False
