"""A verdict the program cannot forge: the tests run in a judge sandbox, the code in another.

In-process markers cannot work: whatever the runner knows (a nonce, a flag), the program
shares its address space and can read it from a frame, then print it and `os._exit(0)`.
So each sample uses two sandboxes, started together under one wall clock:

- the CANDIDATE runs prompt + completion (untrusted), then answers calls to the entry point,
  reading arguments and writing return values as plain literals over two pipes;
- the JUDGE runs only trusted code: the task's prompt (helpers the tests use), then the tests
  with the entry point bound to a proxy that forwards each call to the candidate.

The verdict is the judge's exit status and last stdout line, which the candidate can neither
reach (other namespaces, another uid) nor influence except by the values it returns, and
those arrive as data (inside/wire.py), never as objects with their own `__eq__`.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

from sllm.errors import SllmError
from sllm.execution.inside.roles import VERDICT
from sllm.execution.sandbox import (
    ExecutionResult,
    Sandbox,
    SandboxLimits,
    Status,
    map_concurrently,
    require_sandbox,
)


@dataclass(frozen=True)
class CodeTask:
    """One sample to judge: trusted prompt and tests, the untrusted completion, the function's name."""

    prompt: str
    completion: str
    tests: str  # the dataset's test code, ending in its call, e.g. `check(entry_point)`
    entry_point: str


def run_judged(task: CodeTask, limits: SandboxLimits | None = None) -> ExecutionResult:
    """Judge one completion; passed only when the tests pass against its answers."""
    limits = limits or SandboxLimits()
    require_sandbox(limits.python)
    started = time.monotonic()
    requests_r, requests_w = os.pipe()  # judge -> candidate
    replies_r, replies_w = os.pipe()  # candidate -> judge
    sandboxes: list[Sandbox] = []
    try:
        candidate_job = {"role": "candidate", "source": task.prompt + task.completion + "\n"}
        candidate = Sandbox(
            {**candidate_job, "entry_point": task.entry_point}, limits, (requests_r, replies_w)
        )
        sandboxes.append(candidate)
        judge_job = {
            "role": "judge",
            "prompt": task.prompt,
            "tests": task.tests,
            "entry_point": task.entry_point,
        }
        judge = Sandbox(judge_job, limits, (replies_r, requests_w))
        sandboxes.append(judge)
    except BaseException:
        for sandbox in sandboxes:
            sandbox.kill()
            with contextlib.suppress(SllmError):  # the first error is the one to report
                sandbox.finish()
        raise
    finally:
        for fd in (requests_r, requests_w, replies_r, replies_w):
            os.close(fd)
    timed_out = judge.wait(started + limits.timeout_s)
    candidate.kill()  # it would only wait for more calls
    judge_out, judge_err = judge.finish()
    stdout, stderr = candidate.finish()
    code = judge.proc.returncode
    passed = code == 0 and judge_out.splitlines()[-1:] == [VERDICT]
    status: Status = "timeout" if timed_out else "passed" if passed else "failed"
    duration = round(time.monotonic() - started, 3)
    return ExecutionResult(status, code, stdout, stderr, duration, judge=judge_err)


def run_judged_many(
    tasks: list[CodeTask], limits: SandboxLimits | None = None, workers: int | None = None
) -> list[ExecutionResult]:
    """Judge completions concurrently (two sandboxes each), results in input order."""
    return map_concurrently(lambda t: run_judged(t, limits), tasks, workers)
