"""What the local engines share: tokenizer access, per-row streaming text, token pieces.

`RowStreamer` turns each row's new tokens into text deltas: whole characters only (a Hangul
syllable split across byte-level tokens is never sent half), and a tail that could still become
a stop sequence held back, so a streamed reply joins to exactly the non-streamed text. It is a
transformers streamer (`put` / `end`) and is fed token by token by engines without one.
"""

from __future__ import annotations

import time
from typing import Any

from sllm.generation.stopping import streamable
from sllm.models.detokenize import TextStream
from sllm.serve.jobs import Delta, Job


class TokenizerEngine:
    """Base of engines over a local backend with a transformers tokenizer (hf:, ov:)."""

    def __init__(self, lm: Any) -> None:
        self.lm = lm
        self.tokenizer = lm.tokenizer
        self.max_length, self.window_source = lm.max_length, lm.window_source

    def encode(self, text: str) -> list[int]:
        """Token ids of a text."""
        return self.lm.encode(text)

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        """The prompt a chat becomes (the model's chat template)."""
        return self.lm.render_chat(messages)

    def decode(self, ids: list[int]) -> str:
        """Text of token ids, special tokens left out."""
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def token_pieces(decode: Any, ids: list[int]) -> list[str]:
    """Each token's share of the decoded text: a token that ends inside a character gets "" and
    the token completing it the whole character, so the pieces join to the decoded text."""
    stream = TextStream(decode)
    pieces = [stream.push([token]) for token in ids]
    if pieces:
        pieces[-1] += stream.finish("stop")
    return pieces


class RowStreamer:
    """transformers streamer for a whole batch: per-row text deltas, stop sequences held back."""

    def __init__(self, engine: TokenizerEngine, jobs: list[Job], enders: set[int], metrics: Any) -> None:
        self.jobs, self.enders, self.metrics = jobs, enders, metrics
        self.streams = [TextStream(engine.decode) for _ in jobs]
        self.raw = [""] * len(jobs)  # detokenised so far
        self.sent = [""] * len(jobs)  # sent to the client so far
        self.counts = [0] * len(jobs)
        self.ids: list[list[int]] = [[] for _ in jobs]  # every generated id, an end token included
        self.done = [False] * len(jobs)
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        """Called by generate: first with the prompt, then with each step's token per row."""
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        now = time.monotonic()
        for row, token in enumerate(value.reshape(-1).tolist()):
            self.put_token(row, token, now)

    def put_token(self, row: int, token: int, now: float) -> None:
        """One new token of one row: count it, and send the text it completes."""
        job = self.jobs[row]
        if self.done[row] or self.counts[row] >= job.config.max_new_tokens:
            return
        self.ids[row].append(token)
        if token in self.enders:
            self.done[row] = True
            return
        self.counts[row] += 1
        self.metrics.token(job, now)
        self.raw[row] += self.streams[row].push([token])
        self._send(row, *streamable(self.raw[row], job.config.stop))

    def _send(self, row: int, text: str, final: bool) -> None:
        if final:
            self.done[row] = True
        if len(text) > len(self.sent[row]) and text.startswith(self.sent[row]):
            job = self.jobs[row]
            if job.streams:
                job.emit(Delta(text[len(self.sent[row]) :], self.counts[row]))
            self.sent[row] = text

    def flush(self, row: int, final_text: str) -> None:
        """Send what the row's final text holds beyond what was streamed."""
        self._send(row, final_text, True)

    def end(self) -> None:
        """Called by generate when the batch is done."""
