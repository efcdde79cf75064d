"""vLLM offline engine (optional extra `vllm`, CUDA GPUs): fast batched generation and scoring."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sllm.errors import NotSupportedError, SllmError
from sllm.generation.config import GenerationConfig
from sllm.generation.stopping import truncate_at_stop
from sllm.models.base import (
    LM,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
)
from sllm.models.context import fit_prompt, fitted_pairs, request_label
from sllm.models.detokenize import finished_text
from sllm.models.options import BackendOptions, parse_options

INSTALL_HINT = "the vllm backend needs vLLM on a CUDA machine: pip install 'sllm[vllm]'"


class VLLMOptions(BackendOptions):
    """Options of `vllm:` specs."""

    dtype: str = "auto"
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_length: int | None = None
    revision: str | None = None
    seed: int = 0


class VLLM(LM):
    """A model served in-process by vLLM; tensor-parallel across GPUs via its own engine."""

    def __init__(self, target: str, options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.options = parse_options(VLLMOptions, options or {}, f"vllm:{target}")
        try:
            import torch
            import vllm
        except ImportError as exc:
            raise SllmError(INSTALL_HINT) from exc
        if not torch.cuda.is_available():
            raise SllmError(f"{INSTALL_HINT} (no CUDA device is visible here)")
        self.target = target
        self.llm = vllm.LLM(
            model=target,
            dtype=self.options.dtype,
            tensor_parallel_size=self.options.tensor_parallel_size,
            gpu_memory_utilization=self.options.gpu_memory_utilization,
            max_model_len=self.options.max_length,
            revision=self.options.revision,
            seed=self.options.seed,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.max_length = int(self.llm.llm_engine.model_config.max_model_len)
        self.window_source = (
            "max_length option of the model spec" if self.options.max_length else "vLLM's max_model_len"
        )

    def fingerprint(self) -> str:
        """Model path or hub id with revision and dtype."""
        return f"vllm|{self.target}@{self.options.revision or 'main'}|{self.options.dtype}"

    def encode(self, text: str) -> list[int]:
        """Tokenise without special tokens."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    @property
    def prefix_token_id(self) -> int:
        """Token that stands for an empty context: BOS if the tokenizer has one, else EOS."""
        return self.tokenizer.bos_token_id or self.tokenizer.eos_token_id

    def _iter_loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest]
    ) -> Iterator[tuple[int, LoglikelihoodResult]]:
        from vllm import SamplingParams, TokensPrompt

        pairs = fitted_pairs(self, requests)  # all checked against the window before any scoring
        params = SamplingParams(max_tokens=1, prompt_logprobs=1, temperature=0.0)
        prompts = [TokensPrompt(prompt_token_ids=c + t) for c, t in pairs]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        for index, ((context, continuation), output) in enumerate(zip(pairs, outputs)):
            entries = output.prompt_logprobs[len(context) :]
            total, greedy = 0.0, True
            for token, entry in zip(continuation, entries):
                total += entry[token].logprob
                greedy &= entry[token].rank == 1
            yield index, LoglikelihoodResult(total, greedy, len(continuation))

    def _iter_generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, GenerationResult]]:
        from vllm import TokensPrompt

        prompts: list[Any] = []
        for i, r in enumerate(requests):  # all checked against the window before any generation
            text = (
                r.prompt
                if r.prompt is not None
                else self.tokenizer.apply_chat_template(
                    r.message_dicts(), tokenize=False, add_generation_prompt=True
                )
            )
            where = request_label(i, len(requests))
            kept, cut = fit_prompt(
                self.encode(text),
                r.config.max_new_tokens,
                self.max_length,
                r.config.truncate,
                where,
                self.window_source,
            )
            prompts.append(text if cut is None else TokensPrompt(prompt_token_ids=kept))
        params = [_sampling_params(r.config) for r in requests]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        for index, (request, output) in enumerate(zip(requests, outputs)):
            completion = output.outputs[0]
            text, _ = truncate_at_stop(completion.text, request.config.stop)
            reason = "length" if completion.finish_reason == "length" else "stop"
            read = len(output.prompt_token_ids or ())
            text = finished_text(text, reason)  # vLLM holds a cut character back already: a safety net
            yield index, GenerationResult(text, len(completion.token_ids), reason, read)


def _sampling_params(config: GenerationConfig) -> Any:
    from vllm import SamplingParams

    if config.strategy == "beam":
        raise NotSupportedError("beam search is not supported by the vllm backend in sllm")
    sampling = config.strategy == "sample"
    return SamplingParams(
        max_tokens=config.max_new_tokens,
        temperature=config.temperature if sampling else 0.0,
        top_k=(config.top_k or -1) if sampling else -1,
        top_p=config.top_p if sampling else 1.0,
        repetition_penalty=config.repetition_penalty,
        stop=list(config.stop) or None,
        seed=config.seed,
        ignore_eos=config.ignore_eos,
    )
