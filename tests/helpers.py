"""Helpers shared by tests: run the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `sllm` console entry point in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sllm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


class ScriptedLM:
    """A deterministic model for pipeline tests: `reply(prompt_or_last_message, seed)` -> text."""

    def __new__(cls, reply):  # noqa: ANN001, ANN204 - built lazily so helpers import without torch
        from sllm.models.base import LM, GenerationResult

        class _Scripted(LM):
            spec = "scripted"

            def __init__(self) -> None:
                super().__init__()
                self.requests: list = []

            def _iter_generate(self, requests):  # noqa: ANN001, ANN202
                for index, request in enumerate(requests):
                    self.requests.append(request)
                    text = (
                        request.prompt
                        if request.prompt is not None
                        else request.message_dicts()[-1]["content"]
                    )
                    out = reply(text, request.config.seed)
                    yield index, GenerationResult(text=out, n_tokens=len(out.split()), finish_reason="stop")

        return _Scripted()
