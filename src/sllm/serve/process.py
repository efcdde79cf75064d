"""Start `sllm serve` as a child process on 127.0.0.1, wait until it is ready, stop it by PID.

For tests, benchmarks and notebooks: `ServeProcess(["--no-auth"]).start()` gives a server on a free
loopback port; `stop()` sends SIGTERM (uvicorn finishes in-flight requests) and waits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """`sllm serve ARGS` on a free loopback port; `url` is its /v1 base."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, port: int | None = None,
                 log: Path | None = None) -> None:  # fmt: skip
        self.port = port or free_port()
        self.args = args
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI base URL."""
        return self.base + "/v1"

    def start(self, timeout: float = 180) -> ServeProcess:
        """Launch and wait until /ready answers 200."""
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        command = [sys.executable, "-m", "sllm", "serve", "--port", str(self.port), *self.args]
        self.proc = subprocess.Popen(command, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sllm serve exited with {self.proc.returncode}: {self._tail()}")
            try:
                if httpx.get(self.base + "/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"sllm serve did not become ready in {timeout} s: {self._tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the process by PID and wait for it."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log and self.log.exists() else ""
