"""The one model interface: log-likelihood, rolling log-likelihood and generation.

Every backend (transformers, OpenAI-compatible servers, llama.cpp, vLLM) and the cache wrapper
implement it, so tasks, judges and data generators never care where a model runs. Backends
stream results as they finish (`stream`), which lets the cache persist finished work at once:
a run killed half way loses nothing it had computed.
"""

from __future__ import annotations

import dataclasses
from abc import ABC
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sllm.errors import NotSupportedError
from sllm.generation.config import GenerationConfig

RequestKind = Literal["loglikelihood", "loglikelihood_rolling", "generate"]
Message = dict[str, str]


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """Score `continuation` given `context`: log P(continuation | context)."""

    context: str
    continuation: str
    #: cut the context from the left when the pair does not fit the context window (else an error)
    truncate: bool = False

    def cache_key(self) -> dict[str, Any]:
        """Return the canonical content of the request."""
        key = dataclasses.asdict(self)
        if not self.truncate:  # keys of requests that never needed a cut stay as they were
            del key["truncate"]
        return key


@dataclass(frozen=True)
class LoglikelihoodResult:
    """Summed log-probability of the continuation and whether greedy decoding yields it."""

    logprob: float
    is_greedy: bool
    n_tokens: int


@dataclass(frozen=True)
class RollingRequest:
    """Score a whole text (perplexity): sum of log P(token | preceding tokens)."""

    text: str

    def cache_key(self) -> dict[str, Any]:
        """Return the canonical content of the request."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RollingResult:
    """Summed log-probability of every token of the text, and the token count."""

    logprob: float
    n_tokens: int


@dataclass(frozen=True)
class GenerationRequest:
    """Generate from a raw prompt or from chat messages (exactly one of the two)."""

    prompt: str | None = None
    messages: tuple[tuple[tuple[str, str], ...], ...] | None = None
    config: GenerationConfig = field(default_factory=GenerationConfig)

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("a generation request needs exactly one of prompt or messages")

    @classmethod
    def chat(cls, messages: Sequence[Message], config: GenerationConfig) -> GenerationRequest:
        """Build a chat request from role/content dicts."""
        frozen = tuple(tuple(sorted(m.items())) for m in messages)
        return cls(messages=frozen, config=config)

    def message_dicts(self) -> list[Message]:
        """Return the chat messages as role/content dicts."""
        return [dict(m) for m in self.messages or ()]

    def cache_key(self) -> dict[str, Any]:
        """Return the canonical content of the request, decoding settings included."""
        return {
            "prompt": self.prompt,
            "messages": self.message_dicts() if self.messages is not None else None,
            "config": self.config.cache_key(),
        }


@dataclass(frozen=True)
class GenerationResult:
    """Generated text (stop sequences removed), its token count and why it ended."""

    text: str
    n_tokens: int
    finish_reason: Literal["stop", "length"]
    prompt_tokens: int = 0  # what the backend read (0 when it does not say); for usage and cost


Request = LoglikelihoodRequest | RollingRequest | GenerationRequest
Result = LoglikelihoodResult | RollingResult | GenerationResult


class LM(ABC):
    """Base class of every backend; subclasses implement the `_iter_*` streams they support."""

    #: the model spec this instance was built from (for records and messages)
    spec: str = ""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        #: prompt / completion tokens of the generations this model computed (not cache hits)
        self.tokens: Counter[str] = Counter()

    def fingerprint(self) -> str:
        """Identify the exact model (weights digest or revision, adapter, dtype)."""
        return self.spec

    # -- streams: yield (index into requests, result) as each result is ready --------------
    def _iter_loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest]
    ) -> Iterator[tuple[int, LoglikelihoodResult]]:
        raise NotSupportedError(f"log-likelihood is not supported by the backend of '{self.spec}'")

    def _iter_loglikelihood_rolling(
        self, requests: Sequence[RollingRequest]
    ) -> Iterator[tuple[int, RollingResult]]:
        raise NotSupportedError(f"rolling log-likelihood is not supported by the backend of '{self.spec}'")

    def _iter_generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, GenerationResult]]:
        raise NotSupportedError(f"generation is not supported by the backend of '{self.spec}'")

    def stream(self, kind: RequestKind, requests: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Yield (index, result) pairs in completion order, counting computed requests."""
        impl = {
            "loglikelihood": self._iter_loglikelihood,
            "loglikelihood_rolling": self._iter_loglikelihood_rolling,
            "generate": self._iter_generate,
        }[kind]
        for index, result in impl(requests):
            self.calls[kind] += 1
            if isinstance(result, GenerationResult):
                self.tokens["prompt"] += result.prompt_tokens
                self.tokens["completion"] += result.n_tokens
            yield index, result

    # -- list API -------------------------------------------------------------------------
    def run(self, kind: RequestKind, requests: Sequence[Any], progress: bool = False) -> list[Any]:
        """Return results in request order; a rich progress bar when `progress` is set."""
        from sllm.progress import track_stream

        results: list[Any] = [None] * len(requests)
        for index, result in track_stream(self.stream(kind, requests), len(requests), kind, progress):
            results[index] = result
        return results

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: bool = False
    ) -> list[LoglikelihoodResult]:
        """Score each continuation given its context."""
        return self.run("loglikelihood", requests, progress)

    def loglikelihood_rolling(
        self, requests: Sequence[RollingRequest], progress: bool = False
    ) -> list[RollingResult]:
        """Score each whole text token by token."""
        return self.run("loglikelihood_rolling", requests, progress)

    def generate(
        self, requests: Sequence[GenerationRequest], progress: bool = False
    ) -> list[GenerationResult]:
        """Generate for each request."""
        return self.run("generate", requests, progress)

    def generate_text(self, prompt: str, config: GenerationConfig | None = None) -> GenerationResult:
        """Generate from one raw prompt."""
        return self.generate([GenerationRequest(prompt=prompt, config=config or GenerationConfig())])[0]

    def chat(self, messages: Sequence[Message], config: GenerationConfig | None = None) -> GenerationResult:
        """Generate the assistant's next turn for one conversation."""
        request = GenerationRequest.chat(messages, config or GenerationConfig())
        return self.generate([request])[0]

    def close(self) -> None:
        """Release resources (connections, GPU memory); the default does nothing."""
