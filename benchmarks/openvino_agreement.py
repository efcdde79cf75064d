"""How far the `ov:` backend's numbers are from `hf:` float32, and how much faster it generates.

    python benchmarks/openvino_agreement.py [--data-dir ../shared/data] [--hellaswag 100]
                                           [--mmlu-per-subject 1] [--prompts 24] [--json FILE]

For each OpenVINO weight format (float32, int8), in one run beside `hf:` float32 on the default
model:
- greedy text: the share of prompts (chat prompts, 48 new tokens) whose reply is identical;
- log-likelihoods: max and mean |difference| over every HellaSwag and MMLU (0-shot) request of
  the slices, and the accuracy of each (the delta is what a leaderboard would show);
- speed: generated tokens/s at batch 1 and batch 8 (64 tokens, ignore_eos), and the ratio to hf.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from sllm.evaluation.pipeline import EvalConfig, evaluate
from sllm.generation.config import make_config
from sllm.models.base import LM, GenerationRequest
from sllm.models.spec import load_model

CHATS = [
    "Give three tips for staying healthy.", "What is the capital of Australia?", "Explain recursion simply.",
    "Write a haiku about autumn.", "How do I boil an egg?", "What causes rain?", "Name four planets.",
    "Translate 'good morning' into French.", "서울의 유명한 음식을 알려 주세요.",
    "한국의 사계절을 설명해 주세요.",
    "Why do cats purr?", "Suggest a name for a bakery.",
]  # fmt: skip


def greedy_texts(lm: LM, n: int) -> list[str]:
    """Greedy replies to the first n chat prompts (cycled)."""
    config = make_config(max_new_tokens=48)
    requests = [
        GenerationRequest.chat([{"role": "user", "content": CHATS[i % len(CHATS)]}], config) for i in range(n)
    ]
    return [r.text for r in lm.generate(requests)]


def scores(lm: LM, data_dir: str, hellaswag: int, per_subject: int) -> dict[str, Any]:
    """Per-request log-likelihoods and per-task accuracy on the HellaSwag and MMLU slices."""
    lls: list[float] = []
    accuracy: dict[str, float] = {}
    for name, tasks, limit in (("hellaswag", ["hellaswag"], hellaswag), ("mmlu", ["mmlu"], per_subject)):
        config = EvalConfig(
            model="x", tasks=tasks, limit=limit, num_fewshot=0, data_dir=data_dir, use_cache=False
        )
        record = evaluate(config, lm=lm)
        for task in sorted(record["samples_records"]):
            for sample in record["samples_records"][task]:
                lls.extend(sample["loglikelihoods"])
        accuracy[name] = record["results"][name]["acc"]
    return {"lls": lls, "accuracy": accuracy}


def speed(lm: LM, batch: int, new_tokens: int = 64) -> float:
    """Generated tokens per second for `batch` prompts at once (after one warm-up request)."""
    config = make_config(max_new_tokens=new_tokens, ignore_eos=True)
    requests = [GenerationRequest(prompt=CHATS[i % len(CHATS)], config=config) for i in range(batch)]
    lm.generate(requests[:1])
    start = time.perf_counter()
    tokens = sum(r.n_tokens for r in lm.generate(requests))
    return tokens / (time.perf_counter() - start)


def main() -> None:
    """Measure hf float32, then each OpenVINO format, and print the agreement table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--hellaswag", type=int, default=100)
    parser.add_argument("--mmlu-per-subject", type=int, default=1)
    parser.add_argument("--prompts", type=int, default=24)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    reference = load_model("default")
    base = {
        "texts": greedy_texts(reference, args.prompts),
        **scores(reference, args.data_dir, args.hellaswag, args.mmlu_per_subject),
        "speed": {b: speed(reference, b) for b in (1, 8)},
    }
    rows = []
    for dtype in ("float32", "int8"):
        lm = load_model(f"ov:default,dtype={dtype}")
        texts = greedy_texts(lm, args.prompts)
        scored = scores(lm, args.data_dir, args.hellaswag, args.mmlu_per_subject)
        deltas = [abs(a - b) for a, b in zip(scored["lls"], base["lls"])]
        fast = {b: speed(lm, b) for b in (1, 8)}
        rows.append({
            "engine": f"ov {dtype}",
            "greedy_identical": f"{sum(a == b for a, b in zip(texts, base['texts']))}/{len(texts)}",
            "logprob_max_abs_diff": max(deltas), "logprob_mean_abs_diff": sum(deltas) / len(deltas),
            "requests": len(deltas),
            "accuracy_delta": {k: round(v - base["accuracy"][k], 4) for k, v in scored["accuracy"].items()},
            "tok_s": {b: round(v, 1) for b, v in fast.items()},
            "speedup": {b: round(fast[b] / base["speed"][b], 2) for b in fast},
        })  # fmt: skip
        print(rows[-1], file=sys.stderr)
    hf_speed = {b: round(v, 1) for b, v in base["speed"].items()}
    summary = {"hf_float32": {"accuracy": base["accuracy"], "tok_s": hf_speed}, "openvino": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
