"""Give up every privilege and set resource limits, before any untrusted code is loaded.

Run as root, bubblewrap hands the runner only CAP_SETUID, CAP_SETGID and CAP_SETPCAP (everything
else is dropped with `--cap-drop ALL`); here the runner empties the capability bounding set,
switches to its sandbox's own unprivileged host uid/gid with no supplementary groups (which
clears the remaining capabilities) and sets no_new_privs, so not even a set-uid file can
give anything back. Run by an ordinary user, bubblewrap's user namespace already maps the
runner to uid 65534 without capabilities. Either way `verify()` reads /proc/self/status and
refuses to continue unless every capability set is empty.
"""

from __future__ import annotations

import os
import resource

_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class ConfinementError(RuntimeError):
    """The runner could not give up its privileges: nothing untrusted may run."""


def drop_privileges(uid: int | None) -> None:
    """Leave root for `uid` (when root), then set no_new_privs."""
    rooted = os.getuid() == 0 or os.geteuid() == 0
    if not rooted and _status()["NoNewPrivs"].strip() == "1":
        return  # bubblewrap's user namespace already did it all (and ctypes costs start-up time)
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def check(result: int, what: str) -> None:
        if result != 0:
            raise ConfinementError(f"{what} failed: {os.strerror(ctypes.get_errno())}")

    if rooted:
        if uid is None or uid == 0:
            raise ConfinementError("running as root inside the sandbox without a uid to switch to")
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            last_cap = int(handle.read())
        for cap in range(last_cap + 1):
            check(libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0), "PR_CAPBSET_DROP")
        check(libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "PR_CAP_AMBIENT")
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # clears the permitted and effective sets
        # bubblewrap leaves the kept capabilities inheritable: capset() with every set empty.
        header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
        check(libc.capset(header, (ctypes.c_uint32 * 6)()), "capset")
    check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")


def _status() -> dict[str, str]:
    with open("/proc/self/status") as handle:
        return dict(line.split(":", 1) for line in handle if ":" in line)


def set_limits(memory_mb: int, cpu_s: int, file_size_mb: int, max_processes: int, max_files: int) -> None:
    """Hard resource limits for this process and everything it runs."""
    limits = {
        resource.RLIMIT_AS: memory_mb * 1024 * 1024,
        resource.RLIMIT_CPU: cpu_s,
        resource.RLIMIT_FSIZE: file_size_mb * 1024 * 1024,
        resource.RLIMIT_CORE: 0,
        # Counted per real user, and each root-run sandbox has its own uid: 0 means no new
        # process or thread at all (the seccomp filter also refuses them).
        resource.RLIMIT_NPROC: max_processes,
        # Bounds how many pipes, sockets and files (each up to the size limit) can be held open.
        resource.RLIMIT_NOFILE: max_files,
        resource.RLIMIT_MSGQUEUE: 0,
        resource.RLIMIT_MEMLOCK: 0,
    }
    for kind, value in limits.items():
        resource.setrlimit(kind, (value, value))


def verify() -> None:
    """Raise ConfinementError unless this process holds no capability and has no_new_privs set."""
    fields = _status()
    held = [name for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb") if int(fields[name], 16)]
    rooted = "0" in fields["Uid"].split() or "0" in fields["Gid"].split()
    if held or rooted or fields["NoNewPrivs"].strip() != "1":
        raise ConfinementError(
            f"still privileged after setup ({', '.join(held) or 'uid/gid 0 or no_new_privs'})"
        )
