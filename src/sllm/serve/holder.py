"""The model being served: its engine and queue, its version, and a registry alias to follow.

`registry:NAME@champion` is resolved when the server starts. With `watch` seconds set, a thread
asks the registry again at that interval; when the alias points at a new version, the new model
loads beside the old one, new requests go to it from then on, and the old queue is closed and
drained in the background: requests already queued or decoding on the old version finish there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sllm.errors import SllmError, UsageError, warn
from sllm.serve.batcher import Batcher
from sllm.serve.metrics import ServerMetrics


@dataclass
class Served:
    """One loaded model version with its own queue."""

    engine: Any
    batcher: Batcher
    spec: str
    version: str
    fingerprint: str


@dataclass(frozen=True)
class QueueSettings:
    """How the queue batches: batch size, collection window, how many may wait."""

    max_batch: int = 8
    window: float = 0.02
    max_waiting: int = 64


class ModelHolder:
    """Holds the served model; swaps it when a watched registry alias moves."""

    def __init__(self, spec: str, metrics: ServerMetrics, queue: QueueSettings, watch: float = 0) -> None:
        self.spec, self.metrics, self.queue = spec, metrics, queue
        self.lock = threading.Lock()
        self.current = self._load()
        self._stop = threading.Event()
        self.watcher: threading.Thread | None = None
        if watch > 0:
            if not spec.startswith("registry:"):
                raise UsageError("--watch follows a registry alias: the model must be registry:NAME@ALIAS")
            self.watcher = threading.Thread(target=self._watch, args=(watch,), name="sllm-watch", daemon=True)
            self.watcher.start()

    def _load(self) -> Served:
        from sllm.models.hf import HFLM
        from sllm.models.spec import load_model

        version = _registry_version(self.spec)
        # the version found is the version loaded, even if the alias moves meanwhile
        lm = load_model(_pinned(self.spec, version) if version else self.spec)
        q = self.queue
        if isinstance(lm, HFLM):
            from sllm.serve.hf_engine import HFEngine

            engine: Any = HFEngine(lm)
        elif type(lm).__name__ == "OVLM":
            from sllm.serve.ov_engine import OVEngine

            engine = OVEngine(lm, q.max_batch)
        else:
            raise UsageError(
                "sllm serve's built-in engines run transformers (default, hf:, gguf:, registry:) and "
                f"OpenVINO (ov:) models; '{lm.spec}' is another backend (try --engine command)"
            )
        version = version or lm.fingerprint().split("|")[1][:16]
        batcher = Batcher(engine, self.metrics, q.max_batch, q.window, q.max_waiting)
        self.metrics.serving(lm.spec, version, lm.fingerprint())
        return Served(engine, batcher, lm.spec, version, lm.fingerprint())

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                version = _registry_version(self.spec)
                if version and version != self.current.version:
                    self.switch()
            except SllmError as exc:  # a registry hiccup: keep serving the version we have
                warn(f"could not follow {self.spec}: {exc}")

    def switch(self) -> None:
        """Load the version the spec names now and route new requests to it."""
        fresh = self._load()
        with self.lock:
            old, self.current = self.current, fresh
        threading.Thread(target=old.batcher.close, name="sllm-drain", daemon=True).start()

    def close(self) -> None:
        """Stop watching; finish queued work."""
        self._stop.set()
        self.current.batcher.close()


def _registry_version(spec: str) -> str | None:
    """The registry version a `registry:NAME@REF` spec resolves to now; None for other specs."""
    if not spec.startswith("registry:"):
        return None
    from sllm.tracking.registry import resolve_version

    return resolve_version(spec.removeprefix("registry:").split(",")[0])


def _pinned(spec: str, version: str) -> str:
    """registry:NAME@ALIAS[,options] as registry:NAME@VERSION[,options]."""
    head, comma, options = spec.partition(",")
    return f"{head.partition('@')[0]}@{version}{comma}{options}"
