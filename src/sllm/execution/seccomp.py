"""A seccomp filter that makes process creation fail with EAGAIN inside the sandbox.

The kernel exempts root from RLIMIT_NPROC, so a fork bomb run by root would not be stopped by
the process limit alone. bubblewrap loads a compiled classic-BPF program (`--seccomp FD`); the
program is written out here by hand because it is eight instructions, and the libraries that
compile seccomp rules (libseccomp's bindings) are not installable from PyPI on every machine.
"""

from __future__ import annotations

import platform
import struct

# Classic BPF opcodes and seccomp constants from <linux/filter.h> and <linux/seccomp.h>.
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_EAGAIN = 11
_X32_BIT = 0x40000000

# (audit arch, syscalls that create processes or threads: fork, vfork, clone, clone3)
_ARCHES = {
    "x86_64": (0xC000003E, (57, 58, 56, 435)),
    "aarch64": (0xC00000B7, (220, 435)),
}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def no_fork_filter(machine: str | None = None) -> bytes | None:
    """The BPF program for this machine's architecture, or None where it is not known."""
    arch = _ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, blocked = arch
    n = len(blocked)
    deny = _insn(_RET_K, 0, 0, _RET_ERRNO | _EAGAIN)
    allow = _insn(_RET_K, 0, 0, _RET_ALLOW)
    # Layout: [load arch, arch?, load nr, x32?, nr==b1?, ..., nr==bn?, allow, deny]; jumps are relative.
    program = [
        _insn(_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        _insn(_JEQ_K, 0, n + 3, audit_arch),  # another ABI: deny (jump past allow)
        _insn(_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        _insn(_JGE_K, n + 1, 0, _X32_BIT),  # x32 syscalls: deny
    ]
    for index, number in enumerate(blocked):
        program.append(_insn(_JEQ_K, n - index, 0, number))
    return b"".join(program) + allow + deny
