"""An OpenAI-compatible engine server (`vllm serve`, or any command) as a child process on loopback.

`sllm serve --engine vllm|command` runs one behind its gateway: on a free 127.0.0.1 port, in a
process group of its own, its output in a log file. It is healthy when `GET /health` answers 200
and `GET /v1/models` lists the served name; if it exits first or never gets there, the error
quotes the end of its log. `stop()` sends SIGTERM to the whole group (vLLM's engine processes
too), then SIGKILL after a grace period. On Linux the child also gets SIGTERM if the gateway dies
without stopping it (PR_SET_PDEATHSIG), so no engine outlives a killed gateway.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from sllm.errors import SllmError, UsageError

VLLM_INSTALL = (
    "--engine vllm needs the `vllm` command, which is not installed here: "
    "pip install 'sllm[vllm]' on a Linux machine with a CUDA GPU"
)
TAIL_LINES = 20


def vllm_executable() -> str:
    """The `vllm` command beside this Python (a venv's bin/) or on PATH; a clear error if neither."""
    beside = Path(sys.executable).with_name("vllm")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("vllm")
    if found is None:
        raise SllmError(VLLM_INSTALL)
    return found


def vllm_command(target: str, port: int, name: str, api_key: str, extra: list[str]) -> list[str]:
    """`vllm serve TARGET` on 127.0.0.1:PORT under NAME, with its own key, then the pass-through args."""
    return [
        vllm_executable(), "serve", target, "--host", "127.0.0.1", "--port", str(port),
        "--served-model-name", name, "--api-key", api_key, *extra,
    ]  # fmt: skip


def template_command(template: str, port: int, api_key: str, extra: list[str]) -> list[str]:
    """A command line with `{port}` (and optionally `{api_key}`) filled in, then the pass-through args."""
    if "{port}" not in template:
        raise UsageError("--engine-command needs a {port} placeholder where the server's port goes")
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise UsageError(f"--engine-command: {exc}") from None
    # str.replace, not str.format: the command may hold JSON or other braces of its own
    return [w.replace("{port}", str(port)).replace("{api_key}", api_key) for w in words] + extra


class ChildServer:
    """One engine server process: start it, wait until it is healthy, stop it and its group."""

    def __init__(self, argv: list[str], port: int, name: str, api_key: str | None, log: Path,
                 env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.argv, self.port, self.name, self.api_key, self.log = argv, port, name, api_key, log
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.cards: list[dict[str, Any]] = []  # what its /v1/models listed

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def headers(self) -> dict[str, str]:
        """What the gateway sends the engine in place of the client's Authorization."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float) -> ChildServer:
        """Launch, then wait until /health and /v1/models answer (the engine's name listed)."""
        with open(self.log, "ab") as out:
            try:
                self.proc = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                    start_new_session=True, preexec_fn=_die_with_parent,  # noqa: PLW1509 - before threads
                )  # fmt: skip
            except OSError as exc:
                raise SllmError(f"cannot start the engine `{shlex.join(self.argv[:3])}`: {exc}") from None
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise SllmError(f"the engine {self.ended()} before it was healthy{self.tail()}")
                if self._healthy():
                    return self
                time.sleep(0.5)
            raise SllmError(f"the engine was not healthy after {timeout:g} s (--engine-timeout){self.tail()}")
        except BaseException:
            self.stop()
            raise

    def _healthy(self) -> bool:
        """True once /health is 200 and /v1/models lists our name; an error for a wrong listing."""
        try:
            if httpx.get(self.base + "/health", timeout=5).status_code != 200:
                return False
            listing = httpx.get(self.base + "/v1/models", headers=self.headers, timeout=10)
        except httpx.HTTPError:
            return False
        if listing.status_code != 200:
            raise SllmError(
                f"the engine is up but GET /v1/models answered {listing.status_code}: {listing.text[:300]}"
            )
        self.cards = list(listing.json().get("data") or [])
        served = [str(card.get("id")) for card in self.cards]
        if self.name not in served:
            raise SllmError(
                f"the engine serves {', '.join(served) or 'no model'}, not '{self.name}': "
                "name one of those with --model (or --served-name)"
            )
        return True

    def card(self) -> dict[str, Any]:
        """The engine's /v1/models entry for our name."""
        return next((c for c in self.cards if c.get("id") == self.name), {})

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the engine's process group; SIGKILL to what is left after `grace` seconds."""
        if self.proc is None:
            return
        _signal_group(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(self.proc.pid, signal.SIGKILL)  # stragglers of the group (engine workers) too
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def ended(self) -> str:
        """How the process ended: 'exited with code N' or 'was killed by signal N'."""
        code = self.proc.returncode if self.proc else None
        return (
            f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        )

    def tail(self) -> str:
        """The last lines of the engine's log, as the end of an error message."""
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        last = [line for line in lines if line.strip()][-TAIL_LINES:]
        if not last:
            return f" (its log {self.log} is empty)"
        return f"; the end of its log {self.log}:\n" + "\n".join("    " + line for line in last)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the gateway process dies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
