"""The sandbox's seccomp filter: no new processes, namespaces, mounts, tracing or unbounded memory.

bubblewrap loads a compiled classic-BPF program (`--seccomp FD`). It is assembled here by hand
because it is a flat list of "syscall number -> errno" checks, and the libraries that compile
seccomp rules (libseccomp's bindings) are not installable from PyPI on every machine.

What it denies, and why the other layers do not already cover it:
- fork/vfork/clone (EAGAIN): the kernel exempts root from RLIMIT_NPROC, and bwrap's setup runs
  as root; when processes are allowed, clone with a CLONE_NEW* flag is still denied and clone3
  (whose flags the filter cannot read) answers ENOSYS so libc falls back to clone.
- unshare/setns/mount family/chroot (EPERM): a new user namespace would give the program
  capabilities over namespaces it creates; mounts are how a sandbox is taken apart.
- ptrace, process_vm_*, bpf, perf_event_open, userfaultfd, io_uring, keyrings (EPERM): kernel
  attack surface no test program needs.
- memfd_create and SysV shm/msg/sem (EPERM): memory held there is counted neither in
  RLIMIT_AS nor in the size of the sandbox's tmpfs.
- socket/socketpair for AF_UNIX (EPERM): connect() reaches a host socket through a read-only
  mount, so no UNIX socket is made at all (the network namespace already isolates abstract
  ones and TCP).
Any other ABI (i386 via int 0x80, x32) is denied outright.
"""

from __future__ import annotations

import platform
import struct
from dataclasses import dataclass

# Classic BPF opcodes and seccomp constants from <linux/filter.h> and <linux/seccomp.h>.
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_EPERM, _EAGAIN, _ENOSYS = 1, 11, 38
_X32_BIT = 0x40000000
_AF_UNIX = 1
_ARG0_LOW = 16  # offsetof(struct seccomp_data, args[0]), low 32 bits on little-endian machines
# CLONE_NEWTIME | NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_CLONE_NEW_ANY = (
    0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
)


@dataclass(frozen=True)
class _Arch:
    audit: int
    fork: tuple[int, ...]  # fork and vfork, where the ABI has them
    clone: int
    clone3: int
    socket: tuple[int, int]  # socket, socketpair
    denied: dict[str, int]  # always EPERM


_DENIED_NAMES = (
    "unshare setns mount umount2 pivot_root chroot open_tree move_mount fsopen fsconfig fsmount "
    "fspick mount_setattr ptrace process_vm_readv process_vm_writev bpf perf_event_open userfaultfd "
    "keyctl add_key request_key io_uring_setup io_uring_enter io_uring_register memfd_create shmget "
    "msgget semget"
).split()


def _named(numbers: tuple[int, ...]) -> dict[str, int]:
    return dict(zip(_DENIED_NAMES, numbers, strict=True))


# Numbers from <asm/unistd_64.h> (x86_64) and <asm-generic/unistd.h> (aarch64).
_ARCHES = {
    "x86_64": _Arch(
        0xC000003E,
        (57, 58),
        56,
        435,
        (41, 53),
        _named(
            (272, 308, 165, 166, 155, 161, 428, 429, 430, 431, 432, 433, 442, 101, 310, 311, 321, 298, 323)
            + (250, 248, 249, 425, 426, 427, 319, 29, 68, 64)
        ),
    ),
    "aarch64": _Arch(
        0xC00000B7,
        (),
        220,
        435,
        (198, 199),
        _named(
            (97, 268, 40, 39, 41, 51, 428, 429, 430, 431, 432, 433, 442, 117, 270, 271, 280, 241, 282)
            + (219, 217, 218, 425, 426, 427, 279, 194, 186, 190)
        ),
    ),
}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _deny_if(number: int, errno: int) -> list[bytes]:
    """`if nr == number: return -errno` (falls through otherwise)."""
    return [_insn(_JEQ_K, 0, 1, number), _insn(_RET_K, 0, 0, _RET_ERRNO | errno)]


def _deny_if_arg0(number: int, jump: int, value: int, errno: int) -> list[bytes]:
    """`if nr == number: return -errno if (arg0 JEQ/JSET value) else allow`; the accumulator is
    reloaded only inside the block, so later blocks still compare the syscall number."""
    return [
        _insn(_JEQ_K, 0, 4, number),
        _insn(_LD_W_ABS, 0, 0, _ARG0_LOW),
        _insn(jump, 1, 0, value),
        _insn(_RET_K, 0, 0, _RET_ALLOW),
        _insn(_RET_K, 0, 0, _RET_ERRNO | errno),
    ]


def sandbox_filter(allow_processes: bool = False, machine: str | None = None) -> bytes | None:
    """The BPF program for this machine's architecture, or None where it is not known."""
    arch = _ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    deny_all = _insn(_RET_K, 0, 0, _RET_ERRNO | _EPERM)
    program = [_insn(_LD_W_ABS, 0, 0, 4), _insn(_JEQ_K, 1, 0, arch.audit), deny_all]  # seccomp_data.arch
    program.append(_insn(_LD_W_ABS, 0, 0, 0))  # seccomp_data.nr
    if arch.audit == _ARCHES["x86_64"].audit:
        program += [_insn(_JGE_K, 0, 1, _X32_BIT), deny_all]
    for number in arch.denied.values():
        program += _deny_if(number, _EPERM)
    if allow_processes:
        program += _deny_if(arch.clone3, _ENOSYS)
        program += _deny_if_arg0(arch.clone, _JSET_K, _CLONE_NEW_ANY, _EPERM)
    else:
        for number in (*arch.fork, arch.clone, arch.clone3):
            program += _deny_if(number, _EAGAIN)
    for number in arch.socket:
        program += _deny_if_arg0(number, _JEQ_K, _AF_UNIX, _EPERM)
    return b"".join([*program, _insn(_RET_K, 0, 0, _RET_ALLOW)])
