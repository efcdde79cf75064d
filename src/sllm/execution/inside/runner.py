"""The first code a sandbox runs: read the job, confine this process, then play one role.

Started by bubblewrap as `python -I -S -B -c BOOTSTRAP` (see bwrap.py). The job arrives on
stdin, marshalled by the trusted parent (marshal is built in: no import on every start).
Nothing untrusted is loaded before `confine` has dropped every privilege and set the limits;
then one byte on the status fd tells the parent that setup succeeded, so a failure before
that point is the sandbox's (an error), and any failure after it is the program's.
"""

from __future__ import annotations

import marshal
import os
import site
import sys

from . import confine, roles

ROLES = {
    "program": roles.run_program,
    "candidate": roles.serve_candidate,
    "judge": roles.judge,
    "probe": roles.probe,
}
EXIT_SETUP_FAILED = 125


def _close_other_fds(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the descriptor of the listing itself, already closed


def main() -> int:
    """Run one sandbox job; the exit status is the role's."""
    job = marshal.loads(sys.stdin.buffer.read())
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)  # the job's memfd is not the program's business
    os.close(null)
    status_fd = job["status_fd"]
    try:
        _close_other_fds({0, 1, 2, status_fd, *job.get("fds", ())})
        confine.drop_privileges(job.get("uid"))
        confine.set_limits(**job["limits"])
        confine.verify()
    except (confine.ConfinementError, OSError) as exc:
        print(f"sllm sandbox: {exc}", file=sys.stderr)
        return EXIT_SETUP_FAILED
    os.write(status_fd, b"1")
    os.close(status_fd)
    site.main()  # site-packages (numpy...), read as the unprivileged user, never as root
    return ROLES[job["role"]](job)
