"""The bubblewrap command line of one sandbox: its namespaces, its user, the files it can see.

The sandbox's root is an empty tmpfs, remounted read-only once built. Into it go, read-only:
the interpreter's install and virtual environment, the system's shared libraries (/usr/lib*,
/lib*), /etc/ld.so.cache and the runner package; nothing else of the host (no /etc/shadow,
/home, /root, /run, /var, /sys, no host socket). /proc is the sandbox's own (its PID namespace
holds only its processes), /dev has the usual character devices and is read-only, and the only
writable place is /tmp: a tmpfs of `disk_mb`, which is also the working directory and HOME.

Run by root, bubblewrap builds the mounts as root, keeps only CAP_SETUID/SETGID/SETPCAP and no
user namespace; the runner then switches to a host uid of its own (see inside/confine.py).
Run by another user, bubblewrap's user namespace maps it to uid 65534 and forbids nested user
namespaces (`--disable-userns`).
"""

from __future__ import annotations

import os
import pwd
import secrets
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

INSIDE = Path(__file__).with_name("inside")
INSIDE_MOUNT = "/opt/sllm"
BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {INSIDE_MOUNT!r}); from inside.runner import main; sys.exit(main())"
)
# Root-run sandboxes each get a host uid of their own from this range (no account owns them).
SANDBOX_UIDS = range(1_600_000_000, 1_700_000_000)
UNPRIVILEGED_UID = 65534
WORKDIR = "/tmp"
# bubblewrap itself gets this environment and nothing of the parent's: its pid-1 process inside
# the sandbox is readable at /proc/1/environ.
BWRAP_ENV = {"PATH": "/usr/bin:/bin"}
_LIBRARY_DIRS = ("lib", "lib64", "lib32", "libx32")


def privileged() -> bool:
    """True when sllm runs as root (the runner then drops to a per-sandbox uid itself)."""
    return os.geteuid() == 0


def sandbox_uid() -> int | None:
    """A fresh host uid for a root-run sandbox (None when not root): no account, no files."""
    if not privileged():
        return None
    while True:
        uid = SANDBOX_UIDS.start + secrets.randbelow(len(SANDBOX_UIDS))
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid


def command(python: str, disk_mb: int, seccomp_fd: int) -> list[str]:
    """The full bwrap invocation that starts the runner."""
    return [
        "bwrap",
        *_namespaces(),
        *_filesystem(python, disk_mb),
        "--chdir", WORKDIR,
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "HOME", WORKDIR,
        "--setenv", "LANG", "C.UTF-8",
        # One thread each: with no threads allowed, numpy's BLAS would fail to start its pool.
        "--setenv", "OPENBLAS_NUM_THREADS", "1",
        "--setenv", "OMP_NUM_THREADS", "1",
        "--seccomp", str(seccomp_fd),
        python, "-I", "-S", "-B", "-c", BOOTSTRAP,
    ]  # fmt: skip


def _namespaces() -> list[str]:
    if privileged():
        # No user namespace: as root it would only map uid 0 to host uid 0.
        namespaces = [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]
        kept = ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        return [*namespaces, "--cap-drop", "ALL", *kept]
    uid = str(UNPRIVILEGED_UID)
    disable = ["--disable-userns"] if _bwrap_supports("--disable-userns") else []
    return ["--unshare-all", "--unshare-user", "--uid", uid, "--gid", uid, *disable, "--cap-drop", "ALL"]


def _filesystem(python: str, disk_mb: int) -> list[str]:
    """Mount operations, in order: /tmp first (a venv may live under it), read-only binds, then
    /dev and /proc, and finally the root and /dev remounted read-only."""
    args = ["--size", str(disk_mb * 1024 * 1024), "--perms", "1777", "--tmpfs", WORKDIR]
    binds = [(p, p) for p in _minimal([*interpreter_paths(python), *_library_paths(), "/etc/ld.so.cache"])]
    binds.append((str(INSIDE), f"{INSIDE_MOUNT}/inside"))
    for folder in _ancestors([dest for _, dest in binds]):
        # Created explicitly: bwrap would make missing parents 0700, closed to the sandbox's user.
        args += ["--perms", "0755", "--dir", folder]
    for source, dest in binds:
        args += ["--ro-bind", source, dest]
    for name in _LIBRARY_DIRS:
        host = Path("/", name)
        if host.is_symlink():  # merged /usr: /lib -> usr/lib
            args += ["--symlink", os.readlink(host), str(host)]
    return [*args, "--dev", "/dev", "--proc", "/proc", "--remount-ro", "/dev", "--remount-ro", "/"]


def interpreter_paths(python: str) -> list[str]:
    """The interpreter's install (prefix of the real binary) and, for a venv, the venv."""
    exe = Path(python)
    paths = {exe.resolve().parent.parent}
    if (exe.parent.parent / "pyvenv.cfg").is_file():
        paths.add(exe.parent.parent)
    if python == sys.executable:
        paths |= {Path(sys.base_prefix), Path(sys.prefix)}
    return sorted(str(p) for p in paths if p.is_dir() and p != Path("/"))


def _library_paths() -> list[str]:
    dirs = [Path("/usr", name) for name in _LIBRARY_DIRS]
    dirs += [Path("/", name) for name in _LIBRARY_DIRS if not Path("/", name).is_symlink()]
    return [str(d) for d in dirs if d.is_dir()]


def _minimal(paths: list[str]) -> list[str]:
    """Existing paths without those inside another one (mounted with it), parents first."""
    existing = sorted({p for p in paths if Path(p).exists()})
    return [p for p in existing if not any(p.startswith(q + "/") for q in existing)]


def _ancestors(paths: list[str]) -> list[str]:
    folders = {str(parent) for p in paths for parent in Path(p).parents}
    return sorted(folders - {"/", WORKDIR}, key=lambda f: (f.count("/"), f))


@lru_cache(maxsize=8)
def _bwrap_supports(option: str) -> bool:
    try:
        usage = subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10, env=BWRAP_ENV)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in usage.stdout
