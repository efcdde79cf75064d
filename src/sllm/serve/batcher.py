"""The bounded queue in front of an engine and the worker thread that batches it.

Dynamic batching with a short collection window (what Triton and TorchServe call it): the worker
takes the oldest job, waits up to `window` seconds for more jobs that can share its batch (same
decoding settings, see `Engine.batch_key`), and runs up to `max_batch` of them in one call.
While a batch runs, new jobs queue; a full queue is the HTTP handler's 429. Engines with their
own continuous batching take queued jobs between their steps (`Engine.continuous`: OpenVINO
GenAI's scheduler, `ov_engine.py`); vLLM sits behind `--engine vllm`; transformers' static
`generate` is what a CPU process has, and one batch of 8 decodes ~3x the tokens of 8 requests
one at a time (docs/performance.md).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from functools import partial
from typing import Any, Protocol

from sllm.serve.jobs import Failed, Job


class QueueFull(Exception):
    """More jobs are waiting than the server accepts."""


class Engine(Protocol):
    """What the batcher needs from an engine."""

    def batch_key(self, job: Job) -> Any:
        """Jobs with equal keys may share a batch."""

    def run(self, jobs: list[Job], metrics: Any) -> None:
        """Run the jobs as one batch; every job gets a Finished or a Failed event."""


class Batcher:
    """A worker thread draining a bounded queue into engine batches."""

    def __init__(self, engine: Engine, metrics: Any, max_batch: int = 8, window: float = 0.02,
                 max_waiting: int = 64) -> None:  # fmt: skip
        self.engine, self.metrics = engine, metrics
        self.max_batch, self.window, self.max_waiting = max_batch, window, max_waiting
        self.waiting: deque[Job] = deque()
        self.running = 0
        self.closed = False
        self.condition = threading.Condition()
        self.thread = threading.Thread(target=self._loop, name="sllm-batcher", daemon=True)
        self.thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job, or raise QueueFull."""
        with self.condition:
            if self.closed:
                raise QueueFull("the server is switching models or shutting down")
            if len(self.waiting) >= self.max_waiting:
                raise QueueFull(f"{len(self.waiting)} requests are already waiting")
            self.waiting.append(job)
            self._publish()
            self.condition.notify_all()

    def close(self, wait: bool = True) -> None:
        """Accept nothing more; finish what is queued and running (when `wait`)."""
        with self.condition:
            self.closed = True
            self.condition.notify_all()
        if wait:
            self.thread.join()

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if not batch:
                continue
            try:
                if getattr(self.engine, "continuous", False):
                    more = partial(self._take, self.engine.batch_key(batch[0]))
                    self.engine.run(batch, self.metrics, more)
                else:
                    self.engine.run(batch, self.metrics)
            except Exception as exc:  # one bad batch must not stop the server
                for job in batch:
                    job.emit(Failed(500, f"the engine failed: {type(exc).__name__}: {exc}"))
            finally:
                with self.condition:
                    self.running = 0
                    self._publish()

    def _next_batch(self) -> list[Job] | None:
        with self.condition:
            while not self.waiting:
                if self.closed:
                    return None
                self.condition.wait()
            first = self.waiting[0]
            key = self.engine.batch_key(first)
            # the collection window: a little latency buys company for the first job
            until = first.enqueued + self.window
            while not self.closed and self._count(key) < self.max_batch and time.monotonic() < until:
                self.condition.wait(max(until - time.monotonic(), 0.0))
            batch = []
            for job in list(self.waiting):
                if len(batch) == self.max_batch:
                    break
                if job.stopped():  # gone or out of time before it started: no work spent
                    self.waiting.remove(job)
                    job.emit(Failed(504 if job.timed_out() else 499, "request ended before it started"))
                elif self.engine.batch_key(job) == key:
                    self.waiting.remove(job)
                    batch.append(job)
            self.running = len(batch)
            self._publish()
        if batch:
            self.metrics.batch.observe(len(batch))
        for job in batch:
            self.metrics.started(job)
        return batch

    def _take(self, key: Any, room: int, running: int) -> list[Job]:
        """For continuous engines, between two steps: queued jobs that may join now (up to `room`)."""
        taken: list[Job] = []
        with self.condition:
            for job in list(self.waiting):
                if len(taken) == room:
                    break
                if job.stopped():
                    self.waiting.remove(job)
                    job.emit(Failed(504 if job.timed_out() else 499, "request ended before it started"))
                elif self.engine.batch_key(job) == key:
                    self.waiting.remove(job)
                    taken.append(job)
            self.running = running + len(taken)
            self._publish()
        for job in taken:
            self.metrics.started(job)
        return taken

    def _count(self, key: Any) -> int:
        return sum(1 for job in self.waiting if self.engine.batch_key(job) == key)

    def _publish(self) -> None:
        self.metrics.queue_sizes(len(self.waiting), self.running)
