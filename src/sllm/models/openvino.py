"""The `ov:` backend: OpenVINO on the CPU, for faster generation than transformers.

`ov:PATH` (or `ov:default`) exports the transformers folder once to OpenVINO IR in the sllm cache
(`openvino_export.py`), then generates with OpenVINO GenAI's `LLMPipeline` and scores with the
same IR through the OpenVINO runtime (one forward pass per batch, logits at every position).

`dtype=float32` (the default) keeps the numbers: greedy text equal to `hf:` and log-probs
within 4e-4 (measured in docs/performance.md); `dtype=int8` compresses the weights (faster
generation, different numbers: for throughput work such as Self-Instruct or judging drafts, not
for scores you compare with `hf:` runs). Prompts go through the model's own chat template and
the replies through the same end-of-text, stop-string and cut-character handling as `hf:`, so
the two backends differ only where their arithmetic does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sllm.errors import SllmError
from sllm.generation.config import GenerationConfig
from sllm.models.base import (
    LM,
    GenerationRequest,
    GenerationResult,
)
from sllm.models.context import fit_prompt, request_label
from sllm.models.options import BackendOptions, parse_options
from sllm.models.tokenized import TokenizedLM


class OVOptions(BackendOptions):
    """Options of `ov:` specs."""

    dtype: Literal["float32", "float16", "int8"] = "float32"
    max_length: int | None = None
    batch_size: int = 8


class OVLM(TokenizedLM, LM):
    """A causal LM exported to OpenVINO IR; generation by GenAI, scoring by the runtime."""

    def __init__(self, target: str, options: dict[str, Any] | None = None) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoTokenizer

        from sllm.models.context import model_max_length
        from sllm.models.openvino_export import ensure_exported, openvino_version

        self.options = parse_options(OVOptions, options or {}, f"ov:{target}")
        self.target = target
        self.source = _source_folder(target)
        self.version = openvino_version()
        self.folder = ensure_exported(self.source, self.options.dtype)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.max_length, self.window_source = (
            (self.options.max_length, "max_length option of the model spec")
            if self.options.max_length
            else model_max_length(AutoConfig.from_pretrained(self.folder), self.tokenizer)
        )
        self.eos_ids = _eos_ids(self.folder, self.tokenizer)
        self.batch_size = self.options.batch_size
        self._pipeline: Any = None
        self._scorer: Any = None
        self._fingerprint: str | None = None

    @property
    def pipeline(self) -> Any:
        """The GenAI pipeline, built on first use (scoring-only runs never pay for it)."""
        if self._pipeline is None:
            import openvino_genai

            self._pipeline = openvino_genai.LLMPipeline(str(self.folder), "CPU", **self._precision())
        return self._pipeline

    @property
    def scorer(self) -> Any:
        """The compiled IR for full-sequence logits."""
        if self._scorer is None:
            import openvino

            self._scorer = openvino.Core().compile_model(
                str(self.folder / "openvino_model.xml"), "CPU", self._precision()
            )
        return self._scorer

    def _precision(self) -> dict[str, str]:
        # float32 activations unless the weights are int8 (then the CPU plugin's fastest choice)
        return {} if self.options.dtype == "int8" else {"INFERENCE_PRECISION_HINT": "f32"}

    def fingerprint(self) -> str:
        """Weights digest, weight format, OpenVINO version and context length."""
        if self._fingerprint is None:
            from sllm.models.fingerprint import folder_digest

            self._fingerprint = (
                f"ov|{folder_digest(self.source)}|{self.options.dtype}|openvino={self.version}"
                f"|max_length={self.max_length}"
            )
        return self._fingerprint

    # -- scoring -------------------------------------------------------------------------------
    def score_token_pairs(
        self, pairs: Sequence[tuple[list[int], list[int]]]
    ) -> Iterator[tuple[int, tuple[float, bool, int]]]:
        """(index, (sum log-prob, is greedy, n tokens)) per pair, longest batches first."""
        order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]) - len(pairs[i][1]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            yield from zip(batch, self._score_batch([pairs[i] for i in batch]))

    def _score_batch(self, pairs: list[tuple[list[int], list[int]]]) -> list[tuple[float, bool, int]]:
        inputs = [(context + continuation)[:-1] for context, continuation in pairs]
        width = max(map(len, inputs))
        ids = np.full((len(inputs), width), self.tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(inputs), width), dtype=np.int64)
        for row, seq in enumerate(inputs):
            ids[row, : len(seq)], mask[row, : len(seq)] = seq, 1
        logits = self._logits(ids, mask)
        results = []
        for row, (seq, (_, continuation)) in enumerate(zip(inputs, pairs)):
            start = len(seq) - len(continuation) + 1
            logprobs = log_softmax(logits[row, start - 1 : len(seq)])
            picked = logprobs[np.arange(len(continuation)), continuation]
            greedy = bool((logprobs.argmax(axis=-1) == np.asarray(continuation)).all())
            results.append((float(picked.sum()), greedy, len(continuation)))
        return results

    def prompt_logprobs(self, ids: list[int]) -> np.ndarray:
        """Log-probabilities over the vocabulary at each prompt position (row i predicts token i+1)."""
        tokens = np.asarray([ids], dtype=np.int64)
        return log_softmax(self._logits(tokens, np.ones_like(tokens))[0, :-1])

    def _logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        request = self.scorer.create_infer_request()
        request.reset_state()  # the IR is stateful (its KV cache); each call starts empty
        positions = np.broadcast_to(np.arange(ids.shape[1], dtype=np.int64), ids.shape)
        beams = np.arange(ids.shape[0], dtype=np.int32)
        return request.infer(
            {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "beam_idx": beams}
        )[self.scorer.output(0)]

    # -- generation ----------------------------------------------------------------------------
    def _iter_generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, GenerationResult]]:
        from sllm.models.hf_generate import finish_row, group_for_generation

        prompts = [
            r.prompt if r.prompt is not None else self.render_chat(r.message_dicts()) for r in requests
        ]
        encoded = [
            fit_prompt(self.encode(p), r.config.max_new_tokens, self.max_length, r.config.truncate,
                       request_label(i, len(requests)), self.window_source)[0]
            for i, (r, p) in enumerate(zip(requests, prompts))
        ]  # fmt: skip
        for group in group_for_generation(requests, self.batch_size):
            config = requests[group[0]].config
            enders = set() if config.ignore_eos else self.eos_ids | {self.tokenizer.pad_token_id}
            for index, new_ids in zip(group, self._generate([encoded[i] for i in group], config)):
                yield index, finish_row(self.tokenizer, new_ids, enders, config, len(encoded[index]))

    def _generate(self, encoded: list[list[int]], config: GenerationConfig) -> list[list[int]]:
        import openvino
        import openvino_genai

        width = max(map(len, encoded))
        ids = np.full((len(encoded), width), self.tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, seq in enumerate(encoded):  # left padding, as decoder-only generation needs
            ids[row, width - len(seq) :], mask[row, width - len(seq) :] = seq, 1
        inputs = openvino_genai.TokenizedInputs(openvino.Tensor(ids), openvino.Tensor(mask))
        result = self.pipeline.generate(inputs, genai_config(config))
        return [list(tokens) for tokens in result.tokens]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis, in float64."""
    rows = logits.astype(np.float64)
    rows = rows - rows.max(axis=-1, keepdims=True)
    return rows - np.log(np.exp(rows).sum(axis=-1, keepdims=True))


def genai_config(config: GenerationConfig) -> Any:
    """Our decoding settings as an OpenVINO GenAI GenerationConfig, every field explicit."""
    import openvino_genai

    out = openvino_genai.GenerationConfig()
    out.max_new_tokens = config.max_new_tokens
    out.repetition_penalty = config.repetition_penalty
    if config.no_repeat_ngram_size:
        out.no_repeat_ngram_size = config.no_repeat_ngram_size
    out.ignore_eos = config.ignore_eos
    if config.stop:
        out.stop_strings = set(config.stop)
        out.include_stop_str_in_output = True  # cut by `finish_row`, the same rule as hf:
    if config.strategy == "sample":
        out.do_sample = True
        out.temperature, out.top_p = config.temperature, config.top_p
        if config.top_k:
            out.top_k = config.top_k
        if config.seed is not None:
            out.rng_seed = config.seed
    elif config.strategy == "beam":
        out.num_beams, out.num_return_sequences = config.num_beams, 1
        out.length_penalty = config.length_penalty
    else:
        out.do_sample = False
    return out


def _source_folder(target: str) -> Path:
    """`default` or a transformers model folder (the hub is not used: export needs local files)."""
    if target == "default":
        from sllm.models.default_model import default_model_path

        return Path(default_model_path())
    folder = Path(target).expanduser()
    if not (folder / "config.json").is_file():
        raise SllmError(f"ov: needs a transformers model folder with config.json, got '{target}'")
    return folder


def _eos_ids(folder: Path, tokenizer: Any) -> set[int]:
    """End-of-sequence ids: the generation config's and the tokenizer's."""
    import json

    ids: set[int] = set()
    path = folder / "generation_config.json"
    if path.is_file():
        value = json.loads(path.read_text(encoding="utf-8")).get("eos_token_id")
        ids |= set(value) if isinstance(value, list) else ({value} if value is not None else set())
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids
