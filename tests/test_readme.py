"""The README's tour is real output: each `<!-- run: CMD -->` block must match running CMD.

Run with UPDATE_README=1 to rewrite the blocks from the current output. Commands
run through the real CLI at 100 columns, colour off, terminal layout on.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunofacts.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- run: (.+?) -->\n```[a-z]*\n)(.*?)(```\n)", re.DOTALL)
ENV = {"COLUMNS": "100", "NO_COLOR": "1", "FORCE_COLOR": "1", "TERM": "xterm-256color"}


def run(command: str) -> str:
    """The output of a README command line; `| head -N` keeps the first N lines."""
    head = None
    if "| head -" in command:
        command, _, n = command.partition("| head -")
        head = int(n)
    args = shlex.split(command)
    assert args[0] == "immunofacts"
    result = CliRunner().invoke(app, args[1:], env=ENV)
    out = result.stdout
    if head is not None:
        out = "".join(out.splitlines(keepends=True)[:head])
    # Trailing spaces are invisible in the README and editors strip them.
    return "\n".join(line.rstrip() for line in out.split("\n"))


def test_readme_tour_matches_the_real_output(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tour is run from the checkout, as a reader who just installed it would.
    monkeypatch.chdir(README.parent)
    text = README.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert len(blocks) >= 10, "the tour shows each command"
    if os.environ.get("UPDATE_README"):
        new = BLOCK.sub(lambda m: m.group(1) + run(m.group(2)) + m.group(4), text)
        README.write_text(new, encoding="utf-8")
        pytest.skip("README rewritten")
    for _, command, shown, _ in blocks:
        assert shown == run(command), f"README output of {command!r} is out of date"


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```")[1]
    assert "pip install . && immunofacts list-cases" in first_block
    assert "pip install '.[test]' && pytest" in first_block
