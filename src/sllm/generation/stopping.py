"""Stop sequences: cut generated text at the earliest stop string."""

from __future__ import annotations

from collections.abc import Sequence


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` before the first occurrence of any stop string; report whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
