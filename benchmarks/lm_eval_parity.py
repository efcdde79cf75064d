"""Parity and speed against lm-evaluation-harness on the shared multiple-choice slices.

    pip install -e '.[bench]'          # lm-eval==0.4.13
    python benchmarks/lm_eval_parity.py --data-dir ../shared/data [--hellaswag 200] [--mmlu-per-subject 2]
           [--truthfulqa 100] [--batch-size 16] [--json]

Both harnesses score the same items with the same prompts, the same model folder (the default
model's safetensors) in float32 on the CPU, at the same batch size, with no cache. lm-eval reads
the items as local JSONL tasks written here into a temporary folder (YAML configs in lm-eval's own
format, mirroring its hellaswag / mmlu / truthfulqa_mc tasks). Reported: accuracy of each side,
the difference in points, per-item agreement of the predicted choice, and wall time of each
side with the ratio; also our scored tokens per second against the machine's fp32 matmul peak.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch  # noqa: E402

from sllm.evaluation.instances import build_instances  # noqa: E402
from sllm.models.default_model import default_model_path  # noqa: E402
from sllm.models.spec import load_model  # noqa: E402
from sllm.tasks.data import load_task_data  # noqa: E402
from sllm.tasks.registry import get_registry  # noqa: E402

MMLU_PREAMBLE = "The following are multiple choice questions (with answers) about {}.\n\n"
MMLU_TEXT = (
    "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\n"
    "D. {{choices[3]}}\nAnswer:"
)


def write_lm_eval_tasks(tasks: dict[str, list[dict[str, Any]]], folder: Path) -> list[str]:
    """Write each task's documents as JSONL plus an lm-eval YAML config; return lm-eval task names."""
    import yaml

    names = []
    registry = get_registry()
    for task, docs in tasks.items():
        spec = registry.tasks[task]
        data_file = folder / f"{task}.jsonl"
        data_file.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
        config: dict[str, Any] = {
            "task": f"parity_{task}",
            "dataset_path": "json",
            "dataset_kwargs": {"data_files": {"test": str(data_file)}},
            "test_split": "test",
            "output_type": "multiple_choice",
            "metric_list": [
                {"metric": m, "aggregation": "mean", "higher_is_better": True}
                for m in spec.metric_names()
                if m in ("acc", "acc_norm")
            ],
            "metadata": {"version": 1.0},
        }
        if task == "hellaswag":
            config.update(doc_to_text="{{query}}", doc_to_target="{{label}}", doc_to_choice="choices")
        elif task.startswith("mmlu_"):
            subject = task.removeprefix("mmlu_")
            config.update(
                doc_to_text=MMLU_TEXT,
                doc_to_target="answer",
                doc_to_choice=["A", "B", "C", "D"],
                description=MMLU_PREAMBLE.format(subject.replace("_", " ")),
            )
        elif task == "truthfulqa_mc1":
            config.update(
                doc_to_text=spec.doc_to_text, doc_to_target=0, doc_to_choice="{{mc1_targets.choices}}"
            )
        else:
            continue
        (folder / f"{task}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
        names.append(f"parity_{task}")
    return names


def run_lm_eval(folder: Path, names: list[str], model_dir: Path, batch_size: int) -> tuple[dict, dict, float]:
    """Run lm-eval's HF backend on the written tasks; return results, samples, wall seconds."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    start = time.perf_counter()
    out = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model_dir},dtype=float32,device=cpu",
        tasks=names,
        num_fewshot=0,
        batch_size=batch_size,
        log_samples=True,
        task_manager=TaskManager(include_path=str(folder)),
        use_cache=None,
    )
    return out["results"], out["samples"], time.perf_counter() - start


def lm_eval_predictions(samples: list[dict[str, Any]]) -> dict[int, int]:
    """doc_id -> predicted choice index (argmax of raw log-likelihoods) from lm-eval's samples."""
    preds = {}
    for sample in samples:
        lls = [resp[0] for resp in sample["filtered_resps"]]
        preds[int(sample["doc_id"])] = max(range(len(lls)), key=lambda i: float(lls[i]))
    return preds


def token_counts(lm: Any, requests: list[Any]) -> tuple[int, int]:
    """Model-input tokens of the requests as a plain harness runs them, and as sllm computes them
    (each distinct context once, then each continuation but its last token)."""
    from sllm.models.tokens import request_tokens

    total, computed, seen = 0, 0, set()
    for request in requests:
        context, continuation = request_tokens(
            lm.encode, lm.prefix_token_id, request.context, request.continuation
        )
        total += len(context) + len(continuation) - 1
        if tuple(context) not in seen:
            seen.add(tuple(context))
            computed += len(context)
        computed += len(continuation) - 1
    return total, computed


def matmul_peak_gflops(size: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 matmul throughput of this machine (GFLOP/s), the ceiling for scoring."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    """Run both harnesses and print the comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--hellaswag", type=int, default=200)
    parser.add_argument("--mmlu-per-subject", type=int, default=2)
    parser.add_argument("--truthfulqa", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    registry = get_registry()
    limits = {"hellaswag": args.hellaswag, "truthfulqa_mc1": args.truthfulqa}
    limits.update({t: args.mmlu_per_subject for t in registry.groups["mmlu"]})
    docs = {t: load_task_data(registry.tasks[t], args.data_dir).docs[:n] for t, n in limits.items() if n}

    peak = matmul_peak_gflops()  # measured first, on a quiet machine
    lm = load_model("default", batch_size=args.batch_size)
    ours: dict[str, Any] = {}
    start = time.perf_counter()
    for task, task_docs in docs.items():
        ours[task] = build_instances(registry.tasks[task], task_docs, [], 0)
    flat = [r for insts in ours.values() for i in insts for r in i.requests]
    tokens, computed = token_counts(lm, flat)
    outputs = iter(lm.loglikelihood(flat, progress=True))
    for insts in ours.values():
        for inst in insts:
            inst.outputs = [next(outputs) for _ in inst.requests]
    our_seconds = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        names = write_lm_eval_tasks(docs, Path(tmp))
        theirs, their_samples, their_seconds = run_lm_eval(
            Path(tmp), names, default_model_path(), args.batch_size
        )

    report = compare(ours, theirs, their_samples)
    body = sum(p.numel() for n, p in lm.model.named_parameters() if "embed" not in n)
    report["speed"] = {
        "sllm_seconds": round(our_seconds, 1),
        "lm_eval_seconds": round(their_seconds, 1),
        "speedup": round(their_seconds / our_seconds, 2),
        "requests": len(flat),
        "tokens_in_requests": tokens,
        "batch_size": args.batch_size,
        "tokens_computed_by_sllm": computed,
        "sllm_request_tokens_per_s": round(tokens / our_seconds, 1),
        "sllm_computed_tokens_per_s": round(computed / our_seconds, 1),
        "fp32_matmul_peak_gflops": round(peak, 1),
        "peak_tokens_per_s": round(peak * 1e9 / (2 * body), 1),
    }
    if args.json:
        print(json.dumps(report))
        return
    print(json.dumps(report, indent=2))


def compare(ours: dict[str, Any], theirs: dict, their_samples: dict) -> dict[str, Any]:
    """Accuracy per group of tasks on both sides and per-item agreement of predictions."""
    groups = {
        "hellaswag": ["hellaswag"],
        "truthfulqa_mc1": ["truthfulqa_mc1"],
        "mmlu": [t for t in ours if t.startswith("mmlu_")],
    }
    report: dict[str, Any] = {}
    for group, tasks in groups.items():
        tasks = [t for t in tasks if t in ours]
        if not tasks:
            continue
        rows = {"acc": [], "acc_norm": [], "lm_acc": [], "lm_acc_norm": [], "agree": []}
        for task in tasks:
            preds = lm_eval_predictions(their_samples[f"parity_{task}"])
            for inst in ours[task]:
                lls = [o.logprob for o in inst.outputs]
                mine = max(range(len(lls)), key=lambda i: lls[i])
                norm = max(range(len(lls)), key=lambda i: lls[i] / len(inst.choices[i]))
                rows["acc"].append(float(mine == inst.gold))
                rows["acc_norm"].append(float(norm == inst.gold))
                rows["agree"].append(float(mine == preds[inst.doc_id]))
            n = len(ours[task])
            res = theirs[f"parity_{task}"]
            rows["lm_acc"].extend([res["acc,none"]] * n)
            if "acc_norm,none" in res:
                rows["lm_acc_norm"].extend([res["acc_norm,none"]] * n)
        mean = lambda v: round(100 * sum(v) / len(v), 2) if v else None  # noqa: E731
        report[group] = {
            "n": len(rows["acc"]),
            "sllm_acc": mean(rows["acc"]),
            "lm_eval_acc": mean(rows["lm_acc"]),
            "sllm_acc_norm": mean(rows["acc_norm"]) if rows["lm_acc_norm"] else None,
            "lm_eval_acc_norm": mean(rows["lm_acc_norm"]),
            "prediction_agreement": mean(rows["agree"]),
        }
    return report


if __name__ == "__main__":
    main()
