"""llama.cpp backend (optional extra `llamacpp`): GGUF models at native quantised speed on CPU."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sllm.errors import NotSupportedError
from sllm.generation.config import GenerationConfig
from sllm.generation.stopping import truncate_at_stop
from sllm.models.base import (
    LM,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RollingRequest,
    RollingResult,
)
from sllm.models.context import fit_prompt, fitted_pairs, request_label
from sllm.models.detokenize import finished_text
from sllm.models.options import BackendOptions, parse_options
from sllm.models.tokens import rolling_windows


class LlamaCppOptions(BackendOptions):
    """Options of `gguf:` specs served by llama.cpp."""

    n_ctx: int = 4096
    n_threads: int | None = None
    n_batch: int = 512


class LlamaCppLM(LM):
    """A GGUF model run by llama-cpp-python; logits for every position enable scoring."""

    def __init__(self, path: str, options: dict[str, Any] | None = None) -> None:
        super().__init__()
        from llama_cpp import Llama

        self.path = Path(path)
        self.options = parse_options(LlamaCppOptions, options or {}, f"gguf:{path}")
        self.llm = Llama(
            model_path=str(self.path),
            n_ctx=self.options.n_ctx,
            n_threads=self.options.n_threads or os.cpu_count(),
            n_batch=self.options.n_batch,
            logits_all=True,
            verbose=False,
        )
        self.max_length = self.options.n_ctx
        self.window_source = "n_ctx option of the model spec"

    def fingerprint(self) -> str:
        """Digest of the GGUF file plus the engine (llama.cpp numerics differ from torch)."""
        from sllm.models.fingerprint import file_digest

        return f"llamacpp|{file_digest(self.path)[:16]}|n_ctx={self.options.n_ctx}"

    def encode(self, text: str) -> list[int]:
        """Tokenise without adding BOS."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    @property
    def prefix_token_id(self) -> int:
        """BOS stands for an empty context, as in the transformers backend."""
        return int(self.llm.token_bos())

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        """Render the GGUF's own chat template, exactly as transformers' apply_chat_template does."""
        # llama-cpp-python's chat handlers guess a format and may not use the file's template.
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise NotSupportedError(f"{self.path.name} has no chat template; use a raw prompt")
        vocab = self.llm.detokenize
        return (
            ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
            .from_string(template)
            .render(
                messages=messages,
                add_generation_prompt=True,
                bos_token=vocab([self.llm.token_bos()], special=True).decode("utf-8", "replace"),
                eos_token=vocab([self.llm.token_eos()], special=True).decode("utf-8", "replace"),
            )
        )

    def _score(self, context: list[int], continuation: list[int]) -> tuple[float, bool]:
        tokens = context + continuation  # fitted to the window by the caller
        self.llm.reset()
        self.llm.eval(tokens[:-1])
        logits = np.asarray(self.llm.scores[: len(tokens) - 1], dtype=np.float64)
        rows = logits[-len(continuation) :]
        rows = rows - rows.max(axis=1, keepdims=True)
        logprobs = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
        picked = logprobs[np.arange(len(continuation)), continuation]
        return float(picked.sum()), bool((rows.argmax(axis=1) == continuation).all())

    def _iter_loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest]
    ) -> Iterator[tuple[int, LoglikelihoodResult]]:
        pairs = fitted_pairs(self, requests)  # all checked against the window before any scoring
        for index, (context, continuation) in enumerate(pairs):
            logprob, greedy = self._score(context, continuation)
            yield index, LoglikelihoodResult(logprob, greedy, len(continuation))

    def _iter_loglikelihood_rolling(
        self, requests: Sequence[RollingRequest]
    ) -> Iterator[tuple[int, RollingResult]]:
        for index, request in enumerate(requests):
            tokens = self.encode(request.text)
            windows = rolling_windows(tokens, self.prefix_token_id, self.max_length)
            total = sum(self._score(c, t)[0] for c, t in windows)
            yield index, RollingResult(total, len(tokens))

    def _iter_generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, GenerationResult]]:
        prompts: list[str | list[int]] = []
        for i, request in enumerate(requests):  # all checked against the window before any generation
            text = request.prompt if request.prompt is not None else self.render_chat(request.message_dicts())
            config, where = request.config, request_label(i, len(requests))
            kept, cut = fit_prompt(
                self.encode(text),
                config.max_new_tokens,
                self.max_length,
                config.truncate,
                where,
                self.window_source,
            )
            prompts.append(text if cut is None else kept)
        for index, (request, prompt) in enumerate(zip(requests, prompts)):
            kwargs = _sampling_kwargs(request.config)
            if request.config.ignore_eos:
                kwargs["logit_bias"] = {int(self.llm.token_eos()): float("-inf")}
            out = self.llm.create_completion(prompt, **kwargs)
            text = out["choices"][0]["text"]
            text, _ = truncate_at_stop(text, request.config.stop)
            reason = "length" if out["choices"][0].get("finish_reason") == "length" else "stop"
            # llama-cpp-python decodes the completion's bytes with errors="ignore", which already
            # drops a cut character; the shared rule keeps any other version in line.
            text = finished_text(text, reason)
            usage = out.get("usage") or {}
            tokens, read = int(usage.get("completion_tokens", 0)), int(usage.get("prompt_tokens", 0))
            yield index, GenerationResult(text, tokens, reason, read)


def _sampling_kwargs(config: GenerationConfig) -> dict[str, Any]:
    """Map our settings onto llama.cpp's sampler (temperature 0 is its greedy)."""
    if config.strategy == "beam":
        raise NotSupportedError("beam search is not supported by the llama.cpp backend")
    sampling = config.strategy == "sample"
    return {
        "max_tokens": config.max_new_tokens,
        "temperature": config.temperature if sampling else 0.0,
        "top_k": config.top_k if sampling else 1,
        "top_p": config.top_p if sampling else 1.0,
        "repeat_penalty": config.repetition_penalty,
        "stop": list(config.stop) or None,
        "seed": config.seed,
    }
