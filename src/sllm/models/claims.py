"""In-flight claims on cache keys, so two runs sharing one cache never compute the same request.

Before computing, a run claims the keys it will compute (owner = host + PID + a random token,
with a lease). Another run that meets a key claimed by a live owner waits for its result
instead of computing it; a claim whose owner has died (same host, PID gone) or whose lease ran
out (the owner stopped renewing it) is taken over. A background thread renews the lease while
the owner is alive, so a slow batch never looks abandoned.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

CLAIMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS claims_owner ON claims(owner);
"""

#: seconds a claim stays valid without renewal; the owner renews it every third of that
DEFAULT_LEASE = 60.0
HOST = socket.gethostname()


def owner_alive(host: str, pid: int) -> bool:
    """Whether the process holding a claim still runs (another host's owner: assume so)."""
    if host != HOST:
        return True  # its lease decides
    if pid == os.getpid():
        return False  # a claim left by an abandoned stream of this very process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    try:  # a killed child its parent has not reaped yet is a zombie: dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class Claims:
    """One stream's claims on one cache database: take, renew (in the background), release."""

    def __init__(self, db: sqlite3.Connection, path: Path, lease: float = DEFAULT_LEASE) -> None:
        self.db = db
        self.path = path
        self.lease = lease
        self.owner = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def take(self, keys: Sequence[str]) -> set[str]:
        """Claim every key that has no result and no live claim; return the keys now ours."""
        # A read-only look first, so a waiting run polls without taking the write lock.
        if not keys or not self._free(keys):
            return set()
        # IMMEDIATE: the check and the insert happen under one write lock, so two runs cannot
        # both see a key as free.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            mine = self._free(keys)
            expires = time.time() + self.lease
            self.db.executemany(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?)",
                [(k, self.owner, HOST, os.getpid(), expires) for k in mine],
            )
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        if mine:
            self._start_renewing()
        return mine

    def _free(self, keys: Sequence[str]) -> set[str]:
        """The keys with no stored result whose claim is absent, ours, dead or expired."""
        free: set[str] = set()
        now = time.time()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            done = {k for (k,) in self.db.execute(f"SELECT key FROM calls WHERE key IN ({marks})", chunk)}
            held = {
                k: (owner, host, pid, expires)
                for k, owner, host, pid, expires in self.db.execute(
                    f"SELECT key, owner, host, pid, expires FROM claims WHERE key IN ({marks})", chunk
                )
            }
            for key in chunk:
                if key in done:
                    continue
                if key in held:
                    owner, host, pid, expires = held[key]
                    if owner != self.owner and expires > now and owner_alive(host, pid):
                        continue
                free.add(key)
        return free

    def release(self) -> None:
        """Drop every claim of this owner (finished keys already lost theirs when stored)."""
        if self._renewer is None:
            return  # never claimed anything
        self._stop.set()
        self._renewer.join(timeout=5)
        try:
            self.db.execute("DELETE FROM claims WHERE owner = ?", (self.owner,))
            self.db.commit()
        except sqlite3.Error:
            pass  # the owner check of the other runs covers a claim we could not delete

    def _start_renewing(self) -> None:
        if self._renewer is None:
            self._renewer = threading.Thread(target=self._renew, name="sllm-cache-lease", daemon=True)
            self._renewer.start()

    def _renew(self) -> None:
        # Its own connection: a sqlite3 connection must not be shared with the streaming thread.
        db = sqlite3.connect(str(self.path), timeout=30.0)
        try:
            while not self._stop.wait(self.lease / 3):
                db.execute(
                    "UPDATE claims SET expires = ? WHERE owner = ?", (time.time() + self.lease, self.owner)
                )
                db.commit()
        except sqlite3.Error:
            pass  # an unrenewed lease only lets another run take the keys over: no harm to ours
        finally:
            db.close()
