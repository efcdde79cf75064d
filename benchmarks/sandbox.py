"""Cost of the code sandbox: start-up against a plain subprocess, and HumanEval time per problem.

    python benchmarks/sandbox.py [--data ../shared/data/humaneval/HumanEval.jsonl] [--workers 1,2]

Three ways of running the canonical solutions, measured in the same run: a judged run (two
sandboxes per problem, the verdict pass_at_k uses), and one sandbox running the whole program
(prompt + solution + tests, what sllm did before the judge existed; its exit status is not a
verdict). The baseline runs only an empty program outside the sandbox (never the benchmark's
code: model-written or not, it is executed only sandboxed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sllm.execution import CodeTask, SandboxLimits, run_judged_many, run_program, run_programs
from sllm.tasks.data import SAMPLES

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "humaneval" / "HumanEval.jsonl"
LIMITS = SandboxLimits(timeout_s=20)


def per_call(fn: Callable[[], object], repeats: int = 20) -> float:
    """Mean seconds per call of fn."""
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def timed(label: str, run: Callable[..., list], items: list, workers: int) -> None:
    """Run all items once; print the time per problem and how many passed."""
    started = time.perf_counter()
    results = run(items, LIMITS, workers)
    elapsed = time.perf_counter() - started
    n, passed = len(items), sum(r.passed for r in results)
    print(f"{label}: {elapsed:.1f} s, {elapsed / n * 1000:.0f} ms/problem, {passed}/{n} passed")


def main() -> None:
    """Print the measurements."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default = SHARED if SHARED.is_file() else SAMPLES / "humaneval" / "HumanEval.jsonl"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    args = parser.parse_args()
    plain = per_call(lambda: subprocess.run([sys.executable, "-I", "-c", "pass"], check=True))
    sandboxed = per_call(lambda: run_program("pass\n"))
    print(
        f"empty program: plain subprocess {plain * 1000:.0f} ms, sandboxed {sandboxed * 1000:.0f} ms "
        f"({sandboxed / plain:.2f}x)"
    )
    problems = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    tests = [p["test"] + f"\ncheck({p['entry_point']})" for p in problems]
    programs = [p["prompt"] + p["canonical_solution"] + "\n" + t + "\n" for p, t in zip(problems, tests)]
    judged = [
        CodeTask(p["prompt"], p["canonical_solution"], t, p["entry_point"]) for p, t in zip(problems, tests)
    ]
    empty = [CodeTask(p["prompt"], "    pass\n", t, p["entry_point"]) for p, t in zip(problems, tests)]
    for workers in (int(w) for w in args.workers.split(",")):
        print(f"-- {workers} worker(s), {len(problems)} problems")
        timed("  one sandbox, whole program", run_programs, programs, workers)
        timed("  judged (two sandboxes), canonical", run_judged_many, judged, workers)
        timed("  judged (two sandboxes), `pass` bodies", run_judged_many, empty, workers)


if __name__ == "__main__":
    main()
