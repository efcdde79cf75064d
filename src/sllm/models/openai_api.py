"""Any OpenAI-compatible server (Ollama, vLLM, llama.cpp server, OpenAI) through the official client.

Retries with exponential backoff are the `openai` client's own (connection errors, 408, 409,
429 and 5xx, bounded by `max_retries`); requests run concurrently in a thread pool
(`concurrency`) and stream back as each one completes.

The API key, first found wins: `,api_key=KEY`, else the URL's userinfo (`http://user:KEY@host/v1`
sends KEY, `http://KEY@host/v1` the whole userinfo), else SLLM_API_KEY, else OPENAI_API_KEY.
Giving both `api_key=` and userinfo is an error. The key travels only as the bearer token: the
called URL has no userinfo, and names, fingerprints and messages use the redacted URL, so a
rotated key keeps the cache.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Literal

from pydantic import Field, SecretStr

from sllm.errors import NotSupportedError, SllmError, UsageError
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
from sllm.models.detokenize import finished_text
from sllm.models.options import BackendOptions, parse_options
from sllm.redact import redact_spec

NO_LOGPROBS = (
    "log-likelihood is not supported by this server: it returned no prompt logprobs "
    "(needs echo + logprobs on /completions, e.g. vLLM)"
)


class OpenAIOptions(BackendOptions):
    """Options of `openai:` specs."""

    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(3, ge=0)
    concurrency: int = Field(4, ge=1)
    api_key: SecretStr | None = None  # SecretStr: repr and dumps show ********
    revision: str | None = None
    api: Literal["auto", "chat", "completions"] = "auto"


class OpenAILM(LM):
    """A model behind an OpenAI-compatible HTTP API."""

    def __init__(self, target: str, options: dict[str, Any] | None = None) -> None:
        super().__init__()
        model, sep, url = target.partition("@")
        if not sep or not model or not url.startswith(("http://", "https://")):
            raise UsageError(
                f"openai spec '{redact_spec(target)}' must look like openai:MODEL@http://HOST:PORT/v1"
            )
        self.options = parse_options(OpenAIOptions, options or {}, f"openai:{target}")
        try:
            base_url, url_key = split_userinfo(url)
        except ValueError as exc:  # e.g. an unclosed [IPv6 bracket
            raise UsageError(f"openai spec '{redact_spec(target)}': bad URL ({exc})") from None
        if url_key is not None and self.options.api_key is not None:
            raise UsageError(
                f"openai spec '{redact_spec(target)}' gives an API key twice (in the URL and as "
                "api_key=); keep one"
            )
        self.model_name, self.base_url = model, base_url.rstrip("/")
        #: the URL as shown in names, fingerprints and messages (secret query values masked)
        self.shown_url = redact_spec(self.base_url)
        import openai

        option_key = self.options.api_key.get_secret_value() if self.options.api_key else None
        key = option_key or url_key or os.environ.get("SLLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=key or "EMPTY",
            timeout=self.options.timeout,
            max_retries=self.options.max_retries,
        )
        self._score_max_tokens = 0  # becomes 1 once the server rejects 0 (see _echo)

    def fingerprint(self) -> str:
        """The server cannot prove its weights: name, URL and a user-given revision."""
        return f"openai|{self.model_name}@{self.shown_url}|revision={self.options.revision or 'unknown'}"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()

    # -- streaming over a thread pool --------------------------------------------------------
    def _concurrent(self, items: Sequence[Any], fn: Callable[[Any], Any]) -> Iterator[tuple[int, Any]]:
        pool = ThreadPoolExecutor(max_workers=self.options.concurrency)
        try:
            pending: dict[Future[Any], int] = {
                pool.submit(self._call, fn, item): i for i, item in enumerate(items)
            }
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    yield index, future.result()
        finally:
            # On an error (or a consumer that stops early) queued requests are dropped, not sent.
            pool.shutdown(wait=True, cancel_futures=True)

    def _call(self, fn: Callable[[Any], Any], item: Any) -> Any:
        import openai

        try:
            return fn(item)
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            reason = str(exc.__cause__ or exc).strip().splitlines()[0]
            raise SllmError(f"cannot reach OpenAI-compatible server at {self.shown_url}: {reason}") from None
        except openai.NotFoundError as exc:
            raise SllmError(
                f"model '{self.model_name}' not found at {self.shown_url} (404: {_message(exc)}); "
                "check the model name and that the URL ends in /v1"
            ) from None
        except openai.APIStatusError as exc:
            raise SllmError(f"server {self.shown_url} answered {exc.status_code}: {_message(exc)}") from None

    # -- generation ----------------------------------------------------------------------------
    def _iter_generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, GenerationResult]]:
        if any(request.config.strategy == "beam" for request in requests):
            raise NotSupportedError("beam search is not supported by the openai backend")
        return self._concurrent(requests, self._generate_one)

    def _generate_one(self, request: GenerationRequest) -> GenerationResult:
        kwargs = _sampling_kwargs(request.config)
        use_chat = request.messages is not None or self.options.api == "chat"
        if use_chat and self.options.api != "completions":
            messages = request.message_dicts() or [{"role": "user", "content": request.prompt or ""}]
            response = self.client.chat.completions.create(model=self.model_name, messages=messages, **kwargs)
            choice = _first_choice(response, self.shown_url)
            text = choice.message.content or ""
            logprobs = choice.logprobs.content if choice.logprobs else None
        else:
            prompt = request.prompt if request.prompt is not None else _flatten(request.message_dicts())
            response = self.client.completions.create(model=self.model_name, prompt=prompt, **kwargs)
            choice = _first_choice(response, self.shown_url)
            text = choice.text or ""
            logprobs = choice.logprobs.tokens if choice.logprobs else None
        # Some servers (llama.cpp, older vLLM) return the matched stop string with the text.
        text, _ = truncate_at_stop(text, request.config.stop)
        usage = response.usage.completion_tokens if response.usage else None
        n_tokens = usage if usage is not None else len(logprobs or ())
        reason = "length" if choice.finish_reason == "length" else "stop"
        read = int(response.usage.prompt_tokens or 0) if response.usage else 0
        text = finished_text(text, reason)  # for servers that do not hold back a cut character
        return GenerationResult(text=text, n_tokens=int(n_tokens), finish_reason=reason, prompt_tokens=read)

    # -- scoring -------------------------------------------------------------------------------
    def _iter_loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest]
    ) -> Iterator[tuple[int, LoglikelihoodResult]]:
        def score(request: LoglikelihoodRequest) -> LoglikelihoodResult:
            total, greedy, n = self._prompt_logprobs(request.context, request.continuation)
            return LoglikelihoodResult(logprob=total, is_greedy=greedy, n_tokens=n)

        return self._concurrent(requests, score)

    def _iter_loglikelihood_rolling(
        self, requests: Sequence[RollingRequest]
    ) -> Iterator[tuple[int, RollingResult]]:
        def score(request: RollingRequest) -> RollingResult:
            total, _, n = self._prompt_logprobs("", request.text)
            return RollingResult(logprob=total, n_tokens=n)

        return self._concurrent(requests, score)

    def _prompt_logprobs(self, context: str, continuation: str) -> tuple[float, bool, int]:
        """Sum the echoed logprobs of the prompt tokens that reach past the context's end."""
        prompt = context + continuation
        choice = self._echo(prompt)
        logprobs, text = choice.logprobs, choice.text or ""
        if logprobs is None or not logprobs.tokens or not logprobs.token_logprobs or not logprobs.text_offset:
            raise NotSupportedError(NO_LOGPROBS)
        tokens, offsets = logprobs.tokens, logprobs.text_offset
        # vLLM decodes a BOS token ("<s>") into the offsets but not into the echoed text.
        shift = offsets[-1] + len(tokens[-1]) - len(text)
        # A server that ignores echo returns logprobs of generated tokens only; scoring those
        # would silently give every choice the same score.
        if not text.startswith(prompt) or shift < 0:
            raise NotSupportedError(NO_LOGPROBS)
        start, end = len(context) + shift, len(prompt) + shift
        tops = logprobs.top_logprobs or [None] * len(tokens)
        total, greedy, n = 0.0, True, 0
        for token, value, offset, top in zip(tokens, logprobs.token_logprobs, offsets, tops):
            # Past `end` is the token generated when max_tokens had to be 1; a token straddling
            # the context's end belongs to the continuation, which it helps to tell apart.
            if offset >= end or (offset < start and offset + len(token) <= start):
                continue
            n += 1
            if value is None:  # the first prompt token has no left context to be scored on
                continue
            total += value
            if top:
                greedy &= max(top, key=top.get) == token
        if continuation and n == 0:
            raise NotSupportedError(NO_LOGPROBS)
        return total, greedy, n

    def _echo(self, prompt: str) -> Any:
        """Request the prompt echoed with its logprobs, generating nothing if the server allows."""
        import openai

        # temperature stays at its default 1: some servers scale the returned logprobs by it.
        kwargs: dict[str, Any] = {"model": self.model_name, "prompt": prompt, "echo": True, "logprobs": 1}
        try:
            response = self.client.completions.create(max_tokens=self._score_max_tokens, **kwargs)
        except (openai.BadRequestError, openai.UnprocessableEntityError):
            if self._score_max_tokens > 0:
                raise
            # Some servers reject max_tokens=0; the one token they then generate is ignored.
            self._score_max_tokens = 1
            response = self.client.completions.create(max_tokens=1, **kwargs)
        return _first_choice(response, self.shown_url)


def split_userinfo(url: str) -> tuple[str, str | None]:
    """The URL without userinfo, and the key it held: the password, or the whole userinfo."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, colon, password = userinfo.partition(":")
    key = urllib.parse.unquote(password if colon and password else user)
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), key or None


def _sampling_kwargs(config: GenerationConfig) -> dict[str, Any]:
    """Greedy is temperature 0; top_k and repetition_penalty are vLLM/Ollama extensions."""
    sampling = config.strategy == "sample"
    kwargs: dict[str, Any] = {
        "max_tokens": config.max_new_tokens,
        "temperature": config.temperature if sampling else 0.0,
    }
    extra: dict[str, Any] = {}
    if sampling:
        kwargs["top_p"] = config.top_p
        if config.top_k > 0:
            extra["top_k"] = config.top_k
    if config.repetition_penalty != 1.0:
        extra["repetition_penalty"] = config.repetition_penalty
    if config.ignore_eos:
        extra["ignore_eos"] = True
    if config.seed is not None:
        kwargs["seed"] = config.seed
    if config.stop:
        kwargs["stop"] = list(config.stop)
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _flatten(messages: list[dict[str, str]]) -> str:
    """A chat as plain text, for `api=completions` servers that have no chat endpoint."""
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"


def _first_choice(response: Any, base_url: str) -> Any:
    """The one choice we asked for; an empty list is a server bug worth naming."""
    if not getattr(response, "choices", None):
        raise SllmError(f"server {base_url} answered without any choices")
    return response.choices[0]


def _message(exc: Any) -> str:
    """The server's own error message, first line only."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        detail = error.get("message") if isinstance(error, dict) else body.get("message")
        if detail:
            return str(detail).splitlines()[0]
    return str(exc).splitlines()[0]
