"""Credentials out of everything shown or recorded: model specs, URLs, option dicts, free text.

A model spec may carry a key: `openai:m@http://user:KEY@host/v1`, `openai:m@URL,api_key=KEY`, or
`URL?token=KEY`. Backends use the key to call; everything printed, written or tracked gets the
redacted form, the secret replaced by `***`. A name is secret when one of its words (split on
`_`, `-`, `.` and camelCase) is a secret word, or its last word is `key` or `token`: `api_key`,
`hf_token`, `X-Api-Key`, `password` are; `max_tokens`, `tokenizer`, `key_field`,
`token_perplexity` and a tokenizer's `eos_token` are not. Only string values are ever masked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

# Whole words that make a name secret wherever they stand in it.
SECRET_WORDS = frozenset(
    {
        "apikey",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "bearer",
        "cookie",
        "signature",
        "sig",
        "accesskey",
        "secretkey",
        "privatekey",
        "accesstoken",
        "authtoken",
    }
)
# Last words that make a name secret (`api_key`, `hf_token`), unless a tokenizer's special token.
LAST_WORDS = frozenset({"key", "token"})
SPECIAL_TOKENS = frozenset({"bos", "eos", "pad", "unk", "sep", "cls", "mask", "special"})
# Environment values shorter than this are not masked in free text: they would mask ordinary
# words (and `EMPTY`, the placeholder key of local servers, is no secret).
MIN_ENV_SECRET = 8

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# scheme://USERINFO@host: greedy up to the netloc's last '@' (an unencoded '@' in a password).
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s'\"<>]*@")
# NAME=VALUE in a spec's options, a URL's query or fragment, or a message quoting either.
_KEY_VALUE = re.compile(r"(?P<name>[A-Za-z_][\w.\-]*)=(?P<value>[^,&;#\s'\"<>)\]}]*)")
# An Authorization header's value quoted in a message (a server's error, a debug line).
_BEARER = re.compile(r"(?i)\b(?P<kind>bearer)\s+[A-Za-z0-9._~+/=\-]{8,}")


def is_secret_name(name: str) -> bool:
    """Whether an option, query parameter, field or variable name names a secret."""
    words = [w.lower() for w in _WORD.findall(name)]
    if not words:
        return False
    if any(w in SECRET_WORDS for w in words):
        return True
    return words[-1] in LAST_WORDS and not (len(words) > 1 and words[-2] in SPECIAL_TOKENS)


def redact_spec(text: str) -> str:
    """A model spec or URL with URL userinfo and secret-named options or query values as `***`."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return _KEY_VALUE.sub(
        lambda m: f"{m['name']}={MASK}" if m["value"] and is_secret_name(m["name"]) else m[0], text
    )


def redact_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Spec options with the values of secret-named ones as `***`, the rest redacted as text."""
    return {k: redact_field(k, v) for k, v in options.items()}


def redact_text(text: str) -> str:
    """Free text (a message, a param value) with spec secrets, bearer tokens and env keys masked."""
    text = _BEARER.sub(lambda m: f"{m['kind']} {MASK}", redact_spec(text))
    for value in environment_secrets():
        text = text.replace(value, MASK)
    return text


def redact_field(name: str, value: Any) -> Any:
    """A named value: masked whole under a secret name, else its strings redacted as text."""
    leaf = name.rsplit(".", 1)[-1].rsplit("/", 1)[-1]
    if isinstance(value, str) and value and is_secret_name(leaf):
        return MASK
    return redact_tree(value)


def redact_tree(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every secret in it masked."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_field(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value


def environment_secrets() -> list[str]:
    """Values of secret-named environment variables (SLLM_API_KEY, OPENAI_API_KEY, HF_TOKEN...)."""
    found = {
        value for name, value in os.environ.items() if len(value) >= MIN_ENV_SECRET and is_secret_name(name)
    }
    # Longest first, so a key that contains another is masked whole.
    return sorted(found, key=len, reverse=True)
