"""Greedy generation throughput of the default model: batch 1 and batch 8, llama.cpp beside it.

    python benchmarks/generation.py [--new-tokens 64] [--json]

Every generation is forced to its full length (ignore_eos) so tokens/s compare like with like.
The OpenVINO rows (`ov:` backend, fp32 and int8 weights) appear when the extra `openvino` is
installed, the llama.cpp row when the extra `llamacpp` is.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import time

import torch

from sllm.generation.config import make_config
from sllm.models.base import LM, GenerationRequest
from sllm.models.default_model import default_gguf_path
from sllm.models.spec import load_model

PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how photosynthesis works.",
    "List some tips for learning to cook.",
    "Describe the city of Seoul to a tourist.",
    "What makes a good software engineer?",
    "Summarise the causes of the French Revolution.",
    "Give advice to a first-time marathon runner.",
    "Why is the sky blue?",
]


def throughput(lm: LM, batch: int, new_tokens: int, rounds: int) -> dict[str, float]:
    """Generate `rounds` batches of `batch` prompts; return generated tokens per second."""
    lm.batch_size = batch
    config = make_config(max_new_tokens=new_tokens, ignore_eos=True)
    requests = [GenerationRequest(prompt=PROMPTS[i % len(PROMPTS)], config=config) for i in range(batch)]
    lm.generate(requests[:1])  # warm-up
    tokens, start = 0, time.perf_counter()
    for _ in range(rounds):
        tokens += sum(r.n_tokens for r in lm.generate(requests))
    seconds = time.perf_counter() - start
    return {
        "batch": batch,
        "tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds, 1),
    }


def main() -> None:
    """Run the benchmark and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    hf = load_model("default")
    rows.append({"engine": "transformers fp32", **throughput(hf, 1, args.new_tokens, 4)})
    rows.append({"engine": "transformers fp32", **throughput(hf, 8, args.new_tokens, 1)})
    if importlib.util.find_spec("openvino_genai"):
        for dtype in ("float32", "int8"):
            ov = load_model(f"ov:default,dtype={dtype}")
            name = f"OpenVINO {'fp32' if dtype == 'float32' else dtype}"
            rows.append({"engine": name, **throughput(ov, 1, args.new_tokens, 4)})
            rows.append({"engine": name, **throughput(ov, 8, args.new_tokens, 1)})
    if importlib.util.find_spec("llama_cpp"):
        llama = load_model(f"gguf:{default_gguf_path()},engine=llamacpp")
        rows.append({"engine": "llama.cpp Q4_1", **throughput(llama, 1, args.new_tokens, 4)})
    machine = {
        "cpu_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if args.json:
        print(json.dumps({"machine": machine, "results": rows}))
        return
    print(f"machine: {machine}")
    print(f"{'engine':<20} {'batch':>5} {'tokens':>7} {'seconds':>8} {'tokens/s':>9}")
    for row in rows:
        cells = (row["engine"], row["batch"], row["tokens"], row["seconds"], row["tokens_per_s"])
        print("{:<20} {:>5} {:>7} {:>8} {:>9}".format(*cells))


if __name__ == "__main__":
    main()
