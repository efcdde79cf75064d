"""Batch sizes for the transformers backend: a fixed number, or `auto`.

`auto` picks the largest power-of-two batch (up to 64) whose estimated working memory fits in
60% of the memory free right now (GPU memory on CUDA, RAM on CPU), for the longest sequence of
the call -- requests run longest first, so the first batch is the largest. Estimates can be
wrong, so every batch also backs off: on an out-of-memory error it is split in halves and
retried, and later batches use the smaller size. A run never fails at its end for lack of memory
after hours of work (lm-evaluation-harness's auto probes once at the start and can still OOM later).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")
MAX_AUTO = 64


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA OOM, or the CPU allocator failing."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError | MemoryError) and (
        "can't allocate memory" in text or "out of memory" in text.lower() or isinstance(exc, MemoryError)
    )


def free_memory(device: str) -> int:
    """Bytes free for new tensors on the device."""
    if device.startswith("cuda"):
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)


def row_bytes(config: Any, seq_len: int, new_tokens: int, element: int) -> int:
    """Estimated peak memory of one sequence: one layer's activations (inference frees the others),
    attention scores, and for generation the KV cache of every layer; times 2 for safety."""
    hidden = int(getattr(config, "hidden_size", 1024))
    inner = int(getattr(config, "intermediate_size", None) or 4 * hidden)
    heads = int(getattr(config, "num_attention_heads", 16))
    layers = int(getattr(config, "num_hidden_layers", 24))
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    total = seq_len + new_tokens
    activations = total * (8 * hidden + 3 * inner + heads * total) * element
    kv_cache = 2 * layers * total * (hidden // heads) * kv_heads * element if new_tokens else 0
    return 2 * (activations + kv_cache)


class BatchSizer:
    """Chooses batch sizes (fixed or auto) and remembers out-of-memory back-offs."""

    def __init__(self, requested: int | Literal["auto"], model: Any, device: str) -> None:
        self.requested = requested
        self.model = model
        self.device = device
        self.ceiling = MAX_AUTO
        self.last = requested if isinstance(requested, int) else None

    def size(self, seq_len: int, new_tokens: int = 0) -> int:
        """The batch size for sequences of up to seq_len tokens (+ new_tokens generated)."""
        if isinstance(self.requested, int):
            size = min(self.requested, self.ceiling) if self.ceiling < MAX_AUTO else self.requested
        else:
            element = next(self.model.parameters()).element_size()
            per_row = max(row_bytes(self.model.config, seq_len, new_tokens, element), 1)
            fits = int(0.6 * free_memory(self.device) // per_row)
            size = 1
            while size * 2 <= min(fits, self.ceiling):
                size *= 2
        self.last = size
        return size

    def shrink(self, failed: int) -> None:
        """Remember that a batch of `failed` rows did not fit."""
        self.ceiling = max(1, min(self.ceiling, failed // 2))

    def run(self, fn: Callable[[list[T]], list[R]], items: list[T]) -> list[R]:
        """fn(items), split in halves (recursively) when it runs out of memory."""
        try:
            return fn(items)
        except Exception as exc:
            if not is_out_of_memory(exc) or len(items) == 1:
                raise
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
        self.shrink(len(items))
        half = len(items) // 2
        return self.run(fn, items[:half]) + self.run(fn, items[half:])
