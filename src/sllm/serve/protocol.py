"""The OpenAI request bodies the server accepts, and the decoding settings they mean.

Defaults follow the OpenAI API (temperature 1 samples; `temperature: 0` is greedy; completions
default to 16 new tokens, chat to the rest of the context window, as vLLM does). `top_k`,
`repetition_penalty` and `ignore_eos` are the vLLM extensions the `openai:` backend sends. A
parameter we cannot honour (tools, logit_bias, penalties other than 0, best_of > 1) is a 400
naming it, never silently ignored: a client that asked for it would get a different model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sllm.generation.config import GenerationConfig


class RequestError(Exception):
    """A request the server refuses: HTTP status, message, and the parameter at fault."""

    def __init__(self, status: int, message: str, param: str | None = None, kind: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param
        self.kind = kind or {
            400: "invalid_request_error",
            401: "authentication_error",
            404: "not_found_error",
            429: "rate_limit_error",
            503: "service_unavailable",
            504: "timeout",
        }.get(status, "server_error")


class Sampling(BaseModel):
    """Decoding parameters shared by /v1/chat/completions and /v1/completions."""

    model_config = ConfigDict(extra="allow")  # unknown fields are ignored, as OpenAI's SDKs add some

    model: str = ""
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    top_k: int = Field(0, ge=-1)  # vLLM's extension; -1 and 0 both mean off
    n: int = Field(1, ge=1, le=16)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    repetition_penalty: float = Field(1.0, gt=0.0)
    ignore_eos: bool = False
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[str, float] | None = None
    user: str | None = None

    def check_supported(self) -> None:
        """Refuse what the built-in engines cannot do (a 400 that names the parameter)."""
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(self, name):
                raise RequestError(400, f"{name} is not supported; use repetition_penalty", name)
        if self.logit_bias:
            raise RequestError(400, "logit_bias is not supported", "logit_bias")

    def generation_config(self, max_new_tokens: int) -> GenerationConfig:
        """Our decoding settings: temperature 0 is greedy, anything else samples."""
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        values: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "stop": tuple(s for s in stop if s),
            "repetition_penalty": self.repetition_penalty,
            "ignore_eos": self.ignore_eos,
            "seed": self.seed,
        }
        if self.temperature > 0:
            values.update(
                strategy="sample", temperature=self.temperature, top_p=self.top_p, top_k=max(self.top_k, 0)
            )
        try:
            return GenerationConfig(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise RequestError(400, f"invalid decoding settings: {first['msg']}") from None


class ChatMessage(BaseModel):
    """One chat message; content is text or a list of text parts."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text; a non-text part (an image) is refused."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        pieces = []
        for part in self.content:
            if part.get("type") != "text":
                raise RequestError(400, f"message content of type '{part.get('type')}' is not supported")
            pieces.append(str(part.get("text", "")))
        return "".join(pieces)


class ChatRequest(Sampling):
    """POST /v1/chat/completions."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    tools: list[Any] | None = None
    response_format: dict[str, Any] | None = None

    def check_supported(self) -> None:
        """Also refuse tools and structured output."""
        super().check_supported()
        if self.tools:
            raise RequestError(400, "tools are not supported", "tools")
        if self.response_format and self.response_format.get("type") not in (None, "text"):
            raise RequestError(400, "response_format other than text is not supported", "response_format")

    def message_dicts(self) -> list[dict[str, str]]:
        """Role/content dicts for the chat template ('developer' is the newer name of 'system')."""
        role = {"developer": "system"}
        return [{"role": role.get(m.role, m.role), "content": m.text()} for m in self.messages]

    def wanted_tokens(self) -> int | None:
        """max_completion_tokens (the newer name) or max_tokens; None = the rest of the window."""
        return self.max_completion_tokens or self.max_tokens

    def top(self) -> int | None:
        """How many alternatives per generated token to return; None = no logprobs."""
        return (self.top_logprobs or 0) if self.logprobs else None


Prompt = str | list[str] | list[int] | list[list[int]]


class CompletionRequest(Sampling):
    """POST /v1/completions (the legacy API, which scoring harnesses use for echo + logprobs)."""

    prompt: Prompt
    max_tokens: int = Field(16, ge=0)
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=20)
    best_of: int | None = None
    suffix: str | None = None

    def check_supported(self) -> None:
        """Also refuse best_of > 1, suffix, and max_tokens 0 without echo."""
        super().check_supported()
        if self.best_of not in (None, 1) and self.best_of != self.n:
            raise RequestError(400, "best_of is not supported", "best_of")
        if self.suffix:
            raise RequestError(400, "suffix is not supported", "suffix")
        if self.max_tokens == 0 and not self.echo:
            raise RequestError(400, "max_tokens must be at least 1 unless echo is true", "max_tokens")

    def prompts(self) -> list[str | list[int]]:
        """Each prompt as text or token ids (a batch of either is a list of them)."""
        prompt = self.prompt
        if isinstance(prompt, str):
            return [prompt]
        if not prompt:
            raise RequestError(400, "prompt is empty", "prompt")
        if all(isinstance(p, int) for p in prompt):
            return [list(prompt)]  # type: ignore[arg-type]
        return list(prompt)  # type: ignore[arg-type]
