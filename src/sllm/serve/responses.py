"""OpenAI response bodies and server-sent-event chunks, built from finished jobs."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sllm.serve.jobs import Finished, TokenLogprob


def new_id(prefix: str) -> str:
    """A response id as OpenAI shapes them."""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def reason(finished: Finished) -> str:
    """OpenAI's finish reasons are stop and length; an aborted row is never seen by its client."""
    return "length" if finished.finish_reason == "length" else "stop"


def usage(results: list[Finished], prompt_tokens: int | None = None) -> dict[str, int]:
    """Token usage of a request: its prompt(s) once per prompt, every choice's completion."""
    prompt = prompt_tokens if prompt_tokens is not None else sum(r.prompt_tokens for r in results)
    completion = sum(r.completion_tokens for r in results)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_logprobs(entries: list[TokenLogprob] | None) -> dict[str, Any] | None:
    """The chat API's logprobs: one object per generated token with its top alternatives."""
    if entries is None:
        return None

    def item(token: str, logprob: float) -> dict[str, Any]:
        return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}

    return {
        "content": [
            {**item(e.token, e.logprob or 0.0), "top_logprobs": [item(t, v) for t, v in e.top.items()]}
            for e in entries
        ]
    }


def completion_logprobs(entries: list[TokenLogprob] | None, shift: int = 0) -> dict[str, Any] | None:
    """The completions API's logprobs: parallel lists of tokens, log-probs, top-N and offsets."""
    if entries is None:
        return None
    return {
        "tokens": [e.token for e in entries],
        "token_logprobs": [e.logprob for e in entries],
        "top_logprobs": [e.top or None for e in entries],
        "text_offset": [e.offset + shift for e in entries],
    }


def chat_body(rid: str, model: str, results: list[Finished]) -> dict[str, Any]:
    """A whole chat.completion."""
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": r.text},
                "logprobs": chat_logprobs(r.logprobs),
                "finish_reason": reason(r),
            }
            for i, r in enumerate(results)
        ],
        "usage": usage(results, results[0].prompt_tokens if results else 0),
    }


def chat_chunk(rid: str, model: str, index: int, delta: dict[str, Any], finish: str | None = None) -> str:
    """One chat.completion.chunk as an SSE event."""
    body = {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return sse(body)


def completion_choice(index: int, text: str, logprobs: dict[str, Any] | None, finish: str | None) -> dict:
    """One choice of a text_completion."""
    return {"index": index, "text": text, "logprobs": logprobs, "finish_reason": finish}


def completion_body(rid: str, model: str, choices: list[dict], used: dict[str, int]) -> dict[str, Any]:
    """A whole text_completion."""
    return {
        "id": rid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": used,
    }


def completion_chunk(rid: str, model: str, index: int, text: str, finish: str | None = None) -> str:
    """One text_completion chunk as an SSE event."""
    return sse(
        completion_body(rid, model, [completion_choice(index, text, None, finish)], {}) | {"usage": None}
    )


def usage_chunk(rid: str, model: str, kind: str, used: dict[str, int]) -> str:
    """The last chunk when `stream_options.include_usage` is set: no choices, the usage."""
    return sse({"id": rid, "object": kind, "created": int(time.time()), "model": model, "choices": [],
                "usage": used})  # fmt: skip


def error_body(message: str, kind: str, param: str | None = None, code: int | None = None) -> dict:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def sse(body: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


DONE = "data: [DONE]\n\n"
