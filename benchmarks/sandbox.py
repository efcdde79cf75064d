"""Cost of the code sandbox: start-up per program against a plain subprocess, and HumanEval throughput.

    python benchmarks/sandbox.py [--data ../shared/data/humaneval/HumanEval.jsonl]

The baseline runs only an empty program outside the sandbox (never the benchmark's code:
model-written or not, it is executed only sandboxed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from sllm.execution import SandboxLimits, run_program, run_programs
from sllm.tasks.data import SAMPLES

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "humaneval" / "HumanEval.jsonl"


def per_program(fn, repeats: int = 20) -> float:  # noqa: ANN001
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, default=SHARED if SHARED.is_file() else SAMPLES / "humaneval" / "HumanEval.jsonl"
    )
    args = parser.parse_args()
    plain = per_program(lambda: subprocess.run([sys.executable, "-I", "-c", "pass"], check=True))
    sandboxed = per_program(lambda: run_program("pass\n"))
    print(
        f"empty program: plain subprocess {plain * 1000:.0f} ms, sandboxed {sandboxed * 1000:.0f} ms "
        f"({sandboxed / plain:.2f}x)"
    )
    problems = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    programs = [
        p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + f"\ncheck({p['entry_point']})\n"
        for p in problems
    ]
    for workers in (1, 2):
        started = time.perf_counter()
        results = run_programs(programs, SandboxLimits(timeout_s=20), workers=workers)
        elapsed = time.perf_counter() - started
        passed = sum(r.passed for r in results)
        print(
            f"{len(programs)} canonical solutions, {workers} worker(s): {elapsed:.1f} s "
            f"({len(programs) / elapsed:.1f} programs/s), {passed} passed"
        )


if __name__ == "__main__":
    main()
