"""The training issue's must-show run, end to end through the CLI on the default model: LoRA SFT on
200 rows of the shared Self-Instruct data (seed tasks + the paper's user-oriented instructions,
first instance of each), then

- the training loss over the first and last ten steps,
- the held-out loss (40 other rows) of the base model and of the trained one,
- the merged model's logits against the adapter's (max abs difference),
- answers to prompts neither model trained on: how many end with EOS within the token cap.

    python benchmarks/sft_demo.py --data-dir ../shared/data [--rows 200 --held-out 40 --unseen 10]

Prints one JSON object (the figures in docs/performance.md come from it).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def alpaca_rows(data_dir: Path) -> list[dict]:
    """Every shared Self-Instruct task as an Alpaca row (its first instance)."""
    folder = data_dir / "self_instruct_seed"
    tasks = []
    for name in ("seed_tasks.jsonl", "user_oriented_instructions.jsonl"):
        tasks += [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines()]
    firsts = [(t["instruction"], t["instances"][0]) for t in tasks]
    return [
        {"instruction": i, "input": x["input"], "output": x["output"]}
        for i, x in firsts
        if x["output"].strip()
    ]


def sllm(*args: str) -> dict:
    """Run the CLI with --json and return what it printed."""
    done = subprocess.run([sys.executable, "-m", "sllm", *args, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"sllm {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def logits_gap(adapter: Path, merged: Path, prompts: list[str]) -> dict[str, float]:
    """Logit differences, adapter model against merged: the exported fp32 folder, and a float64
    merge in memory (which shows what is left in fp32 is rounding, not the merge)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sllm.models.default_model import default_model_path

    tokenizer = AutoTokenizer.from_pretrained(adapter)

    def logits(model: object) -> list:
        with torch.no_grad():
            return [model(**tokenizer(p, return_tensors="pt")).logits for p in prompts]

    def on_base(dtype: torch.dtype) -> object:
        base = AutoModelForCausalLM.from_pretrained(default_model_path(), dtype=dtype)
        return PeftModel.from_pretrained(base, str(adapter))

    def gap(a: list, b: list) -> float:
        return max((x - y).abs().max().item() for x, y in zip(a, b))

    fp32 = logits(on_base(torch.float32))
    exported = logits(AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32))
    fp64 = logits(on_base(torch.float64))
    fp64_merged = logits(on_base(torch.float64).merge_and_unload())
    return {
        "fp32_max_abs": gap(fp32, exported),
        "fp32_max_abs_logit": max(x.abs().max().item() for x in fp32),
        "fp32_same_argmax": all(bool((x.argmax(-1) == y.argmax(-1)).all()) for x, y in zip(fp32, exported)),
        "fp64_max_abs": gap(fp64, fp64_merged),
    }


def endings(spec: str, prompts: list[str], cap: int) -> dict:
    """How many answers end with EOS (finish_reason stop) within `cap` new tokens."""
    reasons = [
        sllm("generate", "--model", spec, "--max-new-tokens", str(cap), p)["finish_reason"] for p in prompts
    ]
    return {"stop": reasons.count("stop"), "length": reasons.count("length"), "n": len(prompts)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--held-out", type=int, default=40)
    parser.add_argument("--unseen", type=int, default=10)
    parser.add_argument("--cap", type=int, default=160, help="max new tokens for the EOS check")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()

    rows = alpaca_rows(args.data_dir)
    random.Random(0).shuffle(rows)
    train, held = rows[: args.rows], rows[args.rows : args.rows + args.held_out]
    unseen = rows[args.rows + args.held_out : args.rows + args.held_out + args.unseen]
    work = args.work or Path(tempfile.mkdtemp(prefix="sllm-sft-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    train_file, held_file = write(work / "train.jsonl", train), write(work / "held_out.jsonl", held)

    started = time.time()
    result = sllm("train", "sft", "--data", str(train_file), "-o", str(work / "run"), "--no-track",
                  f"eval_data={held_file}", "epochs=1", "batch_size=4", "max_length=256",
                  "learning_rate=3e-4", "lora.r=16", "lora.alpha=32", "logging_steps=1")  # fmt: skip
    train_s = time.time() - started
    losses = [h["loss"] for h in result["history"] if "loss" in h]
    final = Path(result["folder"])
    merged = Path(sllm("export", str(final), "-o", str(work / "merged"))["folder"])
    prompts = [(r["instruction"] + ("\n\n" + r["input"] if r["input"] else "")) for r in unseen]
    from sllm.models.default_model import default_model_path

    figures = {
        "rows": len(train), "held_out": len(held), "steps": len(losses), "train_s": round(train_s, 1),
        "loss_first10": sum(losses[:10]) / 10, "loss_last10": sum(losses[-10:]) / 10,
        **{k: result["metrics"][k] for k in ("base_eval_loss", "eval_loss", "base_perplexity", "perplexity")},
        "merged_vs_adapter_logits": logits_gap(final, merged, prompts[:3]),
        "eos_base": endings("default", prompts, args.cap),
        "eos_trained": endings(f"hf:{default_model_path()},adapter={final}", prompts, args.cap),
        "work": str(work),
    }  # fmt: skip
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
