"""Prometheus metrics of the server, named as vLLM names its own.

vLLM's Grafana dashboard queries `vllm:e2e_request_latency_seconds_bucket{model_name=...}` and the
like; the serving metrics below carry exactly those names and the `model_name` label, so one
dashboard reads an `sllm serve` process and a `vllm serve` process alike (`deploy/` ships it).
What vLLM has no name for is ours, under `sllm_`: HTTP status counts, the served model's version
and the drift gauges. Process CPU and memory come from prometheus-client's own collectors.
Buckets are sized for CPUs, where a first token can take seconds, not milliseconds.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from sllm.serve.jobs import Finished, Job

TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5)
LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600)
TOKEN_BUCKETS = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)


class ServerMetrics:
    """Every metric of one server process, in its own registry (tests run several servers)."""

    def __init__(self, model_name: str) -> None:
        self.registry = CollectorRegistry()
        self.model_name = model_name
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        label = ["model_name"]

        def histogram(name: str, doc: str, buckets: tuple[float, ...]) -> Any:
            return Histogram(name, doc, label, buckets=buckets, registry=self.registry).labels(model_name)

        def gauge(name: str, doc: str) -> Any:
            return Gauge(name, doc, label, registry=self.registry).labels(model_name)

        self.running = gauge("vllm:num_requests_running", "Requests in the batch being decoded.")
        self.waiting = gauge("vllm:num_requests_waiting", "Requests queued for the next batch.")
        self.prompt_tokens = Counter(
            "vllm:prompt_tokens", "Prompt tokens processed.", label, registry=self.registry
        ).labels(model_name)
        self.generation_tokens = Counter(
            "vllm:generation_tokens", "Tokens generated.", label, registry=self.registry
        ).labels(model_name)
        self.success = Counter(
            "vllm:request_success", "Finished requests by finish reason.", [*label, "finished_reason"],
            registry=self.registry,
        )  # fmt: skip
        self.ttft = histogram("vllm:time_to_first_token_seconds", "Time to first token.", TTFT_BUCKETS)
        self.itl = histogram("vllm:inter_token_latency_seconds", "Time between two tokens.", ITL_BUCKETS)
        # the name older vLLM dashboards query for the same observations
        self.itl_old = histogram(
            "vllm:time_per_output_token_seconds", "Time between two tokens (older name).", ITL_BUCKETS
        )
        self.tpot = histogram(
            "vllm:request_time_per_output_token_seconds", "Mean time per output token of a request.",
            ITL_BUCKETS,
        )  # fmt: skip
        self.e2e = histogram(
            "vllm:e2e_request_latency_seconds", "Request latency, end to end.", LATENCY_BUCKETS
        )
        self.queue = histogram("vllm:request_queue_time_seconds", "Time spent queued.", LATENCY_BUCKETS)
        self.inference = histogram(
            "vllm:request_inference_time_seconds", "Time from batch start to finish.", LATENCY_BUCKETS
        )
        self.prefill = histogram(
            "vllm:request_prefill_time_seconds", "Time from batch start to first token.", LATENCY_BUCKETS
        )
        self.decode = histogram(
            "vllm:request_decode_time_seconds", "Time from first token to finish.", LATENCY_BUCKETS
        )
        self.prompt_len = histogram("vllm:request_prompt_tokens", "Prompt tokens per request.", TOKEN_BUCKETS)
        self.gen_len = histogram(
            "vllm:request_generation_tokens", "Generated tokens per request.", TOKEN_BUCKETS
        )
        self.max_tokens = histogram(
            "vllm:request_params_max_tokens", "max_tokens asked per request.", TOKEN_BUCKETS
        )
        self.batch = Histogram(
            "sllm_batch_size",
            "Requests per engine batch.",
            ["model_name"],
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        ).labels(model_name)
        self.http = Counter(
            "sllm_http_requests", "HTTP responses by route and status.", ["path", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.info = Gauge(
            "sllm_model_info", "The model being served (value 1; the version in labels).",
            ["model_name", "spec", "version", "fingerprint"], registry=self.registry,
        )  # fmt: skip
        self.drift = Gauge(
            "sllm_drift", "Live prompts against the reference profile, by measure.",
            ["model_name", "measure"],
            registry=self.registry,
        )  # fmt: skip

    def serving(self, spec: str, version: str, fingerprint: str) -> None:
        """Record which model version answers now (the previous one's series is dropped)."""
        self.info.clear()
        self.info.labels(self.model_name, spec, version, fingerprint).set(1)

    def queue_sizes(self, waiting: int, running: int) -> None:
        """The batcher's queue, after every change."""
        self.waiting.set(waiting)
        self.running.set(running)

    def started(self, job: Job) -> None:
        """A job left the queue for a batch."""
        job.started = time.monotonic()
        self.queue.observe(job.started - job.enqueued)

    def token(self, job: Job, now: float) -> None:
        """A job produced a token at `now`."""
        if job.first_token is None:
            job.first_token = now
            self.ttft.observe(now - job.enqueued)
        elif job.last_token is not None:
            self.itl.observe(now - job.last_token)
            self.itl_old.observe(now - job.last_token)
        job.last_token = now

    def finished(self, job: Job, result: Finished) -> None:
        """A job ended; count its tokens and latencies."""
        now = time.monotonic()
        self.success.labels(self.model_name, result.finish_reason).inc()
        self.prompt_tokens.inc(result.prompt_tokens)
        self.generation_tokens.inc(result.completion_tokens)
        self.prompt_len.observe(result.prompt_tokens)
        self.e2e.observe(now - job.enqueued)
        if job.kind == "score":
            return
        self.gen_len.observe(result.completion_tokens)
        self.max_tokens.observe(job.config.max_new_tokens)
        if job.started is not None:
            self.inference.observe(now - job.started)
            first = job.first_token or now
            self.prefill.observe(first - job.started)
            self.decode.observe(now - first)
        if result.completion_tokens > 1 and job.first_token is not None:
            self.tpot.observe((now - job.first_token) / (result.completion_tokens - 1))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
