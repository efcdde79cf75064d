"""Load test of `sllm serve` on loopback: N concurrent clients x M streamed requests per setting.

    python benchmarks/serve.py [--model default] [--clients 8] [--requests 3] [--max-tokens 64]
                               [--settings one-at-a-time,batched,openvino] [--markdown] [--json FILE]

Each setting starts its own server process (127.0.0.1, a free port, no key), sends one warm-up
request, then lets `--clients` threads each send `--requests` streamed completions of exactly
`--max-tokens` tokens (ignore_eos, greedy) and records, per request, the time to the first
streamed token and to the end. It reports p50 / p95 of both and the aggregate throughput
(generated tokens / wall seconds of the whole load). Each setting's throughput over the
one-at-a-time setting's, measured in the same run, is the figure docs/performance.md quotes:
`batched` is the transformers engine's dynamic batching, `openvino` the `ov:` backend's
continuous batching (OpenVINO GenAI).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from sllm.serve.process import ServeProcess

SETTINGS = {  # name: (model spec, or None for --model; server options)
    "one-at-a-time": (None, ["--max-batch", "1", "--batch-window-ms", "0"]),
    "batched": (None, ["--max-batch", "8", "--batch-window-ms", "20"]),
    # OpenVINO GenAI's continuous batching (needs the extra `openvino`; exports once)
    "openvino": ("ov:default", ["--max-batch", "8"]),
}
PROMPTS = [
    "Write a short story about a robot who learns to paint.",
    "Explain how a refrigerator works to a child.",
    "List some tips for learning a new language.",
    "Describe the water cycle in simple terms.",
    "서울의 유명한 관광지를 소개해 주세요.",
    "What are the benefits of regular exercise?",
    "Summarise the plot of a detective novel you invent.",
    "How do bees make honey?",
]


def one_request(url: str, prompt: str, max_tokens: int) -> dict[str, float]:
    """Stream one completion; seconds to the first token and to the end, tokens generated."""
    body = {
        "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True, "stream": True,
        "stream_options": {"include_usage": True},
    }  # fmt: skip
    start = time.perf_counter()
    first = None
    tokens = 0
    with httpx.stream("POST", url + "/completions", json=body, timeout=900) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if first is None and chunk["choices"] and chunk["choices"][0]["text"]:
                first = time.perf_counter() - start
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    return {"ttft": first or 0.0, "latency": time.perf_counter() - start, "tokens": tokens}


def load(url: str, clients: int, requests: int, max_tokens: int) -> dict[str, Any]:
    """Run the load; summary statistics."""
    results: list[dict[str, float]] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        for r in range(requests):
            result = one_request(url, PROMPTS[(index + r) % len(PROMPTS)], max_tokens)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start

    def pct(key: str, q: float) -> float:
        values = sorted(r[key] for r in results)
        return round(values[min(len(values) - 1, int(q * len(values)))], 2)

    tokens = sum(r["tokens"] for r in results)
    return {
        "requests": len(results), "tokens": int(tokens), "wall_s": round(wall, 1),
        "throughput_tok_s": round(tokens / wall, 1),
        "latency_p50_s": round(statistics.median(r["latency"] for r in results), 2),
        "latency_p95_s": pct("latency", 0.95),
        "ttft_p50_s": round(statistics.median(r["ttft"] for r in results), 2),
        "ttft_p95_s": pct("ttft", 0.95),
    }  # fmt: skip


def main() -> None:
    """Each setting in turn on its own server; print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="default")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"of {', '.join(SETTINGS)}")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    rows = []
    for name in args.settings.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            model, options = SETTINGS[name]
            command = ["--model", model or args.model, "--no-auth", *options]
            server = ServeProcess(command, log=Path(tmp) / "log")
            server.start()
            try:
                one_request(server.url, "Hello", 4)  # warm-up
                summary = load(server.url, args.clients, args.requests, args.max_tokens)
            finally:
                server.stop()
        rows.append({"setting": name, "clients": args.clients, **summary})
        print(f"{name}: {summary}", file=sys.stderr)
    by_name = {r["setting"]: r for r in rows}
    if "one-at-a-time" in by_name:  # every setting against one-at-a-time serving, same run
        for row in rows:
            ratio = row["throughput_tok_s"] / by_name["one-at-a-time"]["throughput_tok_s"]
            row["throughput_ratio"] = round(ratio, 2)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    if args.markdown:
        print("| setting | clients | requests | tok/s | ratio | latency p50 / p95 (s) | TTFT p50 / p95 (s) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['setting']} | {r['clients']} | {r['requests']} | {r['throughput_tok_s']} "
                  f"| {r.get('throughput_ratio', '')} | {r['latency_p50_s']} / {r['latency_p95_s']} "
                  f"| {r['ttft_p50_s']} / {r['ttft_p95_s']} |")  # fmt: skip
    else:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
