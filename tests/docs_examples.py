"""The command examples of README.md and docs/*.md, read from the Markdown itself.

An example is a line of a ```bash block (continuation lines joined) that runs `sllm`: a command
of the line (split at `&&`, `||`, `|`, `;`) starts with `sllm` or `.venv/bin/sllm`, or runs
`-m sllm` (`accelerate launch ... -m sllm train ...`). Other lines of a block (`./install.sh`,
`source .venv/bin/activate`) are setup the test environment already has.

An HTML comment right before a block (invisible when rendered) marks examples that cannot run on
a test machine; keep them rare (network beyond 127.0.0.1, a GPU, jobs of hours):

    <!-- docs-test: skip "needs a GPU" -->                                  every example of the block
    <!-- docs-test: skip "calls api.openai.com" matching "api.openai.com" -->  those containing the text

A trailing comment `# error: TEXT` says the example fails on purpose: it must exit with 1 or 2
and print TEXT.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUP_PREFIX = "./install.sh && "  # the test runs inside the installed environment
_ANNOTATION = re.compile(r'<!--\s*docs-test:\s*skip\s+"([^"]+)"(?:\s+matching\s+"([^"]+)")?\s*-->')
_EXPECTED_ERROR = re.compile(r"#\s*error:\s*(.+?)\s*$")
_OPERATORS = {"&&", "||", "|", ";", "&", "|&"}


@dataclass(frozen=True)
class Annotation:
    """A skip mark before a block: its reason, and the text an example must contain (or all)."""

    file: str
    line: int
    reason: str
    matching: str | None


@dataclass(frozen=True)
class Example:
    """One command example: where it is written, the command as written, and how it must end."""

    file: str
    line: int
    command: str
    skipped_by: Annotation | None = None
    expect_error: str | None = None

    @property
    def id(self) -> str:
        """The test id: file and line."""
        return f"{self.file}:{self.line}"

    @property
    def background(self) -> bool:
        """Whether the example ends with `&`: it runs alongside the next one."""
        tokens = _tokens(self.command)
        return bool(tokens) and tokens[-1] == "&"

    def script(self) -> str:
        """The command as bash runs it: as written, less a leading `./install.sh &&`."""
        return self.command.removeprefix(SETUP_PREFIX)


def doc_files(root: Path = ROOT) -> list[Path]:
    """README.md and every docs/*.md, in a fixed order."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _tokens(line: str) -> list[str]:
    """The shell words and operators of a line, comments dropped (empty if it does not lex)."""
    try:
        return list(shlex.shlex(line, posix=True, punctuation_chars=True))
    except ValueError:
        return []


def runs_sllm(line: str) -> bool:
    """Whether one of the line's commands runs sllm."""
    tokens = _tokens(line)
    starts = [0] + [i + 1 for i, t in enumerate(tokens) if t in _OPERATORS]
    if any(i < len(tokens) and tokens[i] in ("sllm", ".venv/bin/sllm") for i in starts):
        return True
    return any(a == "-m" and b == "sllm" for a, b in zip(tokens, tokens[1:]))


def _logical_lines(lines: list[str], start: int, end: int) -> list[tuple[int, str]]:
    """(1-based line, text) of each command in lines[start:end], continuation lines joined."""
    out: list[tuple[int, str]] = []
    i = start
    while i < end:
        number, text = i + 1, lines[i].rstrip()
        while text.endswith("\\") and i + 1 < end:
            i += 1
            text = text[:-1].rstrip() + " " + lines[i].strip()
        out.append((number, text.strip()))
        i += 1
    return out


def read_doc(path: Path, root: Path = ROOT) -> tuple[list[Example], list[Annotation]]:
    """The examples of one Markdown file in document order, and its skip annotations."""
    name = path.relative_to(root).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    examples: list[Example] = []
    annotations: list[Annotation] = []
    pending: list[Annotation] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        found = _ANNOTATION.fullmatch(stripped)
        if found:
            pending.append(Annotation(name, i + 1, found.group(1), found.group(2)))
            i += 1
            continue
        if not stripped.startswith("```"):
            pending = [] if stripped else pending
            i += 1
            continue
        language = stripped[3:].strip()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```")), len(lines))
        annotations.extend(pending)
        if language == "bash":
            for number, text in _logical_lines(lines, i + 1, end):
                if not runs_sllm(text):
                    continue
                mark = next((a for a in pending if a.matching is None or a.matching in text), None)
                error = _EXPECTED_ERROR.search(text)
                examples.append(Example(name, number, text, mark, error.group(1) if error else None))
        pending = []
        i = end + 1
    return examples, annotations


def all_examples(root: Path = ROOT) -> tuple[list[Example], list[Annotation]]:
    """Every example and annotation of README.md and docs/*.md."""
    examples: list[Example] = []
    annotations: list[Annotation] = []
    for path in doc_files(root):
        found, marks = read_doc(path, root)
        examples += found
        annotations += marks
    return examples, annotations
