"""The code sandbox: correct programs pass, and hostile ones are stopped without touching the host.

Attacks on the sandbox and on the verdict, run as root and as an unprivileged user, are in
test_sandbox_hostile.py; this file covers the everyday behaviour.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sllm.errors import SllmError
from sllm.execution import CodeTask, SandboxLimits, run_judged, run_judged_many, run_program, sandbox_status
from sllm.execution import sandbox as sandbox_module
from sllm.execution.inside import wire
from sllm.metrics import get_metric
from sllm.tasks.data import SAMPLES

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "humaneval" / "HumanEval.jsonl"
HELPERS = Path(__file__).resolve().parent / "fixtures" / "humaneval" / "helpers.jsonl"
pytestmark = pytest.mark.skipif(sandbox_status() is not None, reason=str(sandbox_status()))
FAST = SandboxLimits(timeout_s=5.0)


def _problems(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _task(problem: dict, completion: str) -> CodeTask:
    tests = problem["test"] + f"\ncheck({problem['entry_point']})"
    return CodeTask(problem["prompt"], completion, tests, problem["entry_point"])


def _pass_at_1(problems: list[dict], completions: list[str]) -> float:
    metric = get_metric("pass_at_k")
    options = {"k": [1], "prefix_field": "prompt", "entry_point_field": "entry_point"}
    scores = [
        metric.fn([c], [_task(p, c).tests], doc=p, **options)["pass@1"]
        for p, c in zip(problems, completions, strict=True)
    ]
    return sum(scores) / len(scores)


def test_canonical_solutions_pass_and_empty_bodies_fail() -> None:
    problems = _problems(SAMPLES / "humaneval" / "HumanEval.jsonl")
    assert _pass_at_1(problems, [p["canonical_solution"] for p in problems]) == 1.0
    assert _pass_at_1(problems, ["    pass\n"] * len(problems)) == 0.0


def test_the_judge_runs_the_prompt_helpers_the_tests_use() -> None:
    # HumanEval/32's tests call the prompt's poly(), /38's encode_cyclic(): defined in the judge.
    problems = _problems(HELPERS)
    results = run_judged_many([_task(p, p["canonical_solution"]) for p in problems], FAST)
    assert [r.status for r in results] == ["passed"] * 3
    results = run_judged_many([_task(p, "    return None\n") for p in problems], FAST)
    assert [r.status for r in results] == ["failed"] * 3
    assert "AssertionError" in results[1].judge


def test_pass_at_k_without_an_entry_point_is_one_clear_error() -> None:
    with pytest.raises(SllmError, match="entry_point_field"):
        get_metric("pass_at_k").fn(["    return 1\n"], ["assert f() == 1\n"], doc={}, prefix_field="prompt")


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_file(), reason="../shared/data/humaneval not present")
def test_all_164_shared_canonical_solutions_pass_and_pass_bodies_fail() -> None:
    problems = _problems(SHARED)
    results = run_judged_many(
        [_task(p, p["canonical_solution"]) for p in problems], SandboxLimits(timeout_s=20)
    )
    failed = [p["task_id"] for p, r in zip(problems, results, strict=True) if not r.passed]
    assert len(results) == 164 and failed == []
    results = run_judged_many([_task(p, "    pass\n") for p in problems], SandboxLimits(timeout_s=20))
    passed = [p["task_id"] for p, r in zip(problems, results, strict=True) if r.passed]
    assert passed == []


def test_values_cross_between_sandboxes_exactly() -> None:
    prompt = "def echo(x):\n    '''Return x.'''\n"
    values = [
        None,
        True,
        3,
        -0.0,
        math.inf,
        -math.inf,
        2.5,
        1 + 2j,
        "é",
        b"\x00",
        (1, [2]),
        {3},
        frozenset(),
        {"k": (1.5,)},
    ]
    tests = (
        "import math\nfrom math import inf\n"
        f"for v in {values!r}:\n"
        "    r = echo(v)\n"
        "    assert r == v and type(r) is type(v), (r, v)\n"
        "assert math.isnan(echo(float('nan')))\n"
        "assert math.copysign(1, echo(-0.0)) == -1\n"
    )
    result = run_judged(CodeTask(prompt, "    return x\n", tests, "echo"), FAST)
    assert result.status == "passed", result.judge


def test_the_candidates_exceptions_reach_the_tests_as_builtin_exceptions() -> None:
    prompt = "def parse(s):\n    '''int(s)'''\n"
    tests = (
        "try:\n    parse('x')\n    raise SystemExit(1)\n"
        "except ValueError as exc:\n    assert 'invalid literal' in str(exc)\n"
    )
    assert run_judged(CodeTask(prompt, "    return int(s)\n", tests, "parse"), FAST).status == "passed"


def test_wire_rejects_malformed_values() -> None:
    for bad in [(), ("X", 1), ("I", "1"), ("L", ("I", 1)), ("F", "NaN"), ("D", [("I", 1)]), [("N",)]]:
        with pytest.raises(wire.ChannelError):
            wire.decode(bad)


def test_infinite_loop_times_out() -> None:
    limits = SandboxLimits(timeout_s=2.0)
    result = run_program("while True:\n    pass\n", limits)
    assert result.status == "timeout" and not result.passed
    judged = run_judged(
        CodeTask("def f():\n    '''.'''\n", "    while True:\n        pass\n", "f()\n", "f"), limits
    )
    assert judged.status == "timeout"


def test_ten_gigabyte_allocation_fails() -> None:
    result = run_program("x = bytearray(10 * 1024**3)\n", FAST)
    assert result.status == "failed" and "MemoryError" in result.stderr


def test_socket_to_host_listener_is_refused() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # the kernel would queue a connection even before accept()
    port = server.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
    try:
        result = run_program(code, FAST)
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()
    assert result.status == "failed" and "ConnectionRefusedError" in result.stderr


def test_fork_bomb_is_stopped() -> None:
    code = "import os\nwhile True:\n    os.fork()\n"
    result = run_program(code, FAST)
    assert result.status == "failed" and "BlockingIOError" in result.stderr


def test_files_outside_the_sandbox_cannot_be_deleted_or_written() -> None:
    victim_dir = Path(sys.prefix) / "sllm-sandbox-victim"
    victim_dir.mkdir(exist_ok=True)
    victim_dir.chmod(0o777)  # only the read-only mount stands in the way, not file permissions
    victim = victim_dir / "keep.txt"
    victim.write_text("precious")
    victim.chmod(0o666)
    try:
        code = f"import shutil, os\nopen({str(victim)!r}, 'w').write('changed')\n"
        result = run_program(code, FAST)
        assert result.status == "failed" and "Read-only file system" in result.stderr
        result = run_program(f"import shutil\nshutil.rmtree({str(victim_dir)!r})\n", FAST)
        assert result.status == "failed"
        assert victim.read_text() == "precious"
        # The working directory (/tmp, a tmpfs) is writable, and private to this one run.
        assert run_program("open('scratch.txt', 'w').write('ok')\n", FAST).passed
        assert run_program("import os\nprint(sorted(os.listdir('.')))\n", FAST).stdout == "['program.py']\n"
    finally:
        victim.unlink()
        victim_dir.rmdir()


def test_environment_is_not_leaked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLLM_TEST_SECRET", "hunter2")
    result = run_program("import os\nprint(sorted(os.environ))\n", FAST)
    assert result.stdout == "['HOME', 'LANG', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'PATH', 'PWD']\n"


def test_home_folders_are_hidden() -> None:
    secret = Path.home() / ".sllm-sandbox-test-secret"
    secret.write_text("token")
    try:
        result = run_program(f"print(open({str(secret)!r}).read())\n", FAST)
        assert (
            result.status == "failed"
            and "FileNotFoundError" in result.stderr
            and "token" not in result.stdout
        )
    finally:
        secret.unlink()


def test_run_program_reports_how_a_program_ended_not_whether_it_is_right() -> None:
    assert run_program("import sys\nsys.exit(0)\nassert False\n", FAST).status == "failed"
    # Exit status 0 is all run_program can see: os._exit(0) looks like a normal end.
    assert run_program("import os\nos._exit(0)\nassert False\n", FAST).status == "passed"
    assert run_program("print('hello')\n", FAST).stdout == "hello\n"


def test_missing_bubblewrap_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "which", lambda name: None)
    sandbox_status.cache_clear()
    try:
        with pytest.raises(SllmError, match="bubblewrap"):
            run_program("print(1)\n", FAST)
    finally:
        sandbox_status.cache_clear()


def test_interpreter_under_tmp_is_mounted_back(tmp_path: Path) -> None:
    # CI clones (and many users' venvs) live under /tmp, which the sandbox replaces with a tmpfs.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    result = run_program("import sys\nprint(sys.prefix)\n", SandboxLimits(timeout_s=5, python=python))
    assert result.passed, result.stderr
    assert result.stdout == str(tmp_path / "venv") + "\n"
