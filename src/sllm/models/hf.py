"""transformers backend: CPU float32 / CUDA bf16, batched scoring and generation, PEFT adapters.

Scoring pads on the right and applies the LM head only at continuation positions (on a 49k
vocabulary the head is ~20% of a forward pass, spent otherwise on logits nobody reads).
Generation pads on the left, as decoder-only generation requires.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

import torch

from sllm.errors import SllmError, UsageError
from sllm.models.base import (
    LM,
    GenerationRequest,
    GenerationResult,
)
from sllm.models.batching import BatchSizer
from sllm.models.context import fit_prompt, model_max_length, request_label
from sllm.models.hf_generate import generate_batch, group_for_generation
from sllm.models.options import BackendOptions, parse_options
from sllm.models.tokenized import TokenizedLM
from sllm.models.tree_scoring import Costs, build_rows, plan_batches, score_rows

TOKENS_PER_REQUEST = 256
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class HFOptions(BackendOptions):
    """Options of `hf:` specs."""

    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: str = "auto"
    adapter: str | None = None
    max_length: int | None = None
    batch_size: int | Literal["auto"] = 8
    revision: str | None = None
    trust_remote_code: bool = False
    score_padding: Literal["right", "left"] = "right"
    share_context: bool = True


def pick_device(requested: str) -> str:
    """Resolve 'auto' to cuda when available, else cpu; reject cuda without a GPU."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"device '{requested}' requested but CUDA is not available here")
    return requested


def pick_dtype(requested: str, device: str) -> torch.dtype:
    """float32 on CPU (bf16 matmuls are ~400x slower there); bf16 on CUDA when supported."""
    if requested != "auto":
        return DTYPES[requested]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


class HFLM(TokenizedLM, LM):
    """A causal LM loaded with transformers from a folder or a hub id."""

    def __init__(self, target: str, options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.target = target
        self.options = parse_options(HFOptions, options or {}, f"hf:{target}")
        self.device = pick_device(self.options.device)
        self.dtype = pick_dtype(self.options.dtype, self.device)
        self.tokenizer, self.model = self._load()
        self.max_length, self.window_source = (
            (self.options.max_length, "max_length option of the model spec")
            if self.options.max_length
            else model_max_length(self.model.config, self.tokenizer)
        )
        self.batch_size = self.options.batch_size
        self.sizer = BatchSizer(self.options.batch_size, self.model, self.device)
        self._fingerprint: str | None = None
        self.costs = Costs.of(self.model)

    # -- loading ---------------------------------------------------------------------------
    def _load(self) -> tuple[Any, Any]:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        quiet_transformers()
        source = _resolve_source(self.target)
        kwargs = {"revision": self.options.revision, "trust_remote_code": self.options.trust_remote_code}
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=self.dtype, **kwargs)
        except OSError as exc:
            raise SllmError(f"cannot load model '{self.target}': {_first_line(exc)}") from exc
        if self.options.adapter:
            tokenizer, model = attach_adapter(tokenizer, model, self.options.adapter)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.to(self.device).eval()
        return tokenizer, model

    def fingerprint(self) -> str:
        """Weights digest (or hub revision), adapter digest, dtype and context length."""
        if self._fingerprint is None:
            from sllm.models.fingerprint import folder_digest

            folder = Path(self.target).expanduser()
            weights = (
                folder_digest(folder)
                if folder.is_dir()
                else f"hub:{self.target}@{self.options.revision or 'main'}"
            )
            adapter = self.options.adapter
            adapter_id = folder_digest(Path(adapter).expanduser()) if adapter else "none"
            dtype = str(self.dtype).removeprefix("torch.")
            self._fingerprint = f"hf|{weights}|adapter={adapter_id}|{dtype}|max_length={self.max_length}"
        return self._fingerprint

    # -- scoring ---------------------------------------------------------------------------
    def score_token_pairs(
        self, pairs: Sequence[tuple[list[int], list[int]]]
    ) -> Iterator[tuple[int, tuple[float, bool, int]]]:
        """Yield (index, (sum logprob, is_greedy, n tokens)) for token-id pairs, widest batches first.

        Each pair must fit the context window (see `sllm.models.context.fit_pair`)."""
        head = plain_lm_head(self.model)
        rest = list(range(len(pairs)))
        if head is not None and self.options.share_context:
            rows, rest = build_rows(pairs, self.costs)
            body = partial(_decoder_hidden, self.model.get_decoder(), self.device)
            score = partial(_score_rows_list, body, head, pairs, self.tokenizer.pad_token_id)
            # `batch_size` requests of up to TOKENS_PER_REQUEST tokens: wide rows (a few-shot block
            # with many questions) come fewer to a batch instead of padding narrow ones to their width
            budget = TOKENS_PER_REQUEST * self.sizer.size(TOKENS_PER_REQUEST)

            def rows_per_batch(width: int) -> int:
                return max(1, min(self.sizer.size(min(width, self.max_length)), budget // width))

            for batch in plan_batches(rows, rows_per_batch):
                yield from self.sizer.run(score, batch)
        rest.sort(key=lambda i: -len(pairs[i][0]) - len(pairs[i][1]))
        size = self.sizer.size(min(sum(map(len, pairs[rest[0]])), self.max_length)) if rest else 1
        for start in range(0, len(rest), size):
            batch = rest[start : start + size]
            yield from self.sizer.run(partial(self._score_indices, pairs), batch)

    def _score_indices(self, pairs: Sequence[tuple[list[int], list[int]]], part: list[int]) -> list[Any]:
        return list(zip(part, self._score_batch([pairs[i] for i in part])))

    @torch.inference_mode()
    def _score_batch(self, pairs: list[tuple[list[int], list[int]]]) -> list[tuple[float, bool, int]]:
        inputs, targets = [], []
        for context, continuation in pairs:
            if not continuation:
                raise SllmError("cannot score an empty continuation")
            whole = context + continuation
            inputs.append(whole[:-1])
            targets.append(whole[-len(continuation) :])
        width = max(len(ids) for ids in inputs)
        pad = self.tokenizer.pad_token_id
        left = self.options.score_padding == "left"
        ids = torch.full((len(inputs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(inputs), width), dtype=torch.long)
        starts = []
        for row, seq in enumerate(inputs):
            offset = width - len(seq) if left else 0
            ids[row, offset : offset + len(seq)] = torch.tensor(seq)
            mask[row, offset : offset + len(seq)] = 1
            starts.append(offset + len(seq) - len(targets[row]))
        logits = self._continuation_logits(ids.to(self.device), mask.to(self.device), starts, targets)
        results = []
        for row_logits, target in zip(logits, targets):
            logprobs = torch.log_softmax(row_logits.float(), dim=-1)
            target_ids = torch.tensor(target, device=logprobs.device)
            picked = logprobs.gather(1, target_ids[:, None]).squeeze(1)
            greedy = bool((logprobs.argmax(dim=-1) == target_ids).all())
            results.append((float(picked.sum()), greedy, len(target)))
        return results

    def _continuation_logits(
        self, ids: torch.Tensor, mask: torch.Tensor, starts: list[int], targets: list[list[int]]
    ) -> list[torch.Tensor]:
        """Return per-row logits at the positions that predict each continuation."""
        # Explicit positions make left padding exact for absolute-position models too.
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        head = plain_lm_head(self.model)
        if head is None:
            logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
            return [logits[r, s : s + len(t)] for r, (s, t) in enumerate(zip(starts, targets))]
        hidden = self.model.get_decoder()(
            input_ids=ids, attention_mask=mask, position_ids=positions
        ).last_hidden_state
        rows = [hidden[r, s : s + len(t)] for r, (s, t) in enumerate(zip(starts, targets))]
        flat = head(torch.cat(rows))
        return list(torch.split(flat, [len(t) for t in targets]))

    # -- generation ------------------------------------------------------------------------
    def _iter_generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, GenerationResult]]:
        prompts = [
            r.prompt if r.prompt is not None else self.render_chat(r.message_dicts()) for r in requests
        ]
        # Every prompt is checked against the window before any generation starts.
        encoded = [
            fit_prompt(
                ids,
                r.config.max_new_tokens,
                self.max_length,
                r.config.truncate,
                request_label(i, len(requests)),
                self.window_source,
            )[0]
            for i, (r, ids) in enumerate(zip(requests, self.encode_batch(prompts)))
        ]
        longest = max((len(ids) for ids in encoded), default=1)
        most_new = max((r.config.max_new_tokens for r in requests), default=0)
        for group in group_for_generation(requests, self.sizer.size(longest, most_new)):
            config = requests[group[0]].config
            yield from self.sizer.run(partial(self._generate_indices, encoded, config), group)

    def _generate_indices(self, encoded: list[list[int]], config: Any, part: list[int]) -> list[Any]:
        return list(zip(part, generate_batch(self, [encoded[i] for i in part], config)))


def _decoder_hidden(
    decoder: Any, device: str, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor
) -> torch.Tensor:
    """Final hidden states under an explicit [rows, 1, width, width] attention mask."""
    return decoder(
        input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device)
    ).last_hidden_state


def _score_rows_list(body: Any, head: Any, pairs: Any, pad: int, rows: list[Any]) -> list[Any]:
    return list(score_rows(body, head, pairs, rows, pad))


def quiet_transformers() -> None:
    """Silence transformers' own progress bars and info logs (ours go to stderr via rich)."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def plain_lm_head(model: Any) -> Any:
    """Return the output projection when logits are exactly head(final hidden state), else None."""
    config = model.config
    if any(getattr(config, a, None) for a in ("final_logit_softcapping", "logit_scale", "logits_scaling")):
        return None
    try:
        model.get_decoder()
        return model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None


def _resolve_source(target: str) -> str:
    """A path-looking target must exist; anything else is tried as a hub id."""
    path = Path(target).expanduser()
    if path.exists():
        if not path.is_dir():
            raise SllmError(f"model path is not a folder: {target}")
        return str(path)
    looks_like_path = target.startswith((".", "/", "~")) or target.count("/") > 1 or "\\" in target
    if looks_like_path:
        raise SllmError(f"model folder not found: {target}")
    return target


def attach_adapter(tokenizer: Any, model: Any, adapter: str) -> tuple[Any, Any]:
    """The adapter on its base; an adapter saved with its own tokenizer (e.g. a chat template whose
    special tokens training added) brings that tokenizer, and the base's embeddings grow to match."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise SllmError(f"adapter folder has no adapter_config.json: {adapter}")
    if (path / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    return tokenizer, PeftModel.from_pretrained(model, str(path))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
