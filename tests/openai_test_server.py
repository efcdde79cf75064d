"""A tiny OpenAI-compatible HTTP server for tests: scripted replies, logprobs, failures on demand.

Replies are deterministic transformations of the prompt so tests can check exact round trips:
completions answer "echo: <prompt>", chat answers "chat: <last user message>". With echo=True and
logprobs, each whitespace-separated piece of the prompt is one token with logprob -0.5 * (its
position + 1) (the first token's logprob is None, as real servers report it).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedOpenAIServer:
    """Start on 127.0.0.1 with a free port; stop() shuts it down."""

    def __init__(self, fail_first: int = 0, prompt_logprobs: bool = True, delay_s: float = 0.0) -> None:
        self.fail_first = fail_first
        self.prompt_logprobs = prompt_logprobs
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append({"path": self.path, "body": body})
                    number = len(server.requests)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay_s)
                    if number <= server.fail_first:
                        self._send(503, {"error": {"message": "overloaded, try again"}})
                    elif self.path.endswith("/chat/completions"):
                        self._send(200, _chat(body))
                    elif self.path.endswith("/completions"):
                        self._send(200, _completion(body, server.prompt_logprobs))
                    else:
                        self._send(404, {"error": {"message": f"no route {self.path}"}})
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _limit(text: str, body: dict[str, Any]) -> tuple[str, str]:
    """Apply max_tokens (words) and stop, reporting the finish reason like a real server."""
    words = text.split(" ")
    reason = "stop"
    if len(words) > body.get("max_tokens", 10**6):
        words, reason = words[: body["max_tokens"]], "length"
    out = " ".join(words)
    for stop in body.get("stop") or []:
        if stop in out:
            out, reason = out[: out.index(stop)], "stop"
    return out, reason


def _usage(n: int) -> dict[str, int]:
    return {"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1}


def _chat(body: dict[str, Any]) -> dict[str, Any]:
    last = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    text, reason = _limit(f"chat: {last}", body)
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [{"index": 0, "finish_reason": reason, "message": {"role": "assistant", "content": text}}],
        "usage": _usage(len(text.split())),
    }


def _completion(body: dict[str, Any], prompt_logprobs: bool) -> dict[str, Any]:
    prompt = body["prompt"]
    if body.get("echo") and body.get("logprobs") is not None:
        logprobs = _echo_logprobs(prompt) if prompt_logprobs else None
        choice = {"index": 0, "text": prompt, "finish_reason": "length", "logprobs": logprobs}
        return {
            "id": "x",
            "object": "text_completion",
            "created": 0,
            "model": body["model"],
            "choices": [choice],
            "usage": _usage(0),
        }
    text, reason = _limit(f"echo: {prompt}", body)
    return {
        "id": "x",
        "object": "text_completion",
        "created": 0,
        "model": body["model"],
        "choices": [{"index": 0, "text": text, "finish_reason": reason, "logprobs": None}],
        "usage": _usage(len(text.split())),
    }


def _echo_logprobs(prompt: str) -> dict[str, Any]:
    """Tokens are ' '-separated pieces (each keeps its leading space); token i has -0.5*(i+1)."""
    tokens, offsets, position = [], [], 0
    for i, piece in enumerate(prompt.split(" ")):
        token = piece if i == 0 else " " + piece
        tokens.append(token)
        offsets.append(position)
        position += len(token)
    values = [None] + [-0.5 * (i + 1) for i in range(1, len(tokens))]
    # The top alternative is the token itself for even positions, "X" for odd ones.
    tops = [None] + [{(t if i % 2 == 0 else "X"): 0.0} for i, t in enumerate(tokens) if i > 0]
    return {"tokens": tokens, "token_logprobs": values, "text_offset": offsets, "top_logprobs": tops}
