"""A run builds only the command it invokes (start-up time), and nothing a user sees changes."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from immunofacts.cli import app

ALL = list(app.commands)
#: What each run builds is the point here: conftest.py's one command group is not used.
BUILDS_ITS_OWN_COMMANDS = True


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the commands built from here on, in the order built."""
    names: list[str] = []
    real = typer.main.get_command_from_info

    def recording(info: Any, **kwargs: Any) -> Any:
        command = real(info, **kwargs)
        names.append(command.name or "")
        return command

    monkeypatch.setattr(typer.main, "get_command_from_info", recording)
    return names


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_the_commands_are_registered_in_order() -> None:
    assert ALL[:5] == ["list-cases", "show-case", "list-claims", "show-claim", "show-stats"]
    assert len(ALL) == len(set(ALL)) >= 11
    assert not app.registered_commands  # kept aside: Typer would build them all


@pytest.mark.parametrize("command", ["list-cases", "show-stats", "labels"])
def test_a_run_builds_only_its_own_command(built: list[str], command: str) -> None:
    result = run(command)
    assert result.exit_code == 0, result.output
    assert built == [command]


def test_a_commands_help_builds_only_that_command(built: list[str]) -> None:
    result = run("show-case", "--help")
    assert result.exit_code == 0
    assert "Case id, or a unique prefix of one." in result.output
    assert built == ["show-case"]


def test_version_and_an_unknown_command_build_none(built: list[str]) -> None:
    assert run("--version").output.startswith("immunofacts ")
    result = run("lst-cases")
    assert result.exit_code == 2
    assert "No such command 'lst-cases'. Did you mean 'list-cases'" in result.output
    assert built == []


def test_the_root_help_lists_every_command(built: list[str]) -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert [name for name in ALL if name not in result.output] == []
    assert sorted(built) == sorted(ALL)  # each one's summary is shown


def test_the_group_reads_as_a_mapping_of_every_command() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert list(commands) == ALL and len(commands) == len(ALL)
    assert commands["list-cases"] is commands["list-cases"]  # built once
    assert [c.name for c in commands.values()] == ALL
    with pytest.raises(KeyError):
        commands["no-such-command"]
    assert commands.get("no-such-command") is None


def test_completing_an_id_builds_only_that_command(built: list[str]) -> None:
    env = {"_IMMUNOFACTS_COMPLETE": "complete_bash", "COMP_CWORD": "2"}
    result = CliRunner().invoke(app, [], env={**env, "COMP_WORDS": "immunofacts show-case case-h"})
    assert result.output.split() == ["case-hong-kong-singer"]
    assert built == ["show-case"]
    result = CliRunner().invoke(
        app, [], env={**env, "COMP_CWORD": "1", "COMP_WORDS": "immunofacts show-c"}
    )
    assert result.output.split() == ["show-case", "show-claim"]


def test_a_root_flag_after_the_command_builds_only_that_command(built: list[str]) -> None:
    result = run("list-cases", "--raw", "--format", "csv", "--no-pager")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("id,")
    assert built == ["list-cases"]


def test_the_entry_point_imports_with_the_collector_paused_and_runs_with_it_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc
    import signal

    from immunofacts import __main__, cli

    seen: list[tuple[bool, int]] = []
    monkeypatch.setattr(
        cli, "main", lambda held=(): seen.append((gc.isenabled(), gc.get_freeze_count()))
    )
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    gc.unfreeze()
    try:
        __main__.main()
    finally:
        gc.unfreeze()
        for s, handler in handlers.items():  # the entry point holds them for the command
            signal.signal(s, handler)
    assert seen and seen[0][0] and seen[0][1] > 0  # imports frozen, collector back on


def test_the_command_is_installed_through_that_entry_point() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["scripts"]["immunofacts"] == "immunofacts.__main__:main"
