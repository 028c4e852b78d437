"""Shell completion of ids, through Typer's completion protocol, and the progress indicator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from immunofacts import cli

ROOT = Path(__file__).resolve().parent.parent


def complete(words: str, cword: int) -> list[str]:
    """What bash completion offers for a command line, from a real process."""
    env = dict(
        os.environ, _IMMUNOFACTS_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(cword)
    )
    code = "import sys; sys.argv[0] = 'immunofacts'; from immunofacts.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.split()


def test_show_case_completes_case_ids() -> None:
    assert complete("immunofacts show-case case-", 2) == [
        "case-lupus-lymphoma-shenzhen",
        "case-uk-lymphoma-helen",
        "case-hong-kong-singer",
    ]


def test_show_claim_completes_claim_ids_by_prefix() -> None:
    got = complete("immunofacts show-claim claim-wang", 2)
    assert got and all(i.startswith("claim-wang") for i in got)
    assert "claim-wang-fusheng-t-cell-finding" in got


def test_source_claim_completes_claims_and_cases() -> None:
    got = complete("immunofacts source --claim case-h", 3)
    assert got == ["case-hong-kong-singer"]


def test_entities_completes_entity_ids() -> None:
    got = complete("immunofacts entities ent-ca", 2)
    assert got == ["ent-car-t-cell-therapy"]


def test_completion_with_a_broken_dataset_offers_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: [\n", encoding="utf-8")
    assert complete(f"immunofacts show-case --data {bad} case-", 4) == []


def test_progress_only_when_stderr_is_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stream:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.setattr(sys, "stderr", Stream(False))
    assert cli.progress() is None
    monkeypatch.setattr(sys, "stderr", Stream(True))
    assert cli.progress() is not None


def test_slow_load_shows_progress_through_the_given_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections.abc import Iterator
    from contextlib import contextmanager

    from immunofacts import cache

    shown: list[str] = []

    @contextmanager
    def status(message: str) -> Iterator[None]:
        shown.append(message)
        yield

    monkeypatch.setattr(cache, "PROGRESS_BYTES", 1)
    cache.open_dataset(ROOT / "data" / "immunofacts.yaml", "data/immunofacts.yaml", status=status)
    assert shown == ["Loading data/immunofacts.yaml"]
    monkeypatch.setattr(cache, "PROGRESS_BYTES", 10**12)
    shown.clear()
    cache.validate_dataset(ROOT / "data" / "immunofacts.yaml", status=status)
    assert shown == []
