"""Hostile completions through the pass_at_k metric (HumanEval's path), as root and as a plain user.

Every completion below answers `add(a, b)` wrongly on purpose (or not at all), so it can only
pass by breaking the sandbox or forging the verdict. Each one reports what its attack met on
stderr; the tests check those lines, that nothing passed, that no secret of the parent leaked,
and that the host is unchanged. The same cases run in two modes: in this process when it is
root, and as uid 65534 (setpriv, in a private view of / where the folders that only root can
enter hold just the interpreter and the project) or in this process when it is not root.

This file is also the driver of the unprivileged run: `python test_sandbox_hostile.py CANARY_JSON`
prints the metric's records as JSON.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sllm.execution import sandbox_status
from sllm.execution.bwrap import SANDBOX_UIDS
from sllm.metrics import get_metric

REPO = Path(__file__).resolve().parents[1]
PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
TESTS = (
    "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n\ncheck(add)\n"
)
DISK_MB = 8
TIMEOUT_S = 3.0
SECRET_NAMES = ("SLLM_API_KEY", "OPENAI_API_KEY")
NOBODY = 65534

WRONG = "    return a - b\n\n"
# Shared by the attacks: print one `what: outcome` line per attempt (errno names, not messages).
REPORT = """
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)

def report(what, outcome):
    print(f"{what}: {outcome}", file=sys.stderr, flush=True)

def call(what, fn, *args):
    report(what, "ok" if fn(*args) != -1 else errno.errorcode[ctypes.get_errno()])

def attempt(what, fn):
    try:
        fn()
        report(what, "ok")
    except BaseException as exc:
        code = errno.errorcode.get(getattr(exc, "errno", None) or 0)
        report(what, f"{type(exc).__name__} {code}" if code else type(exc).__name__)
"""


def hostile_cases(canary: dict[str, Any]) -> dict[str, str]:
    """Completion source per attack; `canary` names the host objects the test put outside."""
    attacks = {
        "capabilities": """
            for line in open("/proc/self/status"):
                name, _, value = line.partition(":")
                if name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"):
                    report(name, value.strip())
            report("uid or gid 0", 0 in os.getresuid() + os.getresgid())
            report("groups", os.getgroups())
        """,
        "mounts": """
            call("umount2 /tmp", libc.umount2, b"/tmp", 2)
            call("umount2 /", libc.umount2, b"/", 2)
            call("remount / rw", libc.mount, None, b"/", None, 32 | 4096, None)
            call("mount tmpfs", libc.mount, b"none", b"/tmp", b"tmpfs", 0, None)
            call("unshare user+mount", libc.unshare, 0x10000000 | 0x00020000)
            call("setns", libc.setns, os.open("/proc/self/ns/mnt", os.O_RDONLY), 0)
            call("chroot", libc.chroot, b"/tmp")
        """,
        "environment": """
            for path in ("/proc/1/environ", "/proc/self/environ"):
                try:
                    print(path, open(path, "rb").read(), file=sys.stderr)
                except OSError as exc:
                    report(path, type(exc).__name__)
            report("environ", sorted(os.environ))
            report("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
        """,
        "host_files": f"""
            attempt("read /etc/shadow", lambda: open("/etc/shadow").read())
            report("/etc", sorted(os.listdir("/etc")))
            for folder in ("/home", "/var", "/run", "/sys"):
                attempt("list " + folder, lambda: os.listdir(folder))
            attempt("write canary", lambda: open({canary["file"]!r}, "w").write("changed"))
            attempt("write venv", lambda: open({canary["venv_file"]!r}, "w").write("changed"))
        """,
        "sockets": f"""
            import socket

            def unix(address):
                client = socket.socket(socket.AF_UNIX)
                client.connect(address)
                client.sendall(b"leak")

            attempt("connect host socket", lambda: unix({canary["socket"]!r}))
            attempt("connect abstract socket", lambda: unix("\\0" + {canary["abstract"]!r}))
            address = ("127.0.0.1", {canary["port"]})
            attempt("connect tcp", lambda: socket.create_connection(address, timeout=2))
        """,
        "disk_bombs": f"""
            written = 0
            try:
                for i in range(100):
                    fd = os.open(f"/tmp/bomb{{i}}", os.O_WRONLY | os.O_CREAT)
                    while True:
                        written += os.write(fd, b"x" * (1 << 20))
            except OSError as exc:
                report("fill /tmp", errno.errorcode[exc.errno])
            report("wrote more than the quota", written > {DISK_MB} << 20)
            for path in ("/bomb", "/dev/shm/bomb", "/dev/bomb", "/usr/lib/bomb"):
                attempt("write " + path, lambda: open(path, "w"))
            attempt("memfd_create", lambda: os.memfd_create("bomb"))
            call("shmget", libc.shmget, 0, 1 << 30, 0o1600)
        """,
        "processes": """
            import subprocess, threading
            attempt("fork", os.fork)
            attempt("thread", lambda: threading.Thread(target=print).start())
            attempt("subprocess", lambda: subprocess.run(["/usr/bin/true"]))
            call("clone3", libc.syscall, 435, None, 0)
        """,
    }
    cases = {name: WRONG + REPORT + textwrap.dedent(body) for name, body in attacks.items()}
    cases.update(_verdict_forgeries())
    cases["honest"] = "    return a + b\n"  # the control: the harness does pass a right answer
    return cases


def _verdict_forgeries() -> dict[str, str]:
    """Attempts to make the judge pass without computing a + b."""
    return {
        "frame_inspection_then_exit": (
            "    import os, sys\n"
            "    frame = sys._getframe()\n"
            "    while frame:\n"
            "        print(frame.f_code.co_name, sorted(frame.f_locals)[:8], file=sys.stderr)\n"
            "        frame = frame.f_back\n"
            "    print('sllm-judge: passed', flush=True)\n"
            "    os._exit(0)\n"
        ),
        "exit_zero_at_import": WRONG + "import os\nprint('sllm-judge: passed', flush=True)\nos._exit(0)\n",
        "system_exit_in_call": "    raise SystemExit(0)\n",
        "always_equal": (
            "    class AlwaysEqual(int):\n"
            "        def __eq__(self, other):\n"
            "            return True\n"
            "    return AlwaysEqual(0)\n"
        ),
        "always_equal_object": (
            "    class AlwaysEqual:\n"
            "        def __eq__(self, other):\n"
            "            return True\n"
            "    return AlwaysEqual()\n"
        ),
        "redefine_check": WRONG
        + "def check(candidate):\n    pass\nimport builtins\nbuiltins.check = check\n",
        "patch_builtins": (
            WRONG + "import builtins\nbuiltins.AssertionError = type('AssertionError', (Exception,), {})\n"
            "builtins.isinstance = lambda *a: True\n"
        ),
        "exception_named_system_exit": "    raise type('SystemExit', (Exception,), {})('0')\n",
        "forged_channel_frames": WRONG
        + REPORT
        + textwrap.dedent("""
            import struct
            for fd in map(int, os.listdir("/proc/self/fd")):
                try:
                    os.write(fd, struct.pack(">I", 6) + b"('ok',")  # a torn frame on every fd
                except OSError:
                    pass
        """),
        "oversized_reply": "    return 'x' * (5 << 20)\n",
        "sleep_past_the_wall_clock": "    import time\n    time.sleep(3600)\n",
    }


def run_cases(canary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """All cases through pass_at_k in one call (they run concurrently): name -> execution record."""
    cases = hostile_cases(canary)
    out = get_metric("pass_at_k").fn(
        list(cases.values()),
        [TESTS],
        doc={"prompt": PROMPT, "entry_point": "add"},
        k=[1],
        prefix_field="prompt",
        entry_point_field="entry_point",
        timeout_s=TIMEOUT_S,
        disk_mb=DISK_MB,
    )
    return dict(zip(cases, out["_execution"], strict=True))


# --- the host side: canaries, the two modes -------------------------------------------------


@pytest.fixture(scope="module")
def canary() -> Iterator[dict[str, Any]]:
    """Host objects the sandbox must not reach: a file, UNIX/abstract/TCP listeners, secrets."""
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else Path(tempfile.gettempdir())
    folder = base / f"sllm-canary-{secrets.token_hex(4)}"
    folder.mkdir()
    folder.chmod(0o777)  # only the sandbox stands in the way, not permissions
    keep = folder / "keep.txt"
    keep.write_text("precious")
    keep.chmod(0o666)
    venv_file = Path(sys.prefix) / f"sllm-canary-{secrets.token_hex(4)}"
    servers = [socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX), socket.socket()]
    abstract = f"sllm-canary-{secrets.token_hex(4)}"
    servers[0].bind(str(folder / "sock"))
    (folder / "sock").chmod(0o777)
    servers[1].bind("\0" + abstract)
    servers[2].bind(("127.0.0.1", 0))
    for server in servers:
        server.listen(1)
        server.setblocking(False)
    saved = {name: os.environ.get(name) for name in SECRET_NAMES}
    secret = f"sk-canary-{secrets.token_hex(8)}"
    os.environ.update({name: secret for name in SECRET_NAMES})
    try:
        yield {
            "file": str(keep),
            "venv_file": str(venv_file),
            "socket": str(folder / "sock"),
            "abstract": abstract,
            "port": servers[2].getsockname()[1],
            "secret": secret,
            "servers": servers,
            "folder": folder,
        }
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
        for server in servers:
            server.close()
        for path in (keep, folder / "sock", venv_file):
            path.unlink(missing_ok=True)
        folder.rmdir()


def _public(canary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in canary.items() if k not in ("servers", "folder", "secret")}


def _closed_to_others(path: Path) -> bool:
    return not path.stat().st_mode & stat.S_IXOTH


def _as_nobody(argv: list[str]) -> list[str]:
    """argv as uid/gid 65534 without groups or capabilities, in a view of / where folders only
    root may enter (/root is 0700) are tmpfs holding just the interpreter and the project."""
    keep = sorted({sys.base_prefix, sys.prefix, str(REPO)})
    view = ["bwrap", "--dev-bind", "/", "/"]
    closed = sorted(
        {str(a) for p in keep for a in Path(p).parents if a != Path("/") and _closed_to_others(a)}
    )
    closed = [c for c in closed if not any(c.startswith(o + "/") for o in closed)]
    for folder in closed:
        view += ["--perms", "0755", "--tmpfs", folder]
        inner = sorted({str(a) for p in keep for a in Path(p).parents if str(a).startswith(folder + "/")})
        for path in inner:
            view += ["--perms", "0755", "--dir", path]
        view += [arg for p in keep if p.startswith(folder + "/") for arg in ("--ro-bind", p, p)]
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all"]
    return [*view, "--", *drop, *argv]


def _user_namespaces_reason() -> str | None:
    try:
        if int(Path("/proc/sys/user/max_user_namespaces").read_text()) == 0:
            return "unprivileged user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)"
    except OSError:
        return "this kernel has no user namespaces"
    return None


def _unprivileged_outcomes(canary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    reason = _user_namespaces_reason()
    if reason:
        pytest.skip(reason)
    if os.geteuid() != 0:
        return run_cases(_public(canary))
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to run sllm as uid 65534 from a root test run")
    env = {"PATH": "/usr/bin:/bin", **{name: canary["secret"] for name in SECRET_NAMES}}
    argv = _as_nobody([sys.executable, __file__, json.dumps(_public(canary))])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd="/")
    if done.returncode != 0:
        pytest.fail(f"the unprivileged run failed: {done.stderr[-2000:]}")
    outcome = json.loads(done.stdout)
    if "skip" in outcome:
        pytest.skip(f"as uid {NOBODY}: {outcome['skip']}")
    return outcome


@pytest.fixture(scope="module", params=["root", "unprivileged"])
def mode(request: pytest.FixtureRequest) -> str:
    """Which user sllm runs as."""
    if request.param == "root" and os.geteuid() != 0:
        pytest.skip("the root mode needs this test process to run as root")
    return request.param


_OUTCOMES: dict[str, dict[str, dict[str, Any]]] = {}


@pytest.fixture(scope="module")
def outcome(mode: str, canary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The execution record of every case, run once per mode."""
    if sandbox_status() is not None:
        pytest.skip(str(sandbox_status()))
    if mode not in _OUTCOMES:
        before = set(Path(tempfile.gettempdir()).glob("sllm-exec-*"))
        _OUTCOMES[mode] = run_cases(_public(canary)) if mode == "root" else _unprivileged_outcomes(canary)
        assert set(Path(tempfile.gettempdir()).glob("sllm-exec-*")) == before  # nothing left on the host
    return _OUTCOMES[mode]


def _lines(record: dict[str, Any]) -> set[str]:
    return set(record["stderr"].splitlines())


# --- the tests ----------------------------------------------------------------------------------


def test_nothing_but_the_honest_answer_passes(outcome: dict[str, dict[str, Any]]) -> None:
    statuses = {name: record["status"] for name, record in outcome.items()}
    expected = {name: "failed" for name in statuses} | {
        "honest": "passed",
        "sleep_past_the_wall_clock": "timeout",
    }
    assert statuses == expected


def test_no_capability_no_root_and_no_new_privileges(outcome: dict[str, dict[str, Any]], mode: str) -> None:
    zero = "0000000000000000"
    expected = {f"{name}: {zero}" for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    expected |= {"NoNewPrivs: 1", "Seccomp: 2", "uid or gid 0: False"}
    if mode == "root":  # a plain user's own groups stay visible (as 65534) in its user namespace
        expected.add("groups: []")
    assert expected <= _lines(outcome["capabilities"])


def test_mounts_and_namespaces_cannot_be_changed(outcome: dict[str, dict[str, Any]]) -> None:
    attempts = [
        "umount2 /tmp",
        "umount2 /",
        "remount / rw",
        "mount tmpfs",
        "unshare user+mount",
        "setns",
        "chroot",
    ]
    assert {f"{what}: EPERM" for what in attempts} <= _lines(outcome["mounts"])


def test_the_parents_environment_is_nowhere(
    outcome: dict[str, dict[str, Any]], canary: dict[str, Any]
) -> None:
    lines = _lines(outcome["environment"])
    assert "environ: ['HOME', 'LANG', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'PATH', 'PWD']" in lines
    assert "pids: [1, 2]" in lines  # bwrap's init and the candidate: the judge is not visible
    for record in outcome.values():
        assert canary["secret"] not in json.dumps(record)


def test_host_files_are_absent_or_read_only(
    outcome: dict[str, dict[str, Any]], canary: dict[str, Any]
) -> None:
    lines = _lines(outcome["host_files"])
    assert {
        "read /etc/shadow: FileNotFoundError ENOENT",
        "/etc: ['ld.so.cache']",
        "list /home: FileNotFoundError ENOENT",
        "list /var: FileNotFoundError ENOENT",
        "list /run: FileNotFoundError ENOENT",
        "list /sys: FileNotFoundError ENOENT",
        "write canary: FileNotFoundError ENOENT",
        "write venv: OSError EROFS",
    } <= lines
    assert Path(canary["file"]).read_text() == "precious"
    assert not Path(canary["venv_file"]).exists()


def test_host_sockets_are_unreachable(outcome: dict[str, dict[str, Any]], canary: dict[str, Any]) -> None:
    assert {
        "connect host socket: PermissionError EPERM",  # no AF_UNIX socket can even be made
        "connect abstract socket: PermissionError EPERM",
        "connect tcp: ConnectionRefusedError ECONNREFUSED",
    } <= _lines(outcome["sockets"])
    for server in canary["servers"]:
        with pytest.raises(BlockingIOError):
            server.accept()


def test_disk_and_memory_bombs_stop_at_the_quota(outcome: dict[str, dict[str, Any]]) -> None:
    assert {
        "fill /tmp: ENOSPC",
        "wrote more than the quota: False",
        "write /bomb: OSError EROFS",
        "write /dev/shm/bomb: OSError EROFS",
        "write /dev/bomb: OSError EROFS",
        "write /usr/lib/bomb: OSError EROFS",
        "memfd_create: PermissionError EPERM",
        "shmget: EPERM",
    } <= _lines(outcome["disk_bombs"])


def test_no_process_or_thread_can_start(outcome: dict[str, dict[str, Any]]) -> None:
    assert {
        "fork: BlockingIOError EAGAIN",
        "thread: RuntimeError",
        "subprocess: BlockingIOError EAGAIN",
        "clone3: EAGAIN",
    } <= _lines(outcome["processes"])


def test_forged_verdicts_are_failures_with_the_reason(outcome: dict[str, dict[str, Any]]) -> None:
    judge = {name: record["judge"] for name, record in outcome.items()}
    assert judge["redefine_check"].endswith("AssertionError\n")
    assert "CandidateBroken" in judge["patch_builtins"]  # its own wire code broke with isinstance
    assert "the candidate did not load: unreadable message: SyntaxError" in judge["forged_channel_frames"]
    assert "the candidate did not load" in judge["exit_zero_at_import"]
    assert "the other sandbox closed the channel" in judge["frame_inspection_then_exit"]
    assert judge["always_equal"].endswith("AssertionError\n")  # an int subclass: sent as the int 0
    assert "TypeError: a AlwaysEqual cannot be sent between sandboxes" in judge["always_equal_object"]
    assert "RuntimeError: SystemExit: 0" in judge["exception_named_system_exit"]
    assert "exceeds the 4194304-byte limit" in judge["oversized_reply"]


def test_killing_sllm_leaves_no_sandbox_behind(tmp_path: Path) -> None:
    if sandbox_status() is not None:
        pytest.skip(str(sandbox_status()))
    script = tmp_path / "victim.py"
    script.write_text(
        textwrap.dedent(f"""
        import subprocess
        from sllm.execution import CodeTask, SandboxLimits, run_judged

        class Spy(subprocess.Popen):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                print(self.pid, flush=True)

        subprocess.Popen = Spy
        task = CodeTask({PROMPT!r}, "    import time\\n    time.sleep(600)\\n", {TESTS!r}, "add")
        run_judged(task, SandboxLimits(timeout_s=600))
        """)
    )
    before = set(Path(tempfile.gettempdir()).glob("sllm-exec-*"))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    bwraps = [int(parent.stdout.readline()), int(parent.stdout.readline())]
    # Kill only once the candidate is asleep in its call (the kernel says so), whatever the load.
    for _ in range(600):
        tree = _descendants(bwraps)
        if any("nanosleep" in _wchan(pid) for pid in tree):
            break
        time.sleep(0.1)
    else:
        parent.kill()
        pytest.fail("the candidate was not asleep in its call after 60 s")
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        if not any(_alive(pid) for pid in tree):
            break
        time.sleep(0.1)
    assert [pid for pid in tree if _alive(pid)] == []
    assert set(Path(tempfile.gettempdir()).glob("sllm-exec-*")) == before


def _descendants(roots: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _wchan(pid: int) -> str:
    """The kernel function a process sleeps in ("hrtimer_nanosleep" in time.sleep), or ""."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(os.geteuid() != 0, reason="sllm runs as root here only when the tests do")
def test_root_sandboxes_each_run_as_a_uid_of_their_own() -> None:
    if sandbox_status() is not None:
        pytest.skip(str(sandbox_status()))
    code = "    return a + b\n\nimport os, sys\nprint('candidate', os.getuid(), file=sys.stderr)\n"
    tests = "import os, sys\nprint('judge', os.getuid(), file=sys.stderr)\n" + TESTS
    records = get_metric("pass_at_k").fn(
        [code, code], [tests], doc={"prompt": PROMPT, "entry_point": "add"}, k=[1],
        prefix_field="prompt", entry_point_field="entry_point",
    )["_execution"]  # fmt: skip
    uids = [int(r[side].split()[1]) for r in records for side in ("stderr", "judge")]
    assert [r["status"] for r in records] == ["passed", "passed"]
    assert all(uid in SANDBOX_UIDS for uid in uids) and len(set(uids)) == 4


if __name__ == "__main__":  # the unprivileged run: as uid 65534, started by the tests above
    reason = sandbox_status()
    json.dump({"skip": reason} if reason else run_cases(json.loads(sys.argv[1])), sys.stdout)
