"""Tracking never undoes finished work: a failed MLflow call is noted, the command goes on, and
one warning line at the end says what was not recorded and why."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def reason(exc: BaseException) -> str:
    """The first line of an error, short enough for a one-line warning."""
    from sllm.errors import SllmError

    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    text = first if isinstance(exc, SllmError) else f"{type(exc).__name__}: {first}".rstrip(": ")
    return text if len(text) <= 200 else text[:197] + "..."


def _rejects_only_this_item(exc: BaseException) -> bool:
    """One value was bad (refused by the store, not a number, a missing file); the store works."""
    if getattr(exc, "error_code", None) == "INVALID_PARAMETER_VALUE":
        return True
    return isinstance(exc, (ValueError, TypeError, FileNotFoundError, IsADirectoryError))


class Failures:
    """What one run could not record; after the first store failure every later call is skipped."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.broken = False  # the store itself failed: stop talking to it
        self.missed: list[str] = []

    def note(self, what: str, exc: BaseException | None = None) -> None:
        """Remember an item that was not recorded (and the first error)."""
        if what not in self.missed:
            self.missed.append(what)
        if exc is not None:
            self.error = self.error or exc
            self.broken = self.broken or not _rejects_only_this_item(exc)

    def message(self, run_id: str | None) -> str | None:
        """The one warning line, or None when everything was recorded."""
        if not self.missed:
            return None
        why = f" ({reason(self.error)})" if self.error else ""
        run = f"MLflow run {run_id}" if run_id else "the MLflow run"
        return f"tracking failed{why}: {run} is missing {', '.join(self.missed)}; the results are kept"


def guarded(what: str | Callable[..., str]) -> Callable[[F], F]:
    """Make a RunRecorder method note its failure instead of raising it.

    `what` names the item in the warning: a text, where `{0}` stands for the file name of the
    first argument (an artifact), or a function of the method's arguments.
    """

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not self.run_id:
                return None
            label = what(*args, **kwargs) if callable(what) else what.format(*map(_file_name, args[:1]))
            if self.failures.broken:
                self.failures.note(label)
                return None
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - any store failure must leave the work alone
                self.failures.note(label, exc)
                return None

        return call  # type: ignore[return-value]

    return wrap


def _file_name(value: Any) -> str:
    return str(value).rsplit("/", 1)[-1]
