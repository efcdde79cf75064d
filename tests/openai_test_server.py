"""A tiny OpenAI-compatible HTTP server for tests: scripted replies, logprobs, failures on demand.

Replies are deterministic transformations of the prompt so tests can check exact round trips:
completions answer "echo: <prompt>", chat answers "chat: <last user message>", one token per
space-separated word. With echo=True and logprobs, each space-separated piece of the prompt is
one token (keeping its leading space) with logprob -0.5 * (its position + 1); the first token's
logprob is None, as real servers report it.

Switches (plain attributes, settable between requests):
  fail_first        answer HTTP 503 to the first N requests
  prompt_logprobs   "full" | "none" (logprobs: null) | "generated_only" (llama.cpp-like: echo
                    text but logprobs of the generated token only)
  bos               a BOS token text prepended to the echoed tokens, as vLLM does for Llama
  reject_zero_max   answer 400 to max_tokens=0; with max_tokens=1 append a generated " gen"
  include_stop      leave the matched stop string in the text, as some servers do
  usage             include `usage` (otherwise generation replies carry token logprobs)
  delay_s           sleep this long in every request (to overlap concurrent requests)
  chat_reply        answer every chat request with this text instead of "chat: ..."
Requests are recorded (path, body, lower-cased headers) along with the most requests ever in flight at once.
Models named "missing" answer 404, like vLLM for an unknown model.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GENERATED = " gen"


class ScriptedOpenAIServer:
    """Serve on 127.0.0.1 (a free port, or `port`) in a background thread; stop() shuts it down."""

    def __init__(self, port: int = 0) -> None:
        self.fail_first = 0
        self.prompt_logprobs = "full"
        self.bos: str | None = None
        self.reject_zero_max = False
        self.include_stop = False
        self.usage = True
        self.delay_s = 0.0
        self.chat_reply: str | None = None
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def reply(self, path: str, body: dict[str, Any], number: int) -> tuple[int, dict[str, Any]]:
        """The scripted (status, JSON payload) for one request."""
        if number <= self.fail_first:
            return 503, {"error": {"message": "overloaded, try again\nsecond line", "code": 503}}
        if body.get("model") == "missing":
            return 404, {"error": {"message": f"The model `{body['model']}` does not exist.", "code": 404}}
        if path.endswith("/chat/completions"):
            return 200, self._chat(body)
        if path.endswith("/completions"):
            if body.get("echo") and body.get("max_tokens") == 0 and self.reject_zero_max:
                return 400, {"error": {"message": "max_tokens must be at least 1, got 0.", "code": 400}}
            return 200, self._completion(body)
        return 404, {"error": {"message": f"no route {path}"}}

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        last = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        reply = f"chat: {last}" if self.chat_reply is None else self.chat_reply
        text, reason, n = self._limit(reply, body)
        choice: dict[str, Any] = {
            "index": 0,
            "finish_reason": reason,
            "message": {"role": "assistant", "content": text},
            "logprobs": None,
        }
        if not self.usage:
            entries = [{"token": w, "logprob": -1.0, "top_logprobs": []} for w in text.split(" ")[:n]]
            choice["logprobs"] = {"content": entries}
        return self._wrap("chat.completion", body, choice, n)

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["prompt"]
        if body.get("echo") and body.get("logprobs") is not None:
            generated = GENERATED if body.get("max_tokens") else ""
            choice = {"index": 0, "text": prompt + generated, "finish_reason": "length"}
            if self.prompt_logprobs == "full":
                choice["logprobs"] = _echo_logprobs(prompt, self.bos, generated)
            elif self.prompt_logprobs == "generated_only":
                gen = {GENERATED: -9.0}
                choice["logprobs"] = {
                    "tokens": [GENERATED],
                    "token_logprobs": [-9.0],
                    "text_offset": [len(prompt)],
                    "top_logprobs": [gen],
                }
                choice["text"] = prompt + GENERATED
            else:
                choice["logprobs"] = None
            return self._wrap("text_completion", body, choice, len(generated.split()))
        text, reason, n = self._limit(f"echo: {prompt}", body)
        choice = {"index": 0, "text": text, "finish_reason": reason, "logprobs": None}
        if not self.usage:
            words = text.split(" ")[:n]
            choice["logprobs"] = {"tokens": words, "token_logprobs": [-1.0] * len(words)}
        return self._wrap("text_completion", body, choice, n)

    def _limit(self, text: str, body: dict[str, Any]) -> tuple[str, str, int]:
        """Apply max_tokens (words) and stop, returning text, finish reason and token count."""
        words = text.split(" ")
        reason = "stop"
        if len(words) > body.get("max_tokens", 10**6):
            words, reason = words[: body["max_tokens"]], "length"
        out = " ".join(words)
        for stop in body.get("stop") or []:
            if stop in out:
                cut = out.index(stop) + (len(stop) if self.include_stop else 0)
                out, reason = out[:cut], "stop"
        return out, reason, len(out.split())

    def _wrap(self, kind: str, body: dict[str, Any], choice: dict[str, Any], n: int) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": "cmpl-1",
            "object": kind,
            "created": 0,
            "model": body["model"],
            "choices": [choice],
        }
        if self.usage:
            payload["usage"] = {"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1}
        return payload

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append(
                        {
                            "path": self.path,
                            "body": body,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                        }
                    )
                    number = len(server.requests)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay_s)
                    status, payload = server.reply(self.path, body, number)
                    data = json.dumps(payload).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with server._lock:
                        server.in_flight -= 1

        return Handler


def _echo_logprobs(prompt: str, bos: str | None, generated: str) -> dict[str, Any]:
    """Prompt tokens are ' '-separated pieces; piece i has -0.5*(i+1), the very first token None.

    The top alternative is the token itself at even piece positions and "X" at odd ones.
    """
    pieces = [p if i == 0 else " " + p for i, p in enumerate(prompt.split(" "))]
    values: list[float | None] = [-0.5 * (i + 1) for i in range(len(pieces))]
    tops: list[dict[str, float] | None] = [{(t if i % 2 == 0 else "X"): 0.0} for i, t in enumerate(pieces)]
    if bos is None:
        values[0], tops[0] = None, None
    else:
        pieces, values, tops = [bos, *pieces], [None, *values], [None, *tops]
    if generated:
        pieces, values, tops = [*pieces, generated], [*values, -9.0], [*tops, {generated: -9.0}]
    offsets, position = [], 0
    for token in pieces:
        offsets.append(position)
        position += len(token)
    return {"tokens": pieces, "token_logprobs": values, "text_offset": offsets, "top_logprobs": tops}
