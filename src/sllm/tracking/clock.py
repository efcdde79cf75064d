"""When the current `sllm` command began, so its MLflow run's duration covers all of its work.

Commands record their run when the work is done (a judge, a data filter) or open it once the
options are parsed (eval, train); either way the run starts at the command's start, not at
the moment MLflow is first called.
"""

from __future__ import annotations

import time

_started: float | None = None


def mark_command_start(when: float | None = None) -> None:
    """Note that a command starts now (the CLI calls this before any work)."""
    global _started
    _started = time.time() if when is None else when


def take_command_start() -> float:
    """The start of the command's first run (its start was marked), else now; once per command."""
    global _started
    started, _started = _started, None
    return time.time() if started is None else started
