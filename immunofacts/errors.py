"""The project's errors: one base class, and messages that say what to do next."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import NamedTuple


class ExitStatus(enum.IntEnum):
    """Exit codes, as documented in README.md."""

    OK = 0
    ERROR = 1  # a data error, or nothing found
    USAGE = 2  # the command line itself is wrong
    HANGUP = 129  # the terminal went away (128 + SIGHUP)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141  # the reader of stdout went away, as `| head` does (128 + SIGPIPE)
    TERMINATED = 143  # asked to stop (128 + SIGTERM)


class ImmunofactsError(Exception):
    """Base of every error this package raises on purpose."""

    exit_status: ExitStatus = ExitStatus.ERROR


def named(path: object) -> str:
    """A file's name as a message shows it: on one line, a line break in it written as
    ``\\n`` and a carriage return as ``\\r`` (a message is written a line at a time, each
    line its own ``immunofacts: error:``; other controls are escaped with the rest)."""
    return str(path).replace("\r", "\\r").replace("\n", "\\n")


class Problem(NamedTuple):
    """One problem in a dataset file, located like a compiler error."""

    file: str
    line: int | None
    where: str
    what: str
    #: The column on the line, for a problem with a character rather than a value.
    column: int | None = None

    def __str__(self) -> str:
        loc = named(self.file) if self.line is None else f"{named(self.file)}:{self.line}"
        if self.line is not None and self.column is not None:
            loc += f":{self.column}"
        return f"{loc}: {self.where}: {self.what}" if self.where else f"{loc}: {self.what}"


class DataError(ImmunofactsError):
    """A dataset could not be loaded; carries the problems found (the first ones, when
    there are many: `more` counts the rest)."""

    def __init__(self, problems: Sequence[Problem], more: int = 0) -> None:
        self.problems = tuple(problems)
        self.more = more
        lines = [str(p) for p in self.problems]
        if more and self.problems:
            lines.append(f"{named(self.problems[0].file)}: and {more:,} more problems")
        super().__init__("\n".join(lines))


class NotFoundError(ImmunofactsError):
    """An id or name that is not in the dataset."""

    def __init__(
        self,
        what: str,
        key: str,
        suggestions: Iterable[str] = (),
        *,
        ambiguous: int = 0,
        hint: str | None = None,
    ) -> None:
        self.key = key
        self.suggestions = tuple(suggestions)
        if hint:
            super().__init__(hint)
            return
        called = "id, name or alias" if what == "entity" else "id"  # as find_entity reads
        if ambiguous:
            several = "ids, names or aliases" if what == "entity" else "ids"
            msg = f"{key!r} matches {ambiguous} {what} {several}; give more of one"
            msg += (
                ": "
                + ", ".join(self.suggestions)
                + (", ..." if ambiguous > len(self.suggestions) else "")
            )
            super().__init__(msg)
            return
        msg = f"no {what} with {called} {key!r}"
        if self.suggestions:
            msg += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        elif what in ("case", "claim", "entity"):
            lister = "entities" if what == "entity" else f"list-{what}s"
            msg += f"; list them with `immunofacts {lister}`"
        super().__init__(msg)


class UsageError(ImmunofactsError):
    """The command line asks for something that cannot be done."""

    exit_status = ExitStatus.USAGE


class OutputError(ImmunofactsError):
    """An output file could not be written, or would be overwritten."""
