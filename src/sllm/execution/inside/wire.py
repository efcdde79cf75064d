"""The call channel between the judge and the candidate sandboxes: values as tagged Python literals.

A message is `repr()` of a tree of tuples, lists, strings and numbers, parsed back with
`ast.literal_eval`, so what crosses the channel can only ever be plain data: no object of the
sender's, no code, no custom `__eq__`. Every value is tagged with its type, which keeps
the mapping exact (a tuple stays a tuple, a set a set) and carries the floats a literal cannot
spell (nan, inf). Frames are length-prefixed and bounded in size.
"""

from __future__ import annotations

import math
import os
import struct

MAX_MESSAGE_BYTES = 4 << 20
_HEADER = struct.Struct(">I")
_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_SCALARS = {"B": bool, "I": int, "S": str, "Y": bytes}
_COLLECTIONS = {"L": list, "T": tuple, "E": set, "Z": frozenset}


class ChannelError(Exception):
    """The other side sent something that is not a valid message, or went away."""


def encode(value: object) -> tuple:
    """A tagged literal tree for value (plain Python data, plus numpy-like scalars and arrays)."""
    if value is None:
        return ("N",)
    if isinstance(value, bool):
        return ("B", bool(value))
    if isinstance(value, int):
        return ("I", int(value))
    if isinstance(value, float):
        return ("F", _float(float(value)))
    if isinstance(value, complex):
        return ("C", _float(value.real), _float(value.imag))
    if isinstance(value, str):
        return ("S", str(value))
    if isinstance(value, bytes):
        return ("Y", bytes(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        tag = next(t for t, kind in _COLLECTIONS.items() if isinstance(value, kind))
        return (tag, [encode(item) for item in value])
    if isinstance(value, dict):
        return ("D", [(encode(k), encode(v)) for k, v in value.items()])
    if type(value).__module__.split(".")[0] == "numpy" and hasattr(value, "tolist"):
        return encode(value.tolist())  # numpy scalars and arrays: best effort, as Python data
    raise TypeError(f"a {type(value).__name__} cannot be sent between sandboxes (only plain data)")


def _float(value: float) -> float | str:
    return value if math.isfinite(value) else repr(value)


def decode(tree: object) -> object:
    """The value of a tagged literal tree; ChannelError on anything malformed."""
    if type(tree) is not tuple or not tree or type(tree[0]) is not str:
        raise ChannelError("malformed value")
    tag, body = tree[0], tree[1:]
    if tag == "N" and not body:
        return None
    if tag in _SCALARS and len(body) == 1 and type(body[0]) is _SCALARS[tag]:
        return body[0]
    if tag == "F" and len(body) == 1:
        return _read_float(body[0])
    if tag == "C" and len(body) == 2:
        return complex(_read_float(body[0]), _read_float(body[1]))
    if tag in _COLLECTIONS and len(body) == 1 and type(body[0]) is list:
        return _COLLECTIONS[tag](decode(item) for item in body[0])
    if tag == "D" and len(body) == 1 and type(body[0]) is list:
        if any(type(pair) is not tuple or len(pair) != 2 for pair in body[0]):
            raise ChannelError("malformed dict")
        return {decode(k): decode(v) for k, v in body[0]}
    raise ChannelError(f"malformed value (tag {tag!r})")


def _read_float(body: object) -> float:
    if type(body) is float:
        return body
    if type(body) is str and body in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[body]
    raise ChannelError("malformed float")


def send(fd: int, message: tuple) -> None:
    """Write one message (a tuple of literals) as a length-prefixed frame."""
    data = repr(message).encode("utf-8")
    if len(data) > MAX_MESSAGE_BYTES:
        raise ChannelError(f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def receive(fd: int) -> tuple:
    """Read one message; ChannelError when the channel closes or the frame is invalid."""
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    if size > MAX_MESSAGE_BYTES:
        raise ChannelError(f"message of {size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    import ast  # here, not at the top: the program role never needs it, and imports cost start-up

    try:
        message = ast.literal_eval(_read_exactly(fd, size).decode("utf-8"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError, TypeError) as exc:
        raise ChannelError(f"unreadable message: {type(exc).__name__}") from None
    if type(message) is not tuple or not message or type(message[0]) is not str:
        raise ChannelError("malformed message")
    return message


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 16))
        if not chunk:
            raise ChannelError("the other sandbox closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
