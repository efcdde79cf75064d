"""Parity and speed against lm-evaluation-harness, task by task, as a user runs both tools.

    pip install -e '.[bench]'          # lm-eval==0.4.13
    python benchmarks/lm_eval_parity.py [--data-dir ../shared/data] [--rounds 3] [--hellaswag 200]
           [--mmlu-per-subject 2] [--truthfulqa 100] [--batch-size 16] [--tasks hellaswag,mmlu_0,...]
           [--markdown] [--json FILE]

Each task runs as two command lines, `sllm eval` and `lm_eval`, on the same documents, prompts and
model folder (the default model's safetensors) in float32 on the CPU, at the same batch size, with
no cache, each in a fresh process: the wall time is what a user waits, start-up and model
loading included. The two tools alternate within each round (sllm first in odd rounds, lm-eval
first in even ones) and the table reports median wall times over the rounds. lm-eval reads the
documents as local JSONL tasks written here (YAML configs in its own format, mirroring its
hellaswag / mmlu / truthfulqa_mc1 tasks; MMLU few-shot from the dev split with its `first_n`
sampler, as lm-eval's mmlu does). Predictions are compared per document (argmax of the raw
log-likelihoods on both sides). ARC is not in ../shared/data; it is skipped unless --data-dir
holds an arc folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from sllm.models.default_model import default_model_path
from sllm.tasks.data import load_task_data
from sllm.tasks.registry import get_registry

MMLU_PREAMBLE = "The following are multiple choice questions (with answers) about {}.\n\n"
MMLU_TEXT = (
    "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\n"
    "D. {{choices[3]}}\nAnswer:"
)
BIN = Path(sys.executable).parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def benchmark_tasks(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The benchmark rows: sllm task names, documents per task and number of exemplars."""
    registry = get_registry()
    mmlu = registry.groups["mmlu"]
    rows = {
        "hellaswag": {"tasks": ["hellaswag"], "limit": args.hellaswag, "shots": 0},
        "mmlu_0shot": {"tasks": mmlu, "limit": args.mmlu_per_subject, "shots": 0},
        "mmlu_5shot": {"tasks": mmlu, "limit": args.mmlu_per_subject, "shots": 5},
        "truthfulqa_mc1": {"tasks": ["truthfulqa_mc1"], "limit": args.truthfulqa, "shots": 0},
        "arc_easy": {"tasks": ["arc_easy"], "limit": args.arc, "shots": 0},
    }
    if not (Path(args.data_dir) / "arc").is_dir():
        rows.pop("arc_easy")
    wanted = args.tasks.split(",") if args.tasks else list(rows)
    return {name: rows[name] for name in wanted if name in rows}


def write_lm_eval_task(task: str, limit: int, data_dir: str, folder: Path) -> str:
    """Write one task's documents (and dev exemplars) as JSONL plus an lm-eval YAML config."""
    spec = get_registry().tasks[task]
    data = load_task_data(spec, data_dir)
    test = folder / f"{task}.jsonl"
    test.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in data.docs[:limit]))
    files = {"test": str(test)}
    config: dict[str, Any] = {
        "task": f"parity_{task}",
        "dataset_path": "json",
        "test_split": "test",
        "output_type": "multiple_choice",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1.0},
    }
    if task == "hellaswag":
        config.update(doc_to_text="{{query}}", doc_to_target="{{label}}", doc_to_choice="choices")
    elif task.startswith("mmlu_"):
        dev = folder / f"{task}_dev.jsonl"
        dev.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in data.fewshot_docs))
        files["dev"] = str(dev)
        config.update(
            doc_to_text=MMLU_TEXT,
            doc_to_target="answer",
            doc_to_choice=["A", "B", "C", "D"],
            description=MMLU_PREAMBLE.format(task.removeprefix("mmlu_").replace("_", " ")),
            fewshot_split="dev",
            fewshot_config={"sampler": "first_n"},
        )
    elif task == "truthfulqa_mc1":
        config.update(doc_to_text=spec.doc_to_text, doc_to_target=0, doc_to_choice="{{mc1_targets.choices}}")
    elif task.startswith("arc_"):
        config.update(
            doc_to_text=spec.doc_to_text, doc_to_target=spec.doc_to_target, doc_to_choice=spec.doc_to_choice
        )
    config["dataset_kwargs"] = {"data_files": files}
    (folder / f"{task}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return f"parity_{task}"


def run_sllm(row: dict[str, Any], args: argparse.Namespace, out: Path) -> tuple[float, dict]:
    """`sllm eval` in a fresh process; wall seconds and task -> doc -> predicted index."""
    command = [
        str(BIN / "sllm"), "eval", "--model", f"hf:{default_model_path()}", "--tasks", ",".join(row["tasks"]),
        "--limit", str(row["limit"]), "--num-fewshot", str(row["shots"]), "--data-dir", args.data_dir,
        "--batch-size", str(args.batch_size), "--no-cache", "--no-track", "--output", str(out), "--json",
    ]  # fmt: skip
    start = time.perf_counter()
    _run(command)
    seconds = time.perf_counter() - start
    predictions: dict[str, dict[int, int]] = {}
    for samples in out.rglob("samples.jsonl"):
        for line in samples.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            lls = sample["loglikelihoods"]
            predictions.setdefault(sample["task"], {})[sample["doc_id"]] = max(
                range(len(lls)), key=lls.__getitem__
            )
    return seconds, predictions


def run_lm_eval(row: dict[str, Any], args: argparse.Namespace, out: Path) -> tuple[float, dict]:
    """`lm_eval` in a fresh process on tasks written here; wall seconds and predictions."""
    folder = out / "tasks"
    folder.mkdir(parents=True)
    names = [write_lm_eval_task(t, row["limit"], args.data_dir, folder) for t in row["tasks"]]
    command = [
        str(BIN / "lm_eval"), "--model", "hf",
        "--model_args", f"pretrained={default_model_path()},dtype=float32",
        "--device", "cpu",
        "--tasks", ",".join(names), "--include_path", str(folder), "--num_fewshot", str(row["shots"]),
        "--batch_size", str(args.batch_size), "--log_samples", "--output_path", str(out / "results"),
    ]  # fmt: skip
    start = time.perf_counter()
    _run(command)
    seconds = time.perf_counter() - start
    predictions: dict[str, dict[int, int]] = {}
    for samples in (out / "results").rglob("samples_parity_*.jsonl"):
        task = samples.name.removeprefix("samples_parity_").rsplit("_", 1)[0]
        for line in samples.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            lls = [float(resp[0]) for resp in sample["filtered_resps"]]
            predictions.setdefault(task, {})[int(sample["doc_id"])] = max(
                range(len(lls)), key=lls.__getitem__
            )
    return seconds, predictions


def _run(command: list[str]) -> None:
    done = subprocess.run(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"{Path(command[0]).name} failed:\n{done.stderr[-3000:]}")


def agreement(ours: dict, theirs: dict) -> tuple[int, int]:
    """(documents predicted alike, documents compared)."""
    same = total = 0
    for task, docs in ours.items():
        for doc, pick in docs.items():
            total += 1
            same += int(theirs.get(task, {}).get(doc) == pick)
    return same, total


def main() -> None:
    """Alternate both tools over the rounds and print the per-task table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hellaswag", type=int, default=200)
    parser.add_argument("--mmlu-per-subject", type=int, default=2)
    parser.add_argument("--truthfulqa", type=int, default=100)
    parser.add_argument("--arc", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--tasks", default="", help="comma-separated rows (default: all)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", default="", help="also write the results to this file")
    args = parser.parse_args()

    rows = benchmark_tasks(args)
    times: dict[str, dict[str, list[float]]] = {name: {"sllm": [], "lm_eval": []} for name in rows}
    agree: dict[str, tuple[int, int]] = {}
    for round_ in range(args.rounds):
        for name, row in rows.items():
            order = [("sllm", run_sllm), ("lm_eval", run_lm_eval)]
            for tool, run in order if round_ % 2 == 0 else order[::-1]:
                with tempfile.TemporaryDirectory() as tmp:
                    seconds, predictions = run(row, args, Path(tmp))
                times[name][tool].append(seconds)
                row.setdefault("predictions", {})[tool] = predictions
                print(f"round {round_ + 1} {name} {tool}: {seconds:.1f} s", file=sys.stderr)
            agree[name] = agreement(row["predictions"]["sllm"], row["predictions"]["lm_eval"])
    report = []
    for name, row in rows.items():
        sllm, lm_eval = statistics.median(times[name]["sllm"]), statistics.median(times[name]["lm_eval"])
        same, total = agree[name]
        report.append({
            "task": name, "documents": total, "shots": row["shots"], "sllm_s": round(sllm, 1),
            "lm_eval_s": round(lm_eval, 1), "speedup": round(lm_eval / sllm, 2),
            "identical_predictions": f"{same}/{total}", "rounds": args.rounds,
            "sllm_runs_s": [round(t, 1) for t in times[name]["sllm"]],
            "lm_eval_runs_s": [round(t, 1) for t in times[name]["lm_eval"]],
        })  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if args.markdown:
        print("| task | docs | shots | sllm (s) | lm-eval (s) | speed-up | identical predictions |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in report:
            print(
                f"| {r['task']} | {r['documents']} | {r['shots']} | {r['sllm_s']} | {r['lm_eval_s']} "
                f"| {r['speedup']}x | {r['identical_predictions']} |"
            )
    else:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
