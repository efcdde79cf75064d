"""What every local backend with a transformers tokenizer shares (hf:, ov:).

Encoding without special tokens, the token that stands for an empty context, the chat template,
and the log-likelihood streams built on the backend's own `score_token_pairs`. Kept free of torch
so a backend that does not need it (OpenVINO) does not pay for importing it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sllm.errors import SllmError
from sllm.models.base import LoglikelihoodRequest, LoglikelihoodResult, RollingRequest, RollingResult
from sllm.models.context import fitted_pairs
from sllm.models.tokens import rolling_windows


class TokenizedLM:
    """Mixin for an `LM` with `tokenizer`, `target`, `max_length` and a `score_token_pairs(pairs)`
    that yields (index, (sum log-prob, is greedy, n tokens)) per (context ids, continuation ids)."""

    tokenizer: Any
    target: str
    max_length: int
    score_token_pairs: Any

    def encode(self, text: str) -> list[int]:
        """Tokenise without special tokens (prompts carry their own, via chat templates)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """`encode` for many texts at once (the fast tokenizer's batch API, in parallel)."""
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []

    @property
    def prefix_token_id(self) -> int:
        """Token that stands for an empty context: BOS if the tokenizer has one, else EOS."""
        bos = self.tokenizer.bos_token_id
        return bos if bos is not None else self.tokenizer.eos_token_id

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        """Render messages through the tokenizer's chat template, ready for the assistant turn."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise SllmError(f"model '{self.target}' has no chat template; use a raw prompt instead")
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _iter_loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest]
    ) -> Iterator[tuple[int, LoglikelihoodResult]]:
        pairs = fitted_pairs(self, requests)  # all checked against the window before any scoring
        for index, (logprob, greedy, n) in self.score_token_pairs(pairs):
            yield index, LoglikelihoodResult(logprob=logprob, is_greedy=greedy, n_tokens=n)

    def _iter_loglikelihood_rolling(
        self, requests: Sequence[RollingRequest]
    ) -> Iterator[tuple[int, RollingResult]]:
        for index, request in enumerate(requests):
            tokens = self.encode(request.text)
            windows = list(rolling_windows(tokens, self.prefix_token_id, self.max_length))
            total = sum(logprob for _, (logprob, _, _) in self.score_token_pairs(windows))
            yield index, RollingResult(logprob=total, n_tokens=len(tokens))
