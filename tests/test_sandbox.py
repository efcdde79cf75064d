"""The code sandbox: correct programs pass, and hostile ones are stopped without touching the host."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from sllm.errors import SllmError
from sllm.execution import SandboxLimits, run_program, run_programs, sandbox_status
from sllm.execution import sandbox as sandbox_module
from sllm.metrics import get_metric
from sllm.tasks.data import SAMPLES

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "humaneval" / "HumanEval.jsonl"
pytestmark = pytest.mark.skipif(sandbox_status() is not None, reason=str(sandbox_status()))
FAST = SandboxLimits(timeout_s=3.0)


def _problems(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _check(problem: dict) -> str:
    return problem["test"] + f"\ncheck({problem['entry_point']})"


def _pass_at_1(problems: list[dict], completions: list[str]) -> float:
    metric = get_metric("pass_at_k")
    scores = [
        metric.fn([c], [_check(p)], doc=p, k=[1], prefix_field="prompt")["pass@1"]
        for p, c in zip(problems, completions, strict=True)
    ]
    return sum(scores) / len(scores)


def test_canonical_solutions_pass_and_empty_bodies_fail() -> None:
    problems = _problems(SAMPLES / "humaneval" / "HumanEval.jsonl")
    assert _pass_at_1(problems, [p["canonical_solution"] for p in problems]) == 1.0
    assert _pass_at_1(problems, ["    pass\n"] * len(problems)) == 0.0


@pytest.mark.skipif(not SHARED.is_file(), reason="../shared/data/humaneval not present")
def test_all_164_shared_canonical_solutions_pass() -> None:
    problems = _problems(SHARED)
    programs = [p["prompt"] + p["canonical_solution"] + "\n" + _check(p) + "\n" for p in problems]
    results = run_programs(programs, SandboxLimits(timeout_s=20.0))
    failed = [p["task_id"] for p, r in zip(problems, results, strict=True) if not r.passed]
    assert len(results) == 164 and failed == []


def test_infinite_loop_times_out() -> None:
    result = run_program("while True:\n    pass\n", FAST)
    assert result.status == "timeout" and not result.passed
    assert result.duration_s < 10


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
    assert not result.passed
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
        # The working directory is writable, and private to this one run.
        assert run_program("open('scratch.txt', 'w').write('ok')\n", FAST).passed
    finally:
        victim.unlink()
        victim_dir.rmdir()


def test_environment_is_not_leaked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLLM_TEST_SECRET", "hunter2")
    result = run_program("import os\nprint(sorted(os.environ.items()))\n", FAST)
    assert result.passed and "hunter2" not in result.stdout and "PATH" in result.stdout


def test_home_folders_are_hidden(tmp_path: Path) -> None:
    secret = Path.home() / ".sllm-sandbox-test-secret"
    secret.write_text("token")
    try:
        result = run_program(f"print(open({str(secret)!r}).read())\n", FAST)
        assert result.status == "failed" and "token" not in result.stdout
    finally:
        secret.unlink()


def test_exiting_early_is_not_a_pass() -> None:
    assert not run_program("import sys\nsys.exit(0)\nassert False\n", FAST).passed
    assert not run_program("import os\nos._exit(0)\n", FAST).passed
    assert run_program("print('hello')\n", FAST).stdout == "hello"


def test_missing_bubblewrap_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    sandbox_status.cache_clear()
    try:
        with pytest.raises(SllmError, match="bubblewrap"):
            run_program("print(1)\n", FAST)
    finally:
        sandbox_status.cache_clear()


def test_interpreter_under_tmp_is_mounted_back(tmp_path: Path) -> None:
    # CI clones (and many users' venvs) live under /tmp, which the sandbox replaces with a tmpfs.
    import subprocess

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    result = run_program("import sys\nprint(sys.prefix)\n", SandboxLimits(timeout_s=5, python=python))
    assert result.passed, result.stderr
    assert result.stdout == str(tmp_path / "venv")
