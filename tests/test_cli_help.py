"""Every command's --help shows its bracketed text (verdict formats, placeholders) intact.

Typer renders help with rich markup, where "[rating]" is a style tag that silently disappears:
`judge single --help` once showed `"[]"` for `"[[rating]]"`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from sllm.cli.app import _register_commands, app

STYLE_TAG = re.compile(
    r"\[/?(bold|dim|italic|underline|red|green|yellow|blue|cyan|magenta|white|link[^\]]*)\]"
)
BRACKETED = re.compile(r"(?<!\\)\[[^\[\]\s]+\](?:\])?|\\\[[^\n]*?\]\]?")


def _commands() -> list[tuple[list[str], Any]]:
    _register_commands()
    root = typer.main.get_command(app)
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            for name, sub in command.commands.items():
                walk([*path, name], sub)

    walk([], root)
    return found


def _bracketed(command: Any) -> set[str]:
    texts = [command.help or "", command.epilog or ""]
    texts += [getattr(p, "help", None) or "" for p in command.params]
    found = set()
    for text in texts:
        for match in BRACKETED.findall(STYLE_TAG.sub("", text)):
            found.add(match.replace("\\[", "["))
    return found


@pytest.mark.parametrize(
    "path,command", _commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_help_keeps_bracketed_text(path: list[str], command: Any) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400"}, terminal_width=400)
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    missing = [text for text in _bracketed(command) if " ".join(text.split()) not in shown]
    assert not missing, f"`sllm {' '.join(path)} --help` lost {missing}"


def test_judge_single_help_shows_the_rating_format() -> None:
    result = CliRunner().invoke(
        app, ["judge", "single", "--help"], env={"COLUMNS": "200"}, terminal_width=200
    )
    assert '"[[rating]]"' in result.output
