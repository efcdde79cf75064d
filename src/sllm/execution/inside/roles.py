"""What a sandbox does once confined: run a program, serve a candidate function, or judge one.

The judge and the candidate are two sandboxes (two processes, namespaces and uids) joined by
two pipes. The candidate runs the untrusted prompt + completion, then answers calls to the
entry point with plain data. The judge runs only trusted code, the task's prompt (helpers the
tests use) and its tests, with the entry point bound to a proxy that forwards each call. The
judge's exit status is the verdict; the candidate never holds the judge's stdout, its exit
status or its memory, so it can only pass by returning the right values.
"""

from __future__ import annotations

import builtins
import sys

from . import wire

VERDICT = "sllm-judge: passed"
EXIT_FAILED, EXIT_BROKEN_CHANNEL = 1, 3


def _load(source: str, filename: str, namespace: dict | None = None) -> dict:
    """Execute source as a module; the file is written first so tracebacks show its lines."""
    with open(filename, "w", encoding="utf-8") as handle:
        handle.write(source)
    namespace = {"__name__": "__main__", "__file__": filename, "__builtins__": builtins, **(namespace or {})}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def _print_exc(limit: int | None = None) -> None:
    import traceback  # only on failure: every import adds to each sandbox's start-up

    traceback.print_exc(limit=limit)


def probe(job: dict) -> int:
    """Import a few stdlib modules as the sandbox's user: an install it cannot read fails here."""
    import importlib

    for name in ("decimal", "hashlib", "zlib", "json"):
        importlib.import_module(name)
    return 0


def run_program(job: dict) -> int:
    """0 when the program returned (or called os._exit(0) itself: not a verdict), 1 on an exception."""
    try:
        _load(job["source"], "program.py")
    except BaseException:  # sys.exit() half-way is not a normal end
        _print_exc()
        return EXIT_FAILED
    return 0


def serve_candidate(job: dict) -> int:
    """Load prompt + completion, say "ready", then answer calls until the judge closes the channel."""
    requests, replies = job["fds"]
    try:
        function = _load(job["source"], "candidate.py")[job["entry_point"]]
    except BaseException:
        _print_exc()
        return EXIT_FAILED
    sys.stdout.flush()
    wire.send(replies, ("ready",))
    while True:
        try:
            _, args, kwargs = wire.receive(requests)
        except wire.ChannelError:
            return 0  # the judge is done
        try:
            reply: tuple = ("ok", wire.encode(function(*wire.decode(args), **wire.decode(kwargs))))
        except BaseException as exc:  # the function's own failure is an answer, too
            reply = ("error", type(exc).__name__, str(exc)[:2000])
        sys.stdout.flush()
        try:
            wire.send(replies, reply)
        except wire.ChannelError as exc:  # a reply over the size limit
            wire.send(replies, ("error", "ValueError", str(exc)))


class CandidateBroken(BaseException):
    """The candidate sent no valid reply; a BaseException so that tests' `except Exception` miss it."""


class _Proxy:
    """Stands for the entry point in the judge: each call goes to the candidate as plain data."""

    def __init__(self, name: str, requests: int, replies: int) -> None:
        self.__name__ = self.__qualname__ = name
        self._requests, self._replies = requests, replies
        self.broken: str | None = None

    def __call__(self, *args: object, **kwargs: object) -> object:
        if self.broken:
            raise CandidateBroken(self.broken)
        try:
            request = ("call", wire.encode(args), wire.encode(kwargs))
        except TypeError as exc:
            raise self._break(f"the tests passed an argument that is not plain data: {exc}") from None
        try:
            wire.send(self._requests, request)
            reply = wire.receive(self._replies)
            if reply[0] == "ok" and len(reply) == 2:
                return wire.decode(reply[1])
            is_error = reply[0] == "error" and len(reply) == 3 and all(type(x) is str for x in reply[1:])
        except (wire.ChannelError, OSError, TypeError, ValueError, RecursionError, MemoryError) as exc:
            # Decoding can fail on malformed data too (an unhashable key in a set): never a pass.
            raise self._break(f"{type(exc).__name__}: {exc}") from None
        if not is_error:
            raise self._break(f"unexpected reply {str(reply)[:80]}")
        raise _exception(reply[1], reply[2])

    def _break(self, reason: str) -> CandidateBroken:
        self.broken = reason
        return CandidateBroken(reason)


def _exception(name: str, message: str) -> Exception:
    """The candidate's exception as a builtin exception of the same name (else RuntimeError)."""
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(message)
        except TypeError:  # one that takes other arguments (UnicodeDecodeError)
            pass
    return RuntimeError(f"{name}: {message}")


def judge(job: dict) -> int:
    """Run the prompt and the tests against the candidate; exit 0 and print VERDICT only on a pass."""
    replies, requests = job["fds"]
    proxy = _Proxy(job["entry_point"], requests, replies)
    try:
        hello = wire.receive(replies)
    except wire.ChannelError as exc:
        print(f"sllm-judge: the candidate did not load: {exc}", file=sys.stderr)
        return EXIT_BROKEN_CHANNEL
    if hello != ("ready",):
        print("sllm-judge: the candidate did not say it was ready", file=sys.stderr)
        return EXIT_BROKEN_CHANNEL
    try:
        namespace = _load(job["prompt"], "prompt.py")
        namespace[job["entry_point"]] = proxy
        _load(job["tests"], "tests.py", namespace)
    except BaseException:  # an assertion, the candidate's exception re-raised, a broken channel
        _print_exc(limit=-3)
        return EXIT_BROKEN_CHANNEL if proxy.broken else EXIT_FAILED
    if proxy.broken:  # the tests caught CandidateBroken themselves
        print(f"sllm-judge: {proxy.broken}", file=sys.stderr)
        return EXIT_BROKEN_CHANNEL
    print(f"\n{VERDICT}", flush=True)  # on a line of its own, whatever the tests printed
    return 0
