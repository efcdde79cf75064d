"""Rich progress bars for long streams of work, written to stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

T = TypeVar("T")
stderr_console = Console(stderr=True)


def make_progress() -> Progress:
    """Return the house progress bar (description, bar, n/N, elapsed, remaining)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr_console,
        transient=False,
    )


def track_stream(items: Iterable[T], total: int, description: str, enabled: bool) -> Iterator[T]:
    """Yield from `items`, advancing a progress bar of `total` steps when enabled."""
    if not enabled or total <= 1:
        yield from items
        return
    with make_progress() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


class _Counter:
    """What `progress_bar` yields: `update(k)` advances by k (a no-op when disabled)."""

    def __init__(self, bar: Progress | None, task: int | None) -> None:
        self.bar, self.task = bar, task

    def update(self, steps: int) -> None:
        """Advance by `steps`."""
        if self.bar is not None and self.task is not None and steps:
            self.bar.advance(self.task, steps)


@contextmanager
def progress_bar(description: str, total: int, enabled: bool) -> Iterator[_Counter]:
    """A bar advanced by hand (for loops whose steps produce a varying amount of work)."""
    if not enabled:
        yield _Counter(None, None)
        return
    with make_progress() as bar:
        yield _Counter(bar, bar.add_task(description, total=total))


#: files smaller than this are read without a progress bar (a few seconds at most)
BYTE_BAR_MIN = 8 << 20


@contextmanager
def byte_bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None] | None]:
    """A bar over the bytes of a file (read / total, speed, time left) for files of BYTE_BAR_MIN or
    more; yields its `advance(n_bytes)` function, or None when there is no bar."""
    if not enabled or total < BYTE_BAR_MIN:
        yield None
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=stderr_console, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
