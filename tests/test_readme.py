"""The README: the two commands first, short, true, and every command of its tour real.

The tour blocks (`<!-- run: CMD -->`) of README.md and docs/tour.md are rerun and
compared by tests/test_docs.py; `python docs/generate.py` rewrites them.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def text() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    before, first_block = text().split("```")[:2]
    assert before.strip() == "# immunofacts"
    assert first_block.strip().splitlines() == [
        "sh",
        "pip install . && immunofacts list-cases",
        "pip install '.[test]' && pytest",
    ]


def test_readme_reads_in_two_minutes() -> None:
    assert len(text().splitlines()) < 200


def test_readme_has_a_tour_of_real_output() -> None:
    assert len(re.findall(r"<!-- run: immunofacts ", text())) >= 3


def test_readme_links_resolve() -> None:
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text())
    assert links
    missing = [link for link in links if not (ROOT / link).exists()]
    assert missing == []


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet '.[test]' && pytest\n" in ci
