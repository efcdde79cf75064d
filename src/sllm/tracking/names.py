"""Metric, param and tag names MLflow accepts, and distinct keys for distinct things in one run.

MLflow 3.17 (`mlflow.utils.validation`) allows in a key only word characters (letters, digits,
`_`, any script), `/ . - :` and spaces, and a key must read as a normalised relative path (no
leading or doubled `/`, no `.` or `..` segments), at most 250 characters. sllm's names are
freer (`humaneval/pass@1`, a task called `x=1`): `mlflow_key` maps them onto that alphabet,
and `KeyBook` keeps the keys of one run distinct and remembers each key's original name.
"""

from __future__ import annotations

import hashlib
import re

MAX_KEY = 250  # mlflow.utils.validation.MAX_ENTITY_KEY_LENGTH
_BAD = re.compile(r"[^\w/.\- :]")


def mlflow_key(name: str) -> str:
    """A valid MLflow key for `name`: the name itself when it is already valid."""
    text = _BAD.sub("_", name.replace("@", "_at_"))
    parts = ["_" * len(p) if p in (".", "..") else p for p in text.split("/") if p]
    key = "/".join(parts) or "_"
    if len(key) > MAX_KEY:  # cut, and keep distinct names distinct with a digest of the whole
        key = f"{key[: MAX_KEY - 17]}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    return key


class KeyBook:
    """One run's keys of one kind: a valid key per name, never one key for two different things."""

    def __init__(self) -> None:
        self.owner: dict[str, object] = {}  # key -> the identity it was given to
        self.original: dict[str, str] = {}  # key -> the name it stands for

    def key(self, name: str, identity: object = None) -> str:
        """The key for `name`; another `identity` under the same name (a param logged again
        with another value) gets its own key: `name_2`, `name_3`, ..."""
        identity = name if identity is None else identity
        base = mlflow_key(name)
        key, n = base, 1
        while key in self.owner and self.owner[key] != identity:
            n += 1
            key = f"{base[: MAX_KEY - len(str(n)) - 1]}_{n}"
        self.owner[key] = identity
        self.original[key] = name
        return key

    def renamed(self) -> dict[str, str]:
        """Keys that differ from the name they stand for, with that name."""
        return {k: v for k, v in self.original.items() if k != v}
