"""Runs inside the sandbox (stdlib only): set resource limits, run the program, report a marker.

Invoked as `python -I runner.py MEMORY_MB CPU_S FSIZE_MB NPROC PROGRAM`, with a one-time nonce
on stdin. The nonce is printed only when the program returns normally, so a program that calls
`sys.exit(0)` or `os._exit(0)` half-way through its tests is not counted as passing.
"""

import resource
import sys
import traceback


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def main() -> int:
    if sys.argv[1:] == ["--check"]:  # the sandbox probe: the interpreter and this file are reachable
        return 0
    memory_mb, cpu_s, fsize_mb, nproc = (int(v) for v in sys.argv[1:5])
    path = sys.argv[5]
    nonce = sys.stdin.readline().strip()
    sys.stdin.close()
    _limit(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    _limit(resource.RLIMIT_CPU, cpu_s)
    _limit(resource.RLIMIT_FSIZE, fsize_mb * 1024 * 1024)
    _limit(resource.RLIMIT_CORE, 0)
    # Counted per real user: with 0, fork and thread creation fail (fork bombs end at once).
    _limit(resource.RLIMIT_NPROC, nproc)
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    namespace = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
    try:
        exec(compile(source, path, "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        return 1
    sys.stdout.flush()
    sys.stdout.write("\n" + nonce + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
