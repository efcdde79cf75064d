"""Helpers shared by tests: run the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `sllm` console entry point in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sllm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


class ScriptedLM:
    """A deterministic model for pipeline tests: `reply(prompt_or_last_message, seed)` -> text."""

    def __new__(cls, reply):  # noqa: ANN001, ANN204 - built lazily so helpers import without torch
        from sllm.models.base import LM, GenerationResult

        class _Scripted(LM):
            spec = "scripted"

            def __init__(self) -> None:
                super().__init__()
                self.requests: list = []

            def _iter_generate(self, requests):  # noqa: ANN001, ANN202
                for index, request in enumerate(requests):
                    self.requests.append(request)
                    text = (
                        request.prompt
                        if request.prompt is not None
                        else request.message_dicts()[-1]["content"]
                    )
                    out = reply(text, request.config.seed)
                    yield index, GenerationResult(text=out, n_tokens=len(out.split()), finish_reason="stop")

        return _Scripted()


def tiny_base_model(folder: Path, texts: list[str]) -> Path:
    """A small random Llama with its own byte-level BPE tokenizer: a *base* model, no chat template
    and none of ChatML's tokens, for testing what training adds to such a model."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>"],
                                                       initial_alphabet=alphabet))  # fmt: skip
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, bos_token_id=0, eos_token_id=1)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def metric_samples(base: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a server's /metrics as {(name, sorted labels): value}."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(base + "/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def metric(samples: dict, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items())
