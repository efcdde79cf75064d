"""Batched generation with transformers: left padding, every decoding strategy, stop strings.

Seeded sampling runs one request at a time: with a shared random stream, a request's text
would depend on which other requests happened to share its batch, and the cache would then
store results that cannot be reproduced.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from sllm.generation.config import GenerationConfig
from sllm.generation.stopping import truncate_at_stop
from sllm.models.base import GenerationRequest, GenerationResult
from sllm.models.detokenize import drop_cut_character

if TYPE_CHECKING:
    from sllm.models.hf import HFLM


def group_for_generation(requests: Sequence[GenerationRequest], batch_size: int) -> list[list[int]]:
    """Group request indices that can share a batch (same settings), shortest prompts first."""
    groups: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        key = json.dumps(request.config.cache_key(), sort_keys=True)
        groups.setdefault(key, []).append(index)
    batches: list[list[int]] = []
    for indices in groups.values():
        config = requests[indices[0]].config
        size = 1 if (config.strategy == "sample" and config.seed is not None) else batch_size
        indices.sort(key=lambda i: len(requests[i].prompt or "") + len(str(requests[i].messages or "")))
        batches.extend(indices[s : s + size] for s in range(0, len(indices), size))
    return batches


def hf_generation_config(lm: HFLM, config: GenerationConfig) -> Any:
    """Translate our settings into a transformers GenerationConfig, every field explicit."""
    from transformers import GenerationConfig as HFGenerationConfig

    values: dict[str, Any] = {
        "max_new_tokens": config.max_new_tokens,
        "do_sample": config.strategy == "sample",
        "num_beams": config.num_beams if config.strategy == "beam" else 1,
        "repetition_penalty": config.repetition_penalty,
        "no_repeat_ngram_size": config.no_repeat_ngram_size,
        "eos_token_id": eos_token_ids(lm),
        "pad_token_id": lm.tokenizer.pad_token_id,
        "bos_token_id": lm.tokenizer.bos_token_id,
    }
    if config.strategy == "sample":
        # Explicit values: the model's own generation_config (e.g. top_k=50) must not leak in.
        values.update(temperature=config.temperature, top_k=config.top_k, top_p=config.top_p)
    else:
        values.update(temperature=None, top_k=None, top_p=None)
    if config.strategy == "beam":
        values["length_penalty"] = config.length_penalty
    if config.ignore_eos:
        values["min_new_tokens"] = config.max_new_tokens
    if config.stop:
        values["stop_strings"] = list(config.stop)
    return HFGenerationConfig(**values)


def eos_token_ids(lm: HFLM) -> list[int]:
    """All end-of-sequence ids: the model's generation config and the tokenizer's."""
    configured = getattr(lm.model.generation_config, "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured]
    ids = [i for i in ids if i is not None]
    if lm.tokenizer.eos_token_id is not None and lm.tokenizer.eos_token_id not in ids:
        ids.append(lm.tokenizer.eos_token_id)
    return ids


@torch.inference_mode()
def generate_batch(lm: HFLM, encoded: list[list[int]], config: GenerationConfig) -> list[GenerationResult]:
    """Generate for token-id prompts (already fitted to the window) sharing one config; returns
    texts with stop strings cut."""
    output, width = run_generate(lm, encoded, config)
    enders = end_tokens(lm, config)
    return [
        finish_row(lm.tokenizer, row.tolist(), enders, config, len(seq))
        for row, seq in zip(output[:, width:], encoded, strict=True)
    ]


def run_generate(
    lm: HFLM, encoded: list[list[int]], config: GenerationConfig, **hooks: Any
) -> tuple[Any, int]:
    """transformers' `generate` on left-padded prompts with our settings (plus `hooks`: a streamer,
    stopping criteria, output options); returns its output and the padded prompt width."""
    ids, mask = left_pad(encoded, lm.tokenizer.pad_token_id)
    if config.seed is not None:
        torch.manual_seed(config.seed)
    output = lm.model.generate(
        input_ids=ids.to(lm.device),
        attention_mask=mask.to(lm.device),
        generation_config=hf_generation_config(lm, config),
        tokenizer=lm.tokenizer if config.stop else None,
        **hooks,
    )
    return output, ids.shape[1]


def end_tokens(lm: HFLM, config: GenerationConfig) -> set[int]:
    """The ids that end a row: end-of-sequence and padding, none with ignore_eos."""
    return set() if config.ignore_eos else set(eos_token_ids(lm)) | {lm.tokenizer.pad_token_id}


def left_pad(encoded: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded on the left (decoder-only generation continues from the right end), and
    their attention mask."""
    width = max(len(ids) for ids in encoded)
    ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, seq in enumerate(encoded):
        ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
        mask[row, width - len(seq) :] = 1
    return ids, mask


def finish_row(
    tokenizer: Any, new_ids: list[int], enders: set[int], config: GenerationConfig, prompt_tokens: int
) -> GenerationResult:
    """A generated row as a result: cut at its first end token, decoded, cut at a stop string."""
    cut = next((i for i, token in enumerate(new_ids) if token in enders), None)
    kept = new_ids if cut is None else new_ids[:cut]
    # Fewer tokens than the limit without an end token: transformers stopped at a stop string.
    at_limit = cut is None and len(kept) >= config.max_new_tokens
    decoded = tokenizer.decode(kept, skip_special_tokens=True)
    if at_limit:  # the limit may fall between the bytes of one character
        decoded = drop_cut_character(decoded)
    text, stopped = truncate_at_stop(decoded, config.stop)
    reason = "length" if at_limit and not stopped else "stop"
    # n_tokens counts every generated token, a held-back partial character's included (its cost).
    return GenerationResult(text=text, n_tokens=len(kept), finish_reason=reason, prompt_tokens=prompt_tokens)
