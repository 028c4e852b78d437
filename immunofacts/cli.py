"""The command line: the only module that knows Typer.

Each command reads its options, opens the dataset, calls one query function,
wraps the answer in one result object (`render.results`) and hands it to `show`,
which renders it in the format asked for and writes it to stdout. No command
looks at the format itself. Messages and errors go to stderr. Heavy modules
(Rich, the YAML parser) are imported inside the commands that need them.

The output environment (`Env`: terminal or not, width, colour) is read once, in
the root callback, and kept on the Typer context; a test may pass its own with
`CliRunner().invoke(app, args, obj=Env(...))`.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Generic, NoReturn, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import CommandInfo

from . import __version__
from .errors import (
    DataError,
    ExitStatus,
    ImmunofactsError,
    OutputError,
    Problem,
    UsageError,
    named,
)
from .model import Claim, Dataset, Entity, Source
from .query import LABEL_FILTERS, SortKey, Wanted
from .render.base import Env, ExportFormat, Format

if TYPE_CHECKING:
    from .cache import Cache, Status
    from .render.results import Result


R = TypeVar("R")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: Below this many columns, help is a plain list (each option's name on its own line,
#: its help under it) instead of Rich's boxed table, whose columns get too thin to read.
NARROW_HELP = 80


class _Stacked:
    """Stands in for click's help formatter: definition lists stacked, name over text."""

    #: Read only by code that shortens a command's summary to fit beside its name;
    #: stacked, the summary has a line of its own and wraps, so nothing is cut.
    width = 10_000

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        self._inner.write_dl(rows, col_max=1, col_spacing=col_spacing)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _narrow_help(command: Any, ctx: Any, formatter: Any, base: type[Any]) -> bool:
    """Write plain, stacked help when the terminal is narrow; False when it is not."""
    import shutil

    width = shutil.get_terminal_size().columns
    if width >= NARROW_HELP:
        return False
    formatter.width = max(width - 1, 20)
    # The class above Typer's in the MRO is click's own, plain formatter.
    super(base, command).format_help(ctx, _Stacked(formatter))
    return True


class _Command(TyperCommand):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        if not _narrow_help(self, ctx, formatter, TyperCommand):
            super().format_help(ctx, formatter)


class _SearchCommand(_Command):
    """`search`, whose words may include ``-word`` (a word to leave out): written before
    ``--``, such a word is an option to the parser, and one that starts as a short
    option does (``-deaths`` is ``-d eaths``, the dataset "eaths") is taken silently.
    A ``-word`` that names no option here, and is not a short option with a value it
    could mean, is refused with where it goes."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        named = {o: p for p in self.params for o in (*p.opts, *p.secondary_opts) if o[:1] == "-"}
        value_next = False  # the word after an option that takes one is its value
        for arg in args:
            if value_next:
                value_next = False
                continue
            if arg == "--":
                break
            if arg in named:
                value_next = not getattr(named[arg], "is_flag", True)
                continue
            if arg[:1] != "-" or arg[:2] == "--" or len(arg) < 3:
                continue
            param = named.get(arg[:2])
            if param is not None and _means_value(param, arg[2:]):
                continue
            raise UsageError(f"{arg!r} reads as an option; {_leave_out(ctx, arg)}")
        return list(super().parse_args(ctx, args))


def _leave_out(ctx: Any, word: str) -> str:
    """Where a word to leave out (``-word``) goes on `search`'s command line."""
    return (
        f"a word to leave out goes after --, options before it:"
        f" {ctx.command_path} [OPTIONS] -- WORDS {word}"
    )


def _means_value(param: Any, value: str) -> bool:
    """Whether `value`, written straight after a short option (``-fjson``), is one that
    option could mean: one of its choices, or a file that is there."""
    choices = getattr(param.type, "choices", None)
    if choices is not None:
        return value in [str(getattr(c, "value", c)) for c in choices]
    return os.path.exists(value)


class _App(typer.Typer):
    """Typer, with help that stays readable on narrow terminals, whose command group
    builds a command only when it is asked for (see `_Commands`).

    A command is registered by name and kept here, not in Typer's own list, from which
    Typer would build every command at every start."""

    def __init__(self, *, cls: type[_Group], **kwargs: Any) -> None:
        #: name -> what Typer builds the command from, in the order registered
        self.commands: dict[str, CommandInfo] = {}
        super().__init__(cls=type(cls.__name__, (cls,), {"app": self}), **kwargs)

    def command(self, name: str, **kwargs: Any) -> Callable[[F], F]:  # type: ignore[override]
        kwargs.setdefault("cls", _Command)
        register = super().command(name, **kwargs)

        def decorator(f: F) -> F:
            register(f)
            self.commands[name] = self.registered_commands.pop()
            return f

        return decorator


class _Commands(MutableMapping[str, Any]):
    """The commands of the group by name, each built from its `CommandInfo` the first
    time it is looked up: a run builds only the command it invokes (building a command
    reads its function's signature and makes its options), while the names, for help,
    completion and suggestions, are known without building any."""

    def __init__(self, app: _App) -> None:
        self._app = app
        self._names = dict.fromkeys(app.commands)  # an ordered set
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            self._built[name] = typer.main.get_command_from_info(
                self._app.commands[name],
                pretty_exceptions_short=self._app.pretty_exceptions_short,
                rich_markup_mode=self._app.rich_markup_mode,
            )
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._names[name] = None
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._names[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


# --- errors and output --------------------------------------------------------------


def fail(message: str, status: ExitStatus = ExitStatus.ERROR) -> NoReturn:
    """Print `immunofacts: error: ...` on stderr and exit with `status`."""
    raise typer.Exit(_say(message, status))


def note(message: str) -> None:
    """A message for the reader on stderr (never mixed into the data on stdout). A
    warning or a note on the side: if stderr cannot take it (full, closed, its reader
    gone), it is lost, and the command's answer is not."""
    from .render.base import clean

    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"immunofacts: {clean(message)}\n")
        sys.stderr.flush()


class _Escape(BaseException):
    """Carries an error from a command past Typer's own handling, to `_handle`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        super().__init__(error)


def _handle(error: BaseException) -> int:
    """The one place where errors become messages and exit codes."""
    from .output import Interrupted, PipeClosed, silence_stdout

    if isinstance(error, _Escape):
        error = error.error
    if isinstance(error, typer.Exit):
        return int(error.exit_code)
    if isinstance(error, PipeClosed | BrokenPipeError):
        silence_stdout()
        return int(ExitStatus.BROKEN_PIPE)
    if isinstance(error, Interrupted):
        sys.stderr.write("immunofacts: interrupted\n")
        return error.exit_status
    if isinstance(error, KeyboardInterrupt):
        sys.stderr.write("immunofacts: interrupted\n")
        return int(ExitStatus.INTERRUPTED)
    if isinstance(error, ImmunofactsError):
        return _say(str(error), error.exit_status)
    if isinstance(error, RecursionError):
        return _say("input is nested too deeply", ExitStatus.ERROR)
    if isinstance(error, MemoryError):
        return _say(
            "out of memory: raise the memory limit (ulimit -v) or use a smaller dataset file",
            ExitStatus.ERROR,
        )
    if type(error).__name__ == "NoArgsIsHelpError":  # the help is the message
        text = str(getattr(error, "format_message", str)())
        sys.stderr.write(text if not text.strip() or text.endswith("\n") else text + "\n")
        return int(ExitStatus.USAGE)
    if isinstance(error, typer.Abort) or type(error).__name__ == "Abort":
        sys.stderr.write("immunofacts: interrupted\n")
        return int(ExitStatus.ERROR)
    message = getattr(error, "format_message", None)
    code = getattr(error, "exit_code", None)
    if callable(message) and isinstance(code, int):  # Typer's own: a usage error
        ctx = getattr(error, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        option = str(getattr(error, "option_name", ""))
        if ctx is not None and ctx.info_name == "search" and option[:1] == "-" != option[1:2]:
            # "-word" before any "--", which the help says to write after it
            hint = f"; {_leave_out(ctx, option)}"
        return _say(
            f"{message()}{hint}",
            ExitStatus(code) if code in (ExitStatus.ERROR, ExitStatus.USAGE) else ExitStatus.USAGE,
        )
    raise error


def _from_env(meta: dict[str, Any]) -> str:
    """A line naming IMMUNOFACTS_DATA when the dataset that failed came from it."""
    env = os.environ.get("IMMUNOFACTS_DATA")
    if not env or not meta.get("data_from_env"):
        return ""
    return f"\nthe dataset comes from IMMUNOFACTS_DATA={env}; unset it or pass --data PATH"


def _say(message: str, status: ExitStatus) -> int:
    from .render.base import clean

    sys.stderr.write(
        "".join(f"immunofacts: error: {clean(line)}\n" for line in message.split("\n"))
    )
    return int(status)


class _Group(TyperGroup):
    """The command group: the one top-level error handler around every run, help that
    stays readable on narrow terminals, and commands built only when looked up."""

    #: The application whose commands these are (set by `_App` on a class of its own).
    app: _App

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _Commands(self.app)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names, in the order registered, none built

    def format_help(self, ctx: Any, formatter: Any) -> None:
        if not _narrow_help(self, ctx, formatter, TyperGroup):
            super().format_help(ctx, formatter)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.Exit:
            raise
        except DataError as e:
            note = _from_env(ctx.meta)
            raise _Escape(ImmunofactsError(str(e) + note) if note else e) from e
        except Exception as e:
            if callable(getattr(e, "format_message", None)):
                raise  # Typer's own usage errors, raised while parsing a command's options
            raise _Escape(e) from e
        except KeyboardInterrupt as e:
            raise _Escape(e) from e

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        try:
            args = hoist_root_flags(args, self._valued(args))
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            status = result if isinstance(result, int) else 0
        except SystemExit:
            raise
        except BaseException as e:
            status = _handle(e)
        if standalone_mode:
            sys.exit(status)
        return status

    def _valued(self, args: list[str]) -> set[str]:
        """The names of the options that take a value of the command the arguments name
        (the first word that is not an option: every root option is a flag)."""
        name = next((a for a in args if not a.startswith("-")), "")
        if not any(a in ROOT_FLAGS for a in args) or name not in self.commands:
            return set()  # nothing to move (and no command to build for it)
        return {
            opt
            for p in self.commands[name].params
            if isinstance(p, TyperOption) and not p.is_flag and not p.count
            for opt in (*p.opts, *p.secondary_opts)
        }


#: Flags of the root command that are also accepted after the command's name.
ROOT_FLAGS = ("--no-pager", "--raw")


def hoist_root_flags(args: list[str], valued: Iterable[str] = ()) -> list[str]:
    """Move root flags written after the command (``immunofacts list-claims --no-pager``)
    in front of it, where the root command reads them. Words after ``--`` stay put, and
    so does the value of an option in `valued` (the options that take one):
    ``export --author --raw`` is an author named ``--raw``."""
    valued = set(valued)
    moved: list[int] = []
    i = 0
    while i < len(args) and args[i] != "--":
        if args[i] in ROOT_FLAGS:
            moved.append(i)
        elif args[i] in valued:
            i += 1  # its value, whatever it looks like
        i += 1
    if not moved:
        return args
    return [args[i] for i in moved] + [a for i, a in enumerate(args) if i not in moved]


app = _App(
    cls=_Group,
    name="immunofacts",
    help="Browse the claims of an article on immune cell therapy, each tied to the "
    "article's own words and reviewed against public records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def emit(text: str | Iterable[str | bytes | memoryview]) -> None:
    """Write data to stdout."""
    from .output import write

    write(text)


def env_of(ctx: typer.Context) -> Env:
    """The output environment read by the root callback (or given by a test)."""
    env = ctx.find_root().obj
    if not isinstance(env, Env):
        env = ctx.find_root().obj = Env.detect(sys.stdout)
    return env


#: Set in the context's shared `meta` by `--no-pager`.
NO_PAGER = "immunofacts.no_pager"


def show(ctx: typer.Context, result: Result[Any], fmt: Format | None) -> None:
    """Render a command's result in the format asked for (by default a table on a
    terminal, plain text when piped) and write it to stdout as it is made."""
    from .output import write, write_paged
    from .render import render

    env = env_of(ctx)
    if ctx.meta.get(FIELDS) is not None:  # `--fields ""` names no field: an error
        from .render.results import select

        result = select(result, ctx.meta[FIELDS])
    if ctx.meta.get(NO_HEADER):
        import msgspec

        env = msgspec.structs.replace(env, header=False)
    text = render(result, fmt, env)
    if env.height and not ctx.find_root().meta.get(NO_PAGER):
        write_paged(text, env.height)
    else:
        write(text)


def nothing(message: str) -> NoReturn:
    """Say on stderr why the output is empty, and exit with ExitStatus.ERROR."""
    note(message)
    raise typer.Exit(ExitStatus.ERROR)


# --- shared options -----------------------------------------------------------------


def _data_source(ctx: typer.Context, param: Any, value: str | None) -> str | None:
    """Remember whether the dataset named came from IMMUNOFACTS_DATA (for error messages)."""
    source = ctx.get_parameter_source(param.name)
    from_env = getattr(source, "name", "") == "ENVIRONMENT" and not ctx.params.get("path")
    ctx.meta["data_from_env"] = from_env
    return value


def _text_arg(ctx: typer.Context, param: Any, value: Any) -> Any:
    """Refuse text that is not characters (bytes that are not UTF-8) or holds controls."""
    from .render.base import clean

    for item in value if isinstance(value, list | tuple) else [value]:
        if isinstance(item, str) and (
            any("\ud800" <= ch <= "\udfff" for ch in item) or clean(item) != item
        ):
            shown = clean(item.encode("utf-8", "backslashreplace").decode("ascii", "replace"))
            name = param.opts[0] if param.param_type_name == "option" else param.metavar
            raise UsageError(f"{name}: not plain text: {shown[:60]!r}")
    return value


DataOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        "-d",
        envvar="IMMUNOFACTS_DATA",
        callback=_data_source,
        metavar="PATH",
        help="Dataset YAML file (default: the article's dataset).",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-f",
        case_sensitive=False,
        metavar="FORMAT",
        help="Output format: table, plain, json, csv, markdown "
        "(default: table on a terminal, plain when piped).",
        show_choices=False,
        show_default=False,
    ),
]


def _choice(
    enum_type: type[enum.StrEnum],
    metavar: str,
    what: str,
    gloss: Mapping[str, str] = {},
    scope: str = "",
) -> Any:
    """An option taking one of an enum's values, listed in its help, each with a few
    words on what it means where `gloss` has them; `scope` says where it applies."""
    values = ", ".join(
        f"{e.value} ({gloss[e.value]})" if e.value in gloss else str(e.value) for e in enum_type
    )
    return typer.Option(
        case_sensitive=False,
        metavar=metavar,
        help=f"{scope}{what}: {values}. Repeat for any of several.",
        show_choices=False,
    )


def label_filters(func: Callable[..., R], scope: str = "") -> Callable[..., R]:
    """Give a command an option for each filter on a label (`query.LABEL_FILTERS`),
    in place of its `labels` parameter, and pass it what was chosen as `labels`:
    option name -> the values given (repeatable; none for no filter). `scope` opens
    each option's help, where the filters apply to some forms of the command only."""
    signature = inspect.signature(func, eval_str=True)
    options = [
        inspect.Parameter(
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=None,
            annotation=Annotated[
                list[f.values] | None,  # type: ignore[name-defined]
                _choice(f.values, name.upper(), f.what, f.gloss, scope),
            ],
        )
        for name, f in LABEL_FILTERS.items()
    ]
    params = [
        p for q in signature.parameters.values() for p in (options if q.name == "labels" else [q])
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        labels: dict[str, Wanted] = {name: kwargs.pop(name) for name in LABEL_FILTERS}
        return func(*args, labels=labels, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper


#: Set in the context's shared `meta` by `--fields` and `--no-header`.
FIELDS = "immunofacts.fields"
NO_HEADER = "immunofacts.no_header"


def table_options(*, fields: str | None) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command `--no-header` (plain tables start with a line of column names
    otherwise) and, given `fields` (an example of them that the command takes, for its
    help), `--fields a,b,c` (only those fields of each item, in JSON, CSV and plain
    text, as `gh --json` does). `show` reads them."""
    extra = [
        inspect.Parameter(
            "no_header",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=False,
            annotation=Annotated[
                bool,
                typer.Option("--no-header", help="plain: no line of column names before the rows."),
            ],
        )
    ]
    if fields:
        extra.insert(
            0,
            inspect.Parameter(
                "fields",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None,
                annotation=Annotated[
                    str | None,
                    typer.Option(
                        "--fields",
                        metavar="A,B,...",
                        help="Only these fields of each item (json, csv, plain), e.g. "
                        f"{fields}; a wrong name lists the valid ones.",
                    ),
                ],
            ),
        )

    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(func, eval_str=True)
        params = list(signature.parameters.values())

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            ctx = kwargs.get("ctx") or next(a for a in args if isinstance(a, typer.Context))
            ctx.meta[NO_HEADER] = kwargs.pop("no_header", False)
            ctx.meta[FIELDS] = kwargs.pop("fields", None)
            return func(*args, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=params + extra)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def data_path(data: str | None) -> tuple[Path, str]:
    """The dataset's path, and the name to report it by. An empty one is refused: it
    is a mistake (an unset variable in a script), not a request for the default."""
    if data == "":
        raise UsageError("the dataset's path is empty (leave it out for the article's dataset)")
    if data:
        return Path(data), data
    from .paths import bundled_data_path

    path = bundled_data_path()
    try:
        label = os.path.relpath(path)
    except ValueError:
        label = str(path)
    return path, label if not label.startswith("..") else str(path)


def progress() -> Status | None:
    """A progress indicator for slow loads, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    from .render.terminal import spinner

    return spinner


def load(data: str | None) -> Dataset:
    """Open the dataset named by --data (or IMMUNOFACTS_DATA, or the default)."""
    from .cache import open_dataset

    path, label = data_path(data)
    return open_dataset(path, label, status=progress())


class Counted(Generic[T]):
    """An iterable that counts the items taken from it, for streaming a result and
    still knowing afterwards whether it was empty."""

    def __init__(self, items: Iterable[T]) -> None:
        self.items = items
        self.n = 0

    def __iter__(self) -> Iterator[T]:
        for item in self.items:
            self.n += 1
            yield item


def ask(data: str | None, warm: Callable[[Cache], R], cold: Callable[[Dataset], R]) -> R:
    """`warm` asked of the dataset's cache, reading only the rows it needs; `cold` asked
    of the whole dataset when there is no usable cache (both answer alike)."""
    from .cache import answer
    from .output import pieces_written

    path, label = data_path(data)
    return answer(path, label, progress(), warm, cold, pieces_written)


def _complete(kind: str) -> Callable[[typer.Context, str], list[str]]:
    """Shell completion of the ids of `kind` (see `cache.completion_ids`): read from
    the cache, never more than `query.COMPLETION_LIMIT` of them, and none (never an
    error) when the dataset cannot answer at once."""

    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        from .cache import completion_ids

        try:
            path, _ = data_path(ctx.params.get("data") or os.environ.get("IMMUNOFACTS_DATA"))
            return completion_ids(path, kind, incomplete)
        except Exception:
            return []

    return complete


def _id_argument(kind: str) -> Any:
    """The ID argument of `show-case` or `show-claim`, completing ids of that kind."""
    return typer.Argument(
        metavar="ID",
        help=f"{kind.capitalize()} id, or a unique prefix of one.",
        autocompletion=_complete(kind),
        callback=_text_arg,
    )


def _version(value: bool) -> None:
    if value:
        emit(f"immunofacts {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    no_pager: Annotated[
        bool,
        typer.Option(
            "--no-pager",
            help="Never page long output (by default a terminal pages it through "
            "IMMUNOFACTS_PAGER, PAGER or `less -FRX`; IMMUNOFACTS_PAGER=cat turns it off).",
        ),
    ] = False,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="CSV: write cells exactly as they are. By default a cell that starts like "
            "a spreadsheet formula (= + - @) gets a leading ' so that no spreadsheet runs it.",
        ),
    ] = False,
) -> None:
    """Browse the claims of an article on immune cell therapy.

    Every claim carries the article's own words and says what backs it.
    """
    env = env_of(ctx)
    if raw:
        import msgspec

        ctx.find_root().obj = msgspec.structs.replace(env, csv_raw=True)
    if no_pager:
        ctx.meta[NO_PAGER] = True


# --- commands -----------------------------------------------------------------------


@app.command("list-cases")
@table_options(fields="id,review.rating")
def list_cases(ctx: typer.Context, data: DataOpt = None, format: FormatOpt = None) -> None:
    """List the article's clinical cases.

    Example: immunofacts list-cases --format json
    """
    from .render.results import CaseList

    cases = ask(data, lambda c: c.cases(), lambda ds: list(ds.cases))
    show(ctx, CaseList(cases), format)
    if not cases:
        nothing("this dataset has no cases")


@app.command("show-case")
def show_case(
    ctx: typer.Context,
    case_id: Annotated[str, _id_argument("case")],
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """Show one clinical case: patient, events, outcome, the article's words, review.

    Example: immunofacts show-case case-hong-kong-singer
    """
    from .query import find_case
    from .render.results import CaseDetail

    ds, case = ask(
        data,
        lambda c: (c.partial(), c.find_case(case_id)),
        lambda ds: (ds, find_case(ds, case_id)),
    )
    show(ctx, CaseDetail(ds, case), format)


def _entity_option(scope: str = "") -> Any:
    """The repeatable --entity filter of the commands that choose claims."""
    return typer.Option(
        metavar="NAME",
        help=f"{scope}Only claims naming this entity (id, name or alias). "
        "Repeat for any of several.",
        autocompletion=_complete("entity"),
        callback=_named_arg,
    )


def _named_arg(ctx: typer.Context, param: Any, value: Any) -> Any:
    """`_text_arg`, and refuse an empty value: `--entity "$UNSET"` would otherwise choose
    nothing out, and answer for every claim."""
    for item in value or ():
        if not item.strip():
            raise UsageError(f"{param.opts[0]}: empty; give an id, a name or an alias")
    return _text_arg(ctx, param, value)


def _year_option(scope: str = "") -> Any:
    """The repeatable --year filter of the commands that choose claims: a year as the
    dates a dataset holds write it (YYYY), as --since and --until take it; so that no
    number reaches SQL that it cannot take."""
    return typer.Option(
        help=f"{scope}Only claims dated in this year (YYYY). Repeat for any of several.",
        metavar="YYYY",
        parser=_year,
    )


def _year(value: str) -> int:
    """Four ASCII digits, as a date writes its year: not `+2020`, `2_020` or `２０２０`,
    which Python's int() would take."""
    if not (len(value) == 4 and value.isascii() and value.isdigit()):
        raise typer.BadParameter(f"expected a year as YYYY, got {value!r}")
    return int(value)


@app.command("list-claims")
@table_options(fields="id,kind,rating")
@label_filters
def list_claims(
    ctx: typer.Context,
    labels: dict[str, Wanted],
    entity: Annotated[list[str] | None, _entity_option()] = None,
    year: Annotated[list[int] | None, _year_option()] = None,
    sort: Annotated[
        SortKey | None,
        typer.Option(
            case_sensitive=False,
            metavar="FIELD",
            help="Order the claims by rating (accurate first), date (earliest first), kind "
            "or evidence; claims with none (not-a-fact, undated) come last, ties keep the "
            "article's order.",
            show_default=False,
        ),
    ] = None,
    reverse: Annotated[
        bool, typer.Option("--reverse", help="With --sort: the other way (incorrect first).")
    ] = False,
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """List claims, with their kind, evidence and verdict.

    Example: immunofacts list-claims --evidence peer-reviewed
    """
    from .query import filter_claims, sort_claims
    from .render.results import ClaimList

    if reverse and sort is None:
        raise UsageError("--reverse orders by --sort: give one (rating, date, kind, evidence)")

    def shown(claims: Iterable[Claim], json: Iterable[Any] | None = None) -> int:
        if sort is not None:  # every claim read first; then the text of each, as it goes
            claims, json = sort_claims(claims, sort, reverse=reverse), None
        counted, pieces = Counted(claims), Counted(json or ())
        show(ctx, ClaimList(counted, None if json is None else pieces), format)
        return counted.n + pieces.n

    def warm(c: Cache) -> int:
        rows = c.claims(entity=entity, year=year, **labels)  # JSON as the cache keeps it
        return shown(rows, None if sort else rows.json_items())

    n = ask(data, warm, lambda ds: shown(filter_claims(ds, entity=entity, year=year, **labels)))
    if not n:
        filtered = any((*labels.values(), entity, year))
        nothing("no claims match those filters" if filtered else "this dataset has no claims")


@app.command("show-claim")
def show_claim(
    ctx: typer.Context,
    claim_id: Annotated[str, _id_argument("claim")],
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """Show one claim: the article's words, its evidence and its review.

    Example: immunofacts show-claim claim-car-t-ind-applications
    """
    from .query import find_claim
    from .render.results import ClaimDetail

    ds, claim = ask(
        data,
        lambda c: (c.partial(c.cases()), c.find_claim(claim_id)),
        lambda ds: (ds, find_claim(ds, claim_id)),
    )
    show(ctx, ClaimDetail(ds, claim), format)


@app.command("show-stats")
def show_stats(ctx: typer.Context, data: DataOpt = None, format: FormatOpt = None) -> None:
    """Show the article's headline figures and how its claims divide by label and year.

    By kind, evidence, verdict, rating and reason, and by year. A dashboard: it
    shows the first 12 figures and cases and says how many more there are; JSON
    and CSV give every figure.

    Example: immunofacts show-stats
    """
    from .query import stats
    from .render.results import Statistics

    first = Statistics.shown(format)  # the cache reads only the figures and cases shown
    show(ctx, Statistics(ask(data, lambda c: c.stats(first), stats)), format)


@app.command("search", cls=_SearchCommand)
@table_options(fields="id,score,rating")
@label_filters
def search(
    ctx: typer.Context,
    query: Annotated[
        list[str],
        typer.Argument(
            metavar="TERMS...", help="Words to look for (see above).", callback=_text_arg
        ),
    ],
    labels: dict[str, Wanted],
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """Search claims and cases: their text, quotes, entities and review notes.

    Words match any word they begin (lymph finds lymphoma) and any word with the
    same English root (storage finds store, storing, stored). Every word must
    appear; a word joined by hyphens (CAR-T) must appear as written, its parts
    in order. "quoted words" match whole words in that order. -word (or
    -"words") leaves out records that contain it; the words go after -- then
    (options before it), as in: immunofacts search -- lupus -lymphoma. Case and
    accents do not matter.

    Hits are ranked by BM25: matches in a statement or title count most, then
    the quote, then entity names and case details, then review notes. When
    nothing matches, words of the dataset close to yours are suggested.

    Example: immunofacts search lupus lymphoma
    """
    from . import query as q
    from .cache import CachedIndex, answer
    from .output import pieces_written
    from .render.results import SearchHits

    parsed = q.parse_query(query)
    path, label = data_path(data)

    none = q.Misses([], [])

    def run(source: Any) -> tuple[SearchHits, q.Misses]:
        hits = q.search(source, parsed, **labels)
        return SearchHits(hits, [terms]), none if hits else q.misses(source, parsed)

    def warm(c: Cache) -> tuple[SearchHits, q.Misses]:
        if SearchHits.found_enough(format, ctx.meta.get(FIELDS)):
            from .render.shapes import hit_elements

            # only what is shown read of each claim, the labels filtered in SQL, each
            # hit's JSON made as it is scored (by two processes when there are many)
            index = CachedIndex(c, found=labels)
            made = q.encoded_hits(index, parsed, hit_elements)
            return SearchHits([], [terms], made), none if made else q.misses(index, parsed)
        return run(CachedIndex(c))

    terms = str(parsed)
    found, missed = answer(path, label, progress(), warm, run, pieces_written)
    show(ctx, found, format)
    if not found.hits and not found.elements:
        why = _why_nothing(missed, parsed, any(labels.values()))
        nothing(f"nothing matches {terms!r}{why}")


def _quoted(text: str) -> str:
    """A term of a search in double quotes, as a phrase is written (once)."""
    return text if text.startswith('"') else f'"{text}"'


def _why_nothing(missed: Any, parsed: Any, filtered: bool) -> str:
    """Why a search (`query.SearchQuery`) found nothing (`query.Misses`), said after its
    terms: the words that match no word of the dataset, and words close to them; or,
    when each word matches, what no record has: them all, with each phrase as written,
    without the words left out, with the labels asked for (each that the search has)."""
    if missed.words:
        quoted = ", ".join(repr(w) for w in missed.words)
        verb = "matches" if len(missed.words) == 1 else "match"
        why = f": {quoted} {verb} no word of the dataset"
    else:
        words = sum(len(t.words) for t in parsed.terms)
        why = f": each word is found, but no record has {'them all' if words > 1 else 'it'}"
        phrases = [t for t in parsed.terms if len(t.words) > 1]
        if phrases:
            shown = " and ".join(_quoted(t.text) for t in phrases)
            why += f" with {shown} as written (side by side, in that order)"
        if parsed.excluded:
            why += " without " + " or ".join(_quoted(t.text) for t in parsed.excluded)
        if filtered:
            why += " with the labels asked for"
    return why + (f"; did you mean: {', '.join(missed.near)}" if missed.near else "")


@app.command("timeline")
@table_options(fields="date,id,description")
def timeline(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="From this date on: YYYY, YYYY-MM or YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Up to this date: YYYY, YYYY-MM or YYYY-MM-DD.")
    ] = None,
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """Show every dated claim and case event in date order, grouped by year.

    Example: immunofacts timeline --since 2020-06 --until 2020-12
    """
    from . import query
    from .render.results import Timeline

    lo = query.parse_date_option(since, "--since") if since is not None else None
    hi = query.parse_date_option(until, "--until") if until is not None else None
    if lo is not None and hi is not None and query.date_bounds(lo)[0] > query.date_bounds(hi)[1]:
        raise UsageError(f"--since {lo} is after --until {hi}: no date is in that range")

    def shown(events: Iterable[query.TimelineEvent], json: Iterable[Any] | None = None) -> int:
        counted, pieces = Counted(events), Counted(json or ())
        show(ctx, Timeline(counted, None if json is None else pieces), format)
        return counted.n + pieces.n

    def warm(c: Cache) -> int:
        blocks = c.timeline(since=lo, until=hi)  # JSON writes whole blocks as they are
        return shown(blocks, blocks.json_items())

    n = ask(data, warm, lambda ds: shown(query.timeline(ds, since=lo, until=hi)))
    if not n:
        nothing("no dated events in that range" if lo or hi else "this dataset has no dated events")


@app.command("entities")
@table_options(fields="id,name,claims")
def entities(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="[NAME]",
            help="An entity's id, name or alias, or a unique prefix: show it and what names it.",
            autocompletion=_complete("entity"),
        ),
    ] = None,
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """List the people, organisations, products, publications and places named, or show one.

    Example: immunofacts entities "Lancet"
    """
    from . import query
    from .render.results import EntityDetail, EntityList

    if name is None:
        counts = ask(data, lambda c: c.entity_counts(), query.entity_counts)
        show(ctx, EntityList(counts), format)
        if not counts:
            nothing("this dataset has no entities")
        return

    def warm(c: Cache) -> tuple[Entity, list[query.Record]]:
        entity = query.find_entity(c.partial(), name)
        return entity, c.naming(entity.id)

    def cold(ds: Dataset) -> tuple[Entity, list[query.Record]]:
        entity = query.find_entity(ds, name)
        return entity, query.records_naming(ds, entity.id)

    entity, records = ask(data, warm, cold)
    show(ctx, EntityDetail(entity, records), format)


@app.command("source")
def source(
    ctx: typer.Context,
    claim: Annotated[
        str | None,
        typer.Option(
            "--claim",
            "-c",
            metavar="ID",
            help="Show only this claim's (or case's) words in their paragraph.",
            autocompletion=_complete("record"),
        ),
    ] = None,
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """Show the article, with every quoted passage marked and labelled with its claim.

    Example: immunofacts source --claim claim-wang-fusheng-lancet-pathology-report
    """
    from . import query
    from .render.results import QuotePassage, SourceText

    ds = load(data)
    if ds.source_text is None:
        raise ImmunofactsError("this dataset names no source text (source.text): nothing to show")
    if claim is None:
        show(ctx, SourceText(ds, query.quote_spans(ds)), format)
        return
    show(ctx, QuotePassage(query.passage(ds, query.find_record(ds, claim))), format)


@app.command("labels")
@table_options(fields="vocabulary,label,uses")
def labels(
    ctx: typer.Context,
    word: Annotated[
        str | None,
        typer.Argument(
            metavar="WORD",
            help="A label (misleading) or a vocabulary (rating, reason, verdict, evidence).",
            show_default=False,
        ),
    ] = None,
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """Say what every label means: kinds, evidence, verdicts, ratings and reason tags.

    Each label comes with its definition and how many records of the dataset use it:
    claims and cases together (show-stats counts claims alone).
    Given a word, show that label (in every vocabulary that has it), or every label of
    that vocabulary, with when a reviewer applies it.

    Example: immunofacts labels rating
    """
    from .query import labels as find_labels
    from .render.results import LabelList

    infos = find_labels(word)  # an unknown word is reported before the dataset is read
    infos = find_labels(word, load(data))
    show(ctx, LabelList(infos, rules=word is not None), format)


@app.command("validate")
@table_options(fields=None)
def validate(
    ctx: typer.Context,
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="[PATH]", help="Dataset to check (default: --data, or the article's)."
        ),
    ] = None,
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """Check a dataset against the schema and report every problem as file:line: where: what.

    Problems go to stderr, and the exit status is 1. With --format json, stdout
    also has {"ok": false, "problems": [{"file", "line", "where", "what"}], ...}
    (and "ok": true with the counts for a good file). A good file may still get
    warnings, on stderr and in "warnings" (exit status 0): a name or alias that
    two entities share, which --entity and entities then take for neither.

    Example: immunofacts validate my-dataset.yaml
    """
    from . import loading, query
    from .cache import validate_dataset
    from .render.results import Validation

    file, label = data_path(path if path is not None else data)
    try:
        ds = validate_dataset(file, label, status=progress())
    except DataError as e:
        show(ctx, Validation(label, None, [], e.problems), format)  # JSON carries the problems
        raise
    uncovered = query.uncovered_paragraphs(ds) if ds.source_text is not None else []
    shared = query.shared_names(ds)
    lines = loading.lines_of(file, [(w, name) for w, name, _ in shared]) if shared else []
    warnings = tuple(
        Problem(label, line, loading.where_of(w), what)
        for (w, _, what), line in zip(shared, lines, strict=True)
    )
    for w in warnings[:_WARNINGS_SHOWN]:
        note(f"warning: {w}")
    if len(warnings) > _WARNINGS_SHOWN:
        note(f"warning: {named(label)}: and {len(warnings) - _WARNINGS_SHOWN:,} more warnings")
    show(ctx, Validation(label, ds, uncovered, warnings=warnings), format)
    if _LEFT_AT_EXIT is not None:
        _LEFT_AT_EXIT.append(ds)


#: How many warnings `validate` writes to stderr (JSON has them all).
_WARNINGS_SHOWN = 20


@app.command("diff")
@table_options(fields=None)
def diff(
    ctx: typer.Context,
    old: Annotated[
        str | None,
        typer.Argument(
            metavar="OLD", help="The earlier dataset file (with --git: the file to compare)."
        ),
    ] = None,
    new: Annotated[
        str | None, typer.Argument(metavar="NEW", help="The later dataset file.")
    ] = None,
    git: Annotated[
        str | None,
        typer.Option(
            "--git",
            metavar="REV",
            help="Compare the file as it is with its version at this git revision "
            "(the file is OLD, else --data or the article's dataset).",
        ),
    ] = None,
    data: DataOpt = None,
    format: FormatOpt = None,
) -> None:
    """Show what changed between two versions of a dataset: claims, ratings, sources.

    Claims and cases added or removed, verdicts and ratings changed,
    corrections, references and later developments added or removed, quotes
    changed. Exit status: 0 when nothing changed, 1 when something did, 2 on
    an error (as diff does).

    Example: immunofacts diff old.yaml data/immunofacts.yaml
    """
    from .diff import diff_datasets
    from .loading import load_dataset
    from .render.results import Changes

    try:
        if git is not None:
            if new is not None:
                raise UsageError("with --git give one file (or none): it is compared with REV")
            path, label = data_path(old if old is not None else data)
            (before, unchecked), old_name = _at_revision(path, git), f"{git}:{label}"
            after, new_name = load_dataset(path, label=label), label
            if unchecked:
                import msgspec

                note(
                    f"{old_name}: source text {before.source.text!r}: {unchecked}; its quotes"
                    " are unchecked, and the text is not compared"
                )
                before = msgspec.structs.replace(before, source_text=after.source_text)
        else:
            if old is None or new is None:
                raise UsageError("give two dataset files, OLD and NEW, or --git REV")
            (old_path, old_name), (new_path, new_name) = data_path(old), data_path(new)
            before = load_dataset(old_path, label=old_name)
            after = load_dataset(new_path, label=new_name)
    except ImmunofactsError as e:
        fail(str(e), ExitStatus.USAGE)
    changes = diff_datasets(before, after, old_name=old_name, new_name=new_name)
    show(ctx, Changes(changes), format)
    if changes.changed:
        raise typer.Exit(ExitStatus.ERROR)


def _at_revision(path: Path, rev: str) -> tuple[Dataset, str]:
    """The dataset file as it was at a git revision, with its source text of then when
    git has it under the file's folder; else with its quotes unchecked, and why."""
    import posixpath
    import subprocess
    import tempfile

    from .loading import load_dataset, too_large
    from .paths import max_bytes

    real = path.resolve()  # a link's target: git knows the file under its own name
    folder, name = real.parent, real.name
    if not rev or rev.startswith("-") or any(c in rev for c in ":\0\n"):
        # git would read "--output=FILE" as an option (and write to FILE), and a ":" or
        # a line break would name something else than the file at a revision
        raise UsageError(f"--git: {rev!r} is not a git revision")

    def git(*args: str, out: Any = subprocess.PIPE) -> tuple[bool, str]:
        """Whether git did it, and what it said: its output, or its last error line."""
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args], stdout=out, stderr=subprocess.PIPE, check=False
            )
        except OSError as e:
            raise UsageError(f"cannot run git: {e.strerror or e}") from None
        if done.returncode == 0:
            return True, (done.stdout or b"").decode("utf-8", "replace").strip()
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        # its error, not a hint after it ("git config --global --add safe.directory")
        why = [w for w in said if w.startswith(("fatal:", "error:"))] or said
        if why and "not a git repository" in why[-1]:
            raise UsageError(
                f"--git: {path} is not in a git repository"
                " (to compare two files: immunofacts diff OLD NEW)"
            )
        if not why:
            return False, "git failed"
        return False, why[-1].removeprefix("fatal: ").removeprefix("error: ")

    def fetch(rel: str, to: Path, limit: int) -> str | int:
        """Write the file `rel` (relative to the folder) as it was at the revision to
        `to`, asking git for its type and size before reading it; or say why not ("" when
        written, its size when that is over `limit`)."""
        # its entry in its folder's listing, for its mode: a link is a blob too
        parent, base = posixpath.split(rel)
        ok, listing = git("ls-tree", "-z", "--full-tree", "--end-of-options", f"{rev}:./{parent}")
        if not ok:
            return listing
        entry = next((e for e in listing.split("\0") if e.partition("\t")[2] == base), "")
        if not entry:
            return "no such file at that revision"
        mode, kind, oid = entry.partition("\t")[0].split(" ")
        if kind != "blob" or mode == "120000":
            return f"not a file (git has a {'symbolic link' if kind == 'blob' else kind} there)"
        ok, size = git("cat-file", "-s", oid)
        if not ok:
            return size
        if int(size) > limit:
            return int(size)
        with open(to, "xb") as f:  # straight from git to the file, not through memory
            ok, why = git("cat-file", "blob", oid, out=f)
        return "" if ok else why

    limit = max_bytes()
    label = f"{rev}:{name}"
    with tempfile.TemporaryDirectory(prefix="immunofacts-diff-") as tmp:
        old = Path(tmp) / name
        why = fetch(name, old, limit)
        if isinstance(why, int):
            raise too_large(label, why)
        if why:
            raise UsageError(f"--git: {label}: {why}")

        unchecked: list[str] = []  # why the text of then is not at hand

        def text_then(rel: str) -> bool:
            """Put the source text of then in place, if git has it under the file's folder;
            else its quotes go unchecked (an absolute path, a path leading out of the folder,
            a text not a file in git then, or over the size cap)."""
            unchecked.clear()
            norm = posixpath.normpath(rel)
            if os.path.isabs(rel) or norm in (".", "..") or norm.startswith("../"):
                unchecked.append("it is not under the file's folder")
                return False
            why: str | int = ""
            try:
                # the folders the path passes through, as the loader will walk it
                at = Path(tmp)
                for part in rel.split("/")[:-1]:
                    at = at.parent if part == ".." else at / part
                    at.mkdir(exist_ok=True)
                if norm == name:
                    return True  # the dataset is its own text, as it was then
                if not (Path(tmp) / norm).is_file():
                    why = fetch(norm, Path(tmp) / norm, limit)
            except (OSError, ValueError) as e:  # ValueError: a NUL in the path
                why = f"cannot put it in place: {getattr(e, 'strerror', None) or e}"
            if isinstance(why, int):
                why = f"it is {why:,} bytes, over the limit of {limit:,} bytes"
            if why:
                unchecked.append(why)
            return not why

        return load_dataset(old, label=label, texts=text_then), "".join(unchecked)


@app.command("schema")
def schema(
    what: Annotated[
        str,
        typer.Argument(
            metavar="dataset|output", help="The dataset file's schema, or a command's output."
        ),
    ],
    command: Annotated[
        str | None,
        typer.Argument(
            metavar="[COMMAND]",
            help="With output: the command (list-claims, show-case, entities-name, ...).",
        ),
    ] = None,
) -> None:
    """Print a JSON Schema: of the dataset file, or of a command's JSON output.

    Generated from the structs that define them; the same files are in
    docs/schema/.

    Example: immunofacts schema output list-claims
    """
    from .render.formats import to_json
    from .schemas import dataset_schema, output_schema, slug

    if what == "dataset" and command is None:
        emit(to_json(dataset_schema()))
    elif what == "output" and command is not None:
        emit(to_json(output_schema(command)))
    elif what == "output":
        from .render.results import OUTPUTS

        raise UsageError(
            "name the command: immunofacts schema output COMMAND, one of "
            + ", ".join(slug(k) for k in OUTPUTS)
        )
    else:
        raise UsageError(f"expected `schema dataset` or `schema output COMMAND`, not {what!r}")


#: Where export's --claim and filters apply: the formats that write chosen claims.
_CHOOSING_SCOPE = "claimreview and citations: "


@app.command("export")
@functools.partial(label_filters, scope=_CHOOSING_SCOPE)
def export(
    ctx: typer.Context,
    labels: dict[str, Wanted],
    format: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            metavar="FORMAT",
            help="What to write: " + ", ".join(f.value for f in ExportFormat) + ".",
            show_choices=False,
        ),
    ] = ExportFormat.JSON,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Write here instead of stdout (sqlite: required; csv: a directory, one file "
            "per table).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite what is there (never the dataset read, nor its source text).",
        ),
    ] = False,
    claim: Annotated[
        list[str] | None,
        typer.Option(
            "--claim",
            metavar="ID",
            help=f"{_CHOOSING_SCOPE}only this claim (id or unique prefix). Repeat for several.",
            autocompletion=_complete("claim"),
        ),
    ] = None,
    entity: Annotated[list[str] | None, _entity_option(_CHOOSING_SCOPE)] = None,
    year: Annotated[list[int] | None, _year_option(_CHOOSING_SCOPE)] = None,
    author: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="claimreview: who publishes the reviews (required).",
            callback=_text_arg,
        ),
    ] = None,
    author_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="claimreview: the publisher's web address.", callback=_text_arg
        ),
    ] = None,
    url_template: Annotated[
        str | None,
        typer.Option(
            metavar="TEMPLATE",
            help="claimreview: each review's web page, {id} standing for the claim id, e.g. "
            "https://example.org/{id} (required).",
            callback=_text_arg,
        ),
    ] = None,
    allow_non_web_url: Annotated[
        bool,
        typer.Option(
            "--allow-non-web-url",
            help="claimreview: accept a url that is not http(s), for a file not to be published.",
        ),
    ] = False,
    date: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD",
            help="claimreview: the review date (default: today).",
            show_default=False,
        ),
    ] = None,
    data: DataOpt = None,
) -> None:
    """Export the dataset (JSON, YAML, CSV, SQLite), its reviews, or its references.

    The dataset as JSON or YAML in its own schema, as tidy CSV tables, or as an
    SQLite database for Datasette; its reviews as schema.org ClaimReview; its
    references as CSL-JSON, BibTeX or RIS.

    Example: immunofacts export --format claimreview --author "Fact Desk" --url-template 'https://example.org/reviews/{id}'
    """
    from .paths import text_dir
    from .query import find_claim
    from .render.export import (
        COPIES,
        STREAMED,
        Target,
        check_selection,
        export_text,
        publisher_for,
        relocated,
    )
    from .render.export import target as target_of

    choosing = bool(claim or entity or year or any(labels.values()))
    check_selection(format, choosing)
    publisher = publisher_for(
        format,
        author=author,
        url_template=url_template,
        date=date,
        author_url=author_url,
        allow_non_web_url=allow_non_web_url,
    )
    target = target_of(format, output)
    if output is not None:
        from .output import keep_only

        keep_only(data_path(data)[0])  # and its source text, once known (`_keep_text`)
        ctx.call_on_close(keep_only)  # for this command only
    if output is not None and target is not Target.FOLDER:
        from .output import check_target

        try:
            with _no_clobber(output):
                check_target(output, overwrite=force)
        except OutputError as e:
            raise UsageError(str(e)) from None
    if format in STREAMED and target is not Target.FOLDER:
        env = env_of(ctx)
        _export_streamed(format, data, output, force, raw=env.csv_raw, terminal=env.is_terminal)
        return
    ds = load(data)
    if output is not None:
        _keep_text(data_path(data)[0], ds.source, output)
    if target is Target.DATABASE:
        assert output is not None
        from .export.sqlite import write_sqlite

        write_sqlite(ds, output, overwrite=force)
        note(f"wrote {named(output)}; browse it with: datasette {named(output)}")
        return
    if target is Target.FOLDER:
        assert output is not None
        _write_tables(ds, Path(output), force, raw=env_of(ctx).csv_raw)
        return
    if output is not None:
        # Keep the exported dataset pointing at the same source text from where it is written.
        path, _ = data_path(data)
        ds = relocated(ds, text_dir(path), text_dir(Path(output)))
    chosen = None
    if choosing:
        from .query import filter_claims

        wanted = {find_claim(ds, key).id for key in claim} if claim else None
        chosen = [
            c
            for c in filter_claims(ds, entity=entity, year=year, **labels)
            if wanted is None or c.id in wanted
        ]
    raw = env_of(ctx).csv_raw
    terminal = output is None and env_of(ctx).is_terminal
    exported = export_text(
        ds, format, claims=chosen, publisher=publisher, raw=raw, terminal=terminal
    )
    for warning in exported.warnings:
        note(f"warning: {warning}")
    if output is None:
        emit(exported.text)
    else:
        from .output import write_atomic

        with _no_clobber(output):
            write_atomic(output, exported.text, overwrite=force)
        note(f"wrote {named(output)}")
        if format in COPIES:
            _say_where_the_text_is(ds.source, Path(output))
    if chosen == []:  # written all the same (an empty list is still the format's)
        nothing("no claims match those filters")


def _export_streamed(
    fmt: ExportFormat,
    data: str | None,
    output: str | None,
    force: bool,
    *,
    raw: bool,
    terminal: bool = False,
) -> None:
    """The dataset (or its claims table), written a few records at a time as they are read."""
    from .model import Case
    from .paths import text_dir
    from .render.export import COPIES, cached_claims, relocated_source, streamed

    path, label = data_path(data)

    def write(
        source: Source,
        entities: Any,
        claims: Iterable[Claim],
        cases: Iterable[Case],
        schema: int,
        claims_json: Iterable[bytes] | None = None,
    ) -> None:
        if output is None:
            emit(
                streamed(
                    fmt,
                    schema,
                    source,
                    entities,
                    claims,
                    cases,
                    raw=raw,
                    terminal=terminal,
                    claims_json=claims_json,
                )
            )
            return
        from .output import write_atomic

        _keep_text(path, source, output)
        # Keep the exported dataset pointing at the same source text from where it is written.
        source = relocated_source(source, text_dir(path), text_dir(Path(output)))
        pieces = streamed(
            fmt, schema, source, entities, claims, cases, raw=raw, claims_json=claims_json
        )
        text = (p if isinstance(p, str) else p.decode() for p in pieces)
        with _no_clobber(output):
            write_atomic(output, text, overwrite=force)
        note(f"wrote {named(output)}")
        if fmt in COPIES:
            _say_where_the_text_is(source, Path(output))

    def warm(c: Cache) -> None:
        head = c.head()
        claims, claims_json = cached_claims(fmt, c)
        cases = c.every_case()
        write(head.source, head.entities, claims, cases, head.schema, claims_json)  # type: ignore[arg-type]

    def cold(ds: Dataset) -> None:
        write(ds.source, ds.entities, ds.claims, ds.cases, ds.schema)

    from .cache import answer
    from .output import pieces_written

    answer(path, label, progress(), warm, cold, pieces_written)


def _say_where_the_text_is(source: Source, copy: Path) -> None:
    """Warn when the source text of a dataset written to `copy` lies outside the copy's
    folder, where loading the copy will not read it unless the user allows it."""
    from .paths import TEXT_DIRS_ENV, dir_to_allow, text_dir, text_place

    if source.text is None:
        return
    with contextlib.suppress(OSError, ValueError):
        folder = text_dir(copy)
        if text_place(source.text, folder)[2] == "outside":
            where = dir_to_allow(source.text, folder)
            note(
                f"warning: its source text is outside its folder; to load it, add"
                f" {named(where)} to {TEXT_DIRS_ENV}, or put the text beside it"
            )


def _keep_text(path: Path, source: Source, output: str | None = None) -> None:
    """Never write over the source text of the dataset at `path` (see `output.keep`); and
    if that is `output`, say so now, before any work or warning."""
    from .output import check_target, keep
    from .paths import text_place

    if source.text is not None:
        keep(text_place(source.text, path.parent)[0])
        if output is not None and not os.path.isdir(output):
            try:
                check_target(output, overwrite=True)
            except OutputError as e:
                raise UsageError(str(e)) from None


@contextlib.contextmanager
def _no_clobber(path: str | Path) -> Iterator[None]:
    """Turn "the file exists" from the writer into a usage error that names --force."""
    from .output import OutputExistsError

    try:
        yield
    except OutputExistsError:
        raise UsageError(f"{named(path)} exists; use --force to overwrite it") from None


def _write_tables(ds: Dataset, folder: Path, force: bool, *, raw: bool = False) -> None:
    """Every tidy table as a CSV file in `folder` (made if missing)."""
    from .output import write_atomic
    from .render.export import csv_files

    if folder.exists() and not folder.is_dir():
        raise UsageError(
            f"{named(folder)}: not a directory; --format csv --output names a directory"
        )
    files = csv_files(ds, raw=raw)
    if not force:
        there = [name for name in files if (folder / name).exists()]
        if there:
            raise UsageError(f"{named(folder)} has {', '.join(there)}; use --force to overwrite")
    from .output import check_target

    for name in files:  # each table refused now, if it would be, before any is written
        try:
            check_target(folder / name, overwrite=True)
        except OutputError as e:
            raise UsageError(str(e)) from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(
            f"{named(folder)}: cannot make the directory: {e.strerror or e}"
        ) from None
    for name, text in files.items():
        with _no_clobber(folder / name):
            write_atomic(folder / name, text, overwrite=force)
    note(f"wrote {len(files)} tables to {named(folder)}")


@app.command("browse")
def browse(data: DataOpt = None) -> None:
    """Browse the dataset full-screen: search, filter, read a claim, see it in the article.

    Keys: / search, r k v n d filter, s source, e export, ? help, q quit.

    Example: immunofacts browse
    """
    from .tui import browse as run_browser
    from .tui import check_terminal

    check_terminal()
    path, _ = data_path(data)
    status = run_browser(load(data), path)
    if status:
        raise typer.Exit(status)


#: Set by `main`, that is, only in a process of the command's own (not under a test's
#: runner): a dataset parsed whole goes here once its answer is written, and the process
#: then leaves without freeing it object by object (a tenth of a second or more per
#: 100k claims), as the operating system takes the memory back at once.
_LEFT_AT_EXIT: list[object] | None = None


def _leave_now(status: object) -> None:
    """Exit at once with `status` when something was kept for the exit and every output
    stream takes its last flush; else return, and the process exits as usual."""
    if not _LEFT_AT_EXIT or not (status is None or isinstance(status, int)):
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            return  # the usual exit reports it
    os._exit(status or 0)


def main(held: Sequence[int] = ()) -> None:
    """Entry point of the `immunofacts` command. `held`: the stop signals that arrived
    before it ran (see `immunofacts.__main__`): the first stops it as if it arrived now."""
    global _LEFT_AT_EXIT
    from .output import Interrupted, handle_signals, prepare_stderr, reserve_standard_fds

    try:
        reserve_standard_fds()
        prepare_stderr()
        handle_signals()
        if held:
            raise Interrupted(held[0])
        _LEFT_AT_EXIT = []
        app()
    except SystemExit as e:
        _leave_now(e.code)
        raise
    except (Interrupted, KeyboardInterrupt) as e:  # before the command line runs
        sys.exit(_handle(e))
