"""SFT throughput and peak memory: sllm's LoRA SFT without and with packing, against plain TRL
SFTTrainer defaults, on the same rows, same model, same machine, same run.

    python benchmarks/train.py --data-dir ../shared/data --rows 64 --steps 8

Each configuration runs in its own process (peak RSS is per process). Tokens per second are the
tokens the trainer fed (TRL's `num_tokens`) over the training wall time. "TRL defaults" is
`SFTConfig(output_dir=..., use_cpu=True)` with the same LoRA adapter: bf16, gradient
checkpointing, loss on every token, max_length 1024 -- what a user gets without sllm's CPU
settings (it runs a quarter of the steps: its bf16 matmuls are ~15x slower on CPU). Prints a
Markdown table of absolute figures and ratios to the first row.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rows(data_dir: Path | None, n: int) -> list[dict]:
    """Alpaca rows: the shared Self-Instruct seed tasks (first instance), else the test fixture."""
    seeds = data_dir / "self_instruct_seed" / "seed_tasks.jsonl" if data_dir else None
    if seeds is not None and seeds.is_file():
        tasks = [json.loads(line) for line in seeds.read_text().splitlines()]
        out = [{"instruction": t["instruction"], "input": t["instances"][0]["input"],
                "output": t["instances"][0]["output"]} for t in tasks]  # fmt: skip
    else:
        out = [
            json.loads(line)
            for line in (ROOT / "tests/fixtures/sft/seed_alpaca.jsonl").read_text().splitlines()
        ]
    return (out * (n // len(out) + 1))[:n]


def child(kind: str, data: str, steps: int, out: str, max_length: int) -> None:
    """One configuration, in this process; prints a JSON line with its figures."""
    started = time.time()
    if kind == "trl-defaults":
        import torch
        from datasets import Dataset
        from peft import LoraConfig
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import SFTConfig, SFTTrainer

        from sllm.data.formats import load_examples
        from sllm.models.default_model import default_model_path

        folder = default_model_path()
        examples, _ = load_examples(data)
        dataset = Dataset.from_list([{"messages": e.messages} for e in examples])
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        # bf16 on CPU is ~15x slower: fewer steps give the same tokens/s in reasonable time
        args = SFTConfig(output_dir=out, use_cpu=True, max_steps=max(2, steps // 4),
                         per_device_train_batch_size=4, report_to="none", save_strategy="no",
                         learning_rate=2e-4)  # fmt: skip
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset,
                             processing_class=AutoTokenizer.from_pretrained(folder),
                             peft_config=LoraConfig(r=8, lora_alpha=16, target_modules="all-linear",
                                                    task_type="CAUSAL_LM"))  # fmt: skip
        history = []
        train = trainer.train()
        history = trainer.state.log_history
    else:
        from sllm.train.config import SFTRunConfig
        from sllm.train.sft import sft_trainer

        config = SFTRunConfig(data=data, output_dir=out, max_steps=steps, batch_size=4, eval_fraction=0,
                              packing=kind == "sllm-packing", track=False, max_length=max_length)  # fmt: skip
        trainer, _ = sft_trainer(config)
        train = trainer.train()
        history = trainer.state.log_history
    tokens = max((h.get("num_tokens", 0) for h in history), default=0)
    runtime = train.metrics["train_runtime"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"kind": kind, "tokens": tokens, "train_s": runtime, "tokens_per_s": tokens / runtime,
                      "peak_rss_mb": peak_mb, "total_s": time.time() - started}))  # fmt: skip


def main() -> None:
    """Run each configuration in a subprocess and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512, help="sllm's max_length (packed block size)")
    parser.add_argument("--child", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data, args.steps, args.out, args.max_length)
        return
    work = Path(tempfile.mkdtemp(prefix="sllm-bench-train-"))
    data = work / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows(args.data_dir, args.rows)))
    results = []
    for kind in ("sllm", "sllm-packing", "trl-defaults"):
        command = [sys.executable, __file__, "--child", kind, "--data", str(data), "--steps", str(args.steps),
                   "--out", str(work / kind), "--max-length", str(args.max_length)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{kind} failed")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first = results[0]
    print(f"{args.steps} steps of batch 4 on {args.rows} rows (LoRA r=8, all linear layers)\n")
    print("| configuration | tokens | train s | tokens/s | vs sllm | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['kind']} | {r['tokens']:.0f} | {r['train_s']:.1f} | {r['tokens_per_s']:.1f} | "
              f"{r['tokens_per_s'] / first['tokens_per_s']:.2f}× | {r['peak_rss_mb']:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
