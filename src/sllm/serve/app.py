"""The FastAPI routes: OpenAI's /v1 endpoints behind an API key, and /health, /ready, /metrics.

Errors are OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`) with the status a
client can act on: 400 for a body that is not JSON, misses a field or asks for too many tokens
(naming the field or the limit), 401 for a missing or wrong key, 429 with Retry-After when the
queue is full, 504 when the request's time ran out. Probes and metrics need no key (as vLLM's).
"""

from __future__ import annotations

import asyncio
import hmac
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from sllm.errors import SllmError
from sllm.generation.config import GenerationConfig
from sllm.serve import responses as r
from sllm.serve.batcher import QueueFull
from sllm.serve.holder import ModelHolder, Served
from sllm.serve.jobs import Delta, Failed, Finished, Job
from sllm.serve.protocol import ChatRequest, CompletionRequest, RequestError

OPEN_PATHS = ("/health", "/ready", "/metrics")
SCORING = GenerationConfig(max_new_tokens=1)  # a scoring job generates nothing; its config is unused


@dataclass(frozen=True)
class ServeSettings:
    """What the HTTP layer enforces."""

    model_name: str
    api_key: str | None = None  # None: no auth (only with an explicit --no-auth)
    timeout: float = 300.0
    #: called with a record of every answered request (drift monitor, request log); see `_observer`
    observers: tuple[Callable[[dict[str, Any]], None], ...] = ()


def create_app(holder: ModelHolder, settings: ServeSettings) -> FastAPI:
    """The server's routes around a loaded model."""
    app = FastAPI(title="sllm serve", docs_url=None, redoc_url=None)
    metrics = holder.metrics

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        path = request.url.path
        if settings.api_key is not None and path not in OPEN_PATHS:
            refusal = auth_refusal(request.headers.get("authorization"), settings.api_key)
            if refusal:
                metrics.http.labels(path, "401").inc()
                return error_response(RequestError(401, refusal))
        response = await call_next(request)
        response.headers["x-sllm-model"] = settings.model_name
        # the version that answered, even if a newer one took over while it worked
        version = getattr(request.state, "version", None) or holder.current.version
        response.headers["x-sllm-model-version"] = version
        route = request.scope.get("route")
        metrics.http.labels(getattr(route, "path", "unmatched"), str(response.status_code)).inc()
        return response

    @app.exception_handler(RequestError)
    async def refused(_: Request, exc: RequestError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(RequestError(400, *_validation_message(exc)))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(RequestError(exc.status_code, str(exc.detail)))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        closed = holder.current.batcher.closed
        return JSONResponse({"ready": not closed}, status_code=503 if closed else 200)

    @app.get("/metrics")
    async def scrape() -> Response:
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        served = holder.current
        card = {
            "id": settings.model_name, "object": "model", "created": int(time.time()), "owned_by": "sllm",
            "root": served.spec, "version": served.version, "fingerprint": served.fingerprint,
            "max_model_len": served.engine.max_length,
        }  # fmt: skip
        return {"object": "list", "data": [card]}

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest, request: Request) -> Any:
        body.check_supported()
        _check_model(body.model, settings.model_name)
        served = holder.current
        request.state.version = served.version
        try:
            prompt = served.engine.render_chat(body.message_dicts())
        except SllmError as exc:
            raise RequestError(400, str(exc), "messages") from None
        ids = served.engine.encode(prompt)
        config = body.generation_config(_room(served, len(ids), body.wanted_tokens(), "max_tokens"))
        if body.stream and body.top() is not None:
            raise RequestError(400, "logprobs with stream are not supported; ask without stream", "logprobs")
        jobs = _submit(served, settings, [ids] * body.n, config, body.top(), body.stream)
        rid = r.new_id("chatcmpl")
        seen = _observer(settings, served, "chat", _user_text(body), body.message_dicts())
        if body.stream:
            include_usage = bool((body.stream_options or {}).get("include_usage"))
            events = _chat_events(rid, settings.model_name, jobs, include_usage, seen)
            return _stream(jobs, request, events)
        results = await _results(jobs, request)
        seen(results)
        return r.chat_body(rid, settings.model_name, results)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request) -> Any:
        body.check_supported()
        _check_model(body.model, settings.model_name)
        served = holder.current
        request.state.version = served.version
        prompts = [served.engine.encode(p) if isinstance(p, str) else p for p in body.prompts()]
        for ids in prompts:
            _check_ids(ids, served)
        rid = r.new_id("cmpl")
        if body.stream:
            if body.echo or body.logprobs is not None:
                raise RequestError(400, "echo and logprobs need stream=false", "stream")
            config = body.generation_config(
                _room(served, max(map(len, prompts)), body.max_tokens, "max_tokens")
            )
            jobs = _submit(served, settings, [p for p in prompts for _ in range(body.n)], config, None, True)
            include_usage = bool((body.stream_options or {}).get("include_usage"))
            seen = _observer(settings, served, "completions", _prompt_text(body, served), None)
            events = _completion_events(rid, settings.model_name, jobs, include_usage, seen)
            return _stream(jobs, request, events)
        seen = _observer(settings, served, "completions", _prompt_text(body, served), None)  # clock starts
        reply = await _complete(served, settings, body, prompts, request, rid)
        if not body.echo:  # scoring requests (echo) are evaluation traffic, not live prompts
            seen([Finished(c["text"], 0, 0, "stop") for c in reply["choices"]], reply["usage"])
        return reply

    return app


async def _complete(served: Served, settings: ServeSettings, body: CompletionRequest,
                    prompts: list[list[int]], request: Request, rid: str) -> dict[str, Any]:  # fmt: skip
    """A non-streamed completion: optional echo (with prompt log-probs), then generation."""
    echoed: list[Finished | None] = [None] * len(prompts)
    if body.echo:
        scored = _submit(served, settings, prompts, None, body.logprobs,
                         False, kind="score")  # fmt: skip
        echoed = list(await _results(scored, request))
    generated: list[Finished | None] = [None] * (len(prompts) * body.n)
    if body.max_tokens > 0:
        config = body.generation_config(_room(served, max(map(len, prompts)), body.max_tokens, "max_tokens"))
        jobs = _submit(
            served, settings, [p for p in prompts for _ in range(body.n)], config, body.logprobs, False
        )
        generated = list(await _results(jobs, request))
    choices, completion_tokens = [], 0
    for i, result in enumerate(generated):
        head = echoed[i // body.n]
        text = (head.text if head else "") + (result.text if result else "")
        entries = None
        if body.logprobs is not None:
            shift = len(head.text) if head else 0
            entries = r.completion_logprobs((head.logprobs if head else []) or [])
            tail = r.completion_logprobs(result.logprobs if result else [], shift) or {}
            for key in entries:
                entries[key] += tail.get(key, [])
        finish = r.reason(result) if result else "length"
        completion_tokens += result.completion_tokens if result else 0
        choices.append(r.completion_choice(i, text, entries, finish))
    prompt_tokens = sum(len(p) for p in prompts)
    used = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}  # fmt: skip
    return r.completion_body(rid, settings.model_name, choices, used)


def _submit(served: Served, settings: ServeSettings, prompts: list[list[int]], config: Any,
            top: int | None, streams: bool, kind: str = "generate") -> list[Job]:  # fmt: skip
    """Queue one job per prompt (all or none: a full queue refuses the whole request)."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    deadline = time.monotonic() + settings.timeout
    jobs = [
        Job(ids, config or SCORING, kind, i, top, deadline, loop, events, streams=streams)
        for i, ids in enumerate(prompts)
    ]  # fmt: skip
    submitted = []
    try:
        for job in jobs:
            served.batcher.submit(job)
            submitted.append(job)
    except QueueFull as exc:
        for job in submitted:
            job.cancelled.set()
        raise RequestError(429, f"the server is busy ({exc}); retry later") from None
    return jobs


async def _results(jobs: list[Job], request: Request) -> list[Finished]:
    """Wait for every job's Finished event; a client that disconnects cancels them."""
    results: list[Finished | None] = [None] * len(jobs)
    events = jobs[0].events
    assert events is not None
    try:
        while any(x is None for x in results):
            try:
                index, event = await asyncio.wait_for(events.get(), timeout=0.5)
            except asyncio.TimeoutError:
                if await request.is_disconnected():
                    raise asyncio.CancelledError from None
                continue
            if isinstance(event, Failed):
                raise RequestError(event.status, event.message)
            if isinstance(event, Finished):
                results[index] = event
    finally:
        for job in jobs:
            if results[job.index] is None:
                job.cancelled.set()
    return results  # type: ignore[return-value]


def _stream(jobs: list[Job], request: Request, chunks: AsyncIterator[str]) -> StreamingResponse:
    """An SSE response; when the client goes away the generator is closed and its jobs stop."""

    async def guarded() -> AsyncIterator[str]:
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            for job in jobs:
                job.cancelled.set()  # a finished job ignores it; an unfinished one frees its row

    return StreamingResponse(guarded(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def _events(jobs: list[Job]) -> AsyncIterator[tuple[int, Delta | Finished | Failed]]:
    """Every job's events until each has finished or failed."""
    open_jobs = len(jobs)
    events = jobs[0].events
    assert events is not None
    while open_jobs:
        index, event = await events.get()
        if isinstance(event, Finished | Failed):
            open_jobs -= 1
        yield index, event


async def _chat_events(
    rid: str, model: str, jobs: list[Job], include_usage: bool, seen: Callable[..., None]
) -> AsyncIterator[str]:
    for job in jobs:
        yield r.chat_chunk(rid, model, job.index, {"role": "assistant", "content": ""})
    done: list[Finished] = []
    async for index, event in _events(jobs):
        if isinstance(event, Delta):
            yield r.chat_chunk(rid, model, index, {"content": event.text})
        elif isinstance(event, Finished):
            done.append(event)
            yield r.chat_chunk(rid, model, index, {}, r.reason(event))
        else:
            yield r.sse(r.error_body(event.message, "server_error", code=event.status))
    if include_usage:
        yield r.usage_chunk(
            rid, model, "chat.completion.chunk", r.usage(done, done[0].prompt_tokens if done else 0)
        )
    seen(done)
    yield r.DONE


async def _completion_events(
    rid: str, model: str, jobs: list[Job], include_usage: bool, seen: Callable[..., None]
) -> AsyncIterator[str]:
    done: list[Finished] = []
    async for index, event in _events(jobs):
        if isinstance(event, Delta):
            yield r.completion_chunk(rid, model, index, event.text)
        elif isinstance(event, Finished):
            done.append(event)
            yield r.completion_chunk(rid, model, index, "", r.reason(event))
        else:
            yield r.sse(r.error_body(event.message, "server_error", code=event.status))
    if include_usage:
        yield r.usage_chunk(rid, model, "text_completion", r.usage(done))
    seen(done)
    yield r.DONE


def _observer(settings: ServeSettings, served: Served, endpoint: str, prompt: str,
              messages: list[dict[str, str]] | None) -> Callable[..., None]:  # fmt: skip
    """A callback that hands the finished request's record to every observer.

    The record: time, endpoint, model, version, prompt (the user's text), messages (chat),
    replies, prompt_tokens, completion_tokens, latency_s. An observer that fails is reported on
    stderr and never fails the request."""
    started = time.monotonic()

    def seen(results: list[Finished], used: dict[str, int] | None = None) -> None:
        if not settings.observers:
            return
        used = used or r.usage(results, results[0].prompt_tokens if results else 0)
        record = {
            "time": time.time(), "endpoint": endpoint, "model": settings.model_name,
            "version": served.version, "prompt": prompt, "messages": messages,
            "replies": [x.text for x in results], "prompt_tokens": used["prompt_tokens"],
            "completion_tokens": used["completion_tokens"], "latency_s": round(time.monotonic() - started, 3),
        }  # fmt: skip
        for observer in settings.observers:
            try:
                observer(record)
            except Exception as exc:  # noqa: BLE001 - monitoring must never fail a request
                print(f"warning: request observer failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    return seen


def _user_text(body: ChatRequest) -> str:
    """What the user wrote: the user messages' text, joined."""
    return "\n".join(m["content"] for m in body.message_dicts() if m["role"] == "user")


def _prompt_text(body: CompletionRequest, served: Served) -> str:
    """The completion's prompt(s) as text (token-id prompts decoded)."""
    return "\n".join(p if isinstance(p, str) else served.engine.decode(p) for p in body.prompts())


def _room(served: Served, prompt_tokens: int, wanted: int | None, param: str) -> int:
    """New tokens a request may have: what it asked for, if prompt + that fits the window."""
    window, source = served.engine.max_length, served.engine.window_source
    left = window - prompt_tokens
    if wanted is None:
        if left < 1:
            raise RequestError(400, f"the prompt is {prompt_tokens:,} tokens; the model's context is "
                               f"{window:,} tokens ({source})", "messages")  # fmt: skip
        return left
    if prompt_tokens + wanted > window:
        raise RequestError(
            400,
            f"the prompt ({prompt_tokens:,} tokens) plus {param} ({wanted:,}) exceed the model's context "
            f"of {window:,} tokens ({source})",
            param,
        )
    return wanted


def _check_ids(ids: list[int], served: Served) -> None:
    """A prompt must have a token, fit the window, and use ids the vocabulary has."""
    if not ids:
        raise RequestError(400, "prompt is empty", "prompt")
    window = served.engine.max_length
    if len(ids) > window:
        raise RequestError(400, f"the prompt is {len(ids):,} tokens; the model's context is {window:,} "
                           f"tokens ({served.engine.window_source})", "prompt")  # fmt: skip
    vocabulary = len(served.engine.tokenizer)
    if any(not 0 <= i < vocabulary for i in ids):
        raise RequestError(400, f"prompt token ids must be in [0, {vocabulary})", "prompt")


def _check_model(asked: str, served: str) -> None:
    """A request for another model is a 404 (an empty name means the one served)."""
    if asked and asked != served:
        raise RequestError(404, f"model '{asked}' is not served here; this server serves '{served}'", "model")


def auth_refusal(header: str | None, key: str) -> str | None:
    """Why a request's Authorization header is refused, or None."""
    if not header:
        return "missing API key: send the header 'Authorization: Bearer KEY'"
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
        return "invalid API key"
    return None


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """One line naming the field at fault (FastAPI's default is a 422 with a list)."""
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return f"the request body is not valid JSON: {first.get('ctx', {}).get('error', first['msg'])}", None
    where = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = ".".join(where) or None
    return (f"{field}: {first['msg']}" if field else str(first["msg"])), field


def error_response(exc: RequestError) -> JSONResponse:
    """OpenAI's error body with the refusal's status (Retry-After on a 429)."""
    headers = {"Retry-After": "1"} if exc.status == 429 else None
    return JSONResponse(
        r.error_body(exc.message, exc.kind, exc.param, exc.status), exc.status, headers=headers
    )
