"""Regenerate every generated part of the docs: ``python docs/generate.py``.

Two kinds of block are kept current, cog-style, in README.md and docs/*.md:

* ``<!-- run: immunofacts ARGS -->`` followed by a fenced block: the block is the
  command's real output (100 columns, colour off, terminal layout on, run from
  the checkout). ``(first N lines)`` after the command keeps the first N lines: not
  ``| head -N``, which a reader would copy, and whose pipe makes the output plain.
* ``<!-- generated: NAME -->`` ... ``<!-- end: NAME -->``: the text that the
  function ``GENERATORS[NAME]`` returns, made from the code itself:
  ``schema`` from the msgspec structs in immunofacts/model.py (each field's
  ``#:`` comment is its description), ``cli`` and ``commands`` from the Typer
  app, ``labels`` from the label definitions in immunofacts/model.py.

``python docs/generate.py --check`` rewrites nothing; it names each stale file
and exits 1 (tests/test_docs.py runs the same check). To generate something
new, add a function to GENERATORS and put its markers in a page.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import shlex
import sys
import tempfile
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import typer.main
from msgspec import inspect as mi
from typer.testing import CliRunner

from immunofacts import model
from immunofacts.cli import app

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "python docs/generate.py"

RUN_BLOCK = re.compile(r"(<!-- run: (.+?) -->\n```[a-z]*\n)(.*?)(```\n)", re.DOTALL)
GENERATED = re.compile(r"(<!-- generated: ([a-z-]+) -->\n)(.*?)(<!-- end: \2 -->)", re.DOTALL)

#: How a command of the tour runs: a wide terminal with colour off, so the text is plain.
RUN_ENV: dict[str, str | None] = {
    "COLUMNS": "100",
    "LINES": "10000",
    "NO_COLOR": "1",
    "FORCE_COLOR": "1",
    "TERM": "xterm-256color",
    "IMMUNOFACTS_DATA": None,
    "IMMUNOFACTS_PAGER": None,
    "PAGER": None,
}


def pages() -> list[Path]:
    """Every page that may hold generated blocks."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


# --- run blocks ---------------------------------------------------------------------------


def run(command: str) -> str:
    """The output of a documented command line, as the page shows it."""
    head = None
    cut = re.fullmatch(r"(.*?)\s*\(first (\d+) lines\)", command)
    if cut:
        command, head = cut.group(1), int(cut.group(2))
    if "|" in command:
        raise ValueError(f"a run block shows a terminal's output, never a pipe's: {command!r}")
    args = shlex.split(command)
    if args[0] != "immunofacts":
        raise ValueError(f"a run block must start with `immunofacts`: {command!r}")
    cwd = Path.cwd()
    os.chdir(ROOT)  # the tour runs from the checkout, as a reader who just installed it would
    try:
        result = CliRunner().invoke(app, args[1:], env=RUN_ENV)
    finally:
        os.chdir(cwd)
    if result.exit_code != 0:
        raise RuntimeError(f"{command!r} exited {result.exit_code}: {result.stderr}")
    out = result.stdout
    if head is not None:
        out = "".join(out.splitlines(keepends=True)[:head])
    # Trailing spaces are invisible in a page and editors strip them.
    return "\n".join(line.rstrip() for line in out.split("\n"))


# --- the dataset schema -------------------------------------------------------------------

#: Fields of the structs that are not in the file (the loader fills them).
NOT_IN_FILE = {("Dataset", "source_text")}


def _pattern(alias: Any) -> str:
    meta = typing.get_args(alias)[1]
    assert isinstance(meta, msgspec.Meta) and meta.pattern
    return meta.pattern


#: Names for the constrained strings of the model, by their pattern.
NAMED_STRINGS = {
    _pattern(model.Id): "id",
    _pattern(model.Date): "date",
    _pattern(model.Doi): "DOI",
    _pattern(model.Pmid): "PMID",
    _pattern(model.Nct): "NCT id",
    _pattern(model.Url): "URL",
}


def field_docs(cls: type) -> dict[str, str]:
    """The ``#:`` comment above each field of a struct, by field name."""
    source = Path(inspect.getfile(cls)).read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    node_of = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    docs: dict[str, str] = {}
    for node in node_of[cls.__name__].body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            comment: list[str] = []
            i = node.lineno - 2
            while i >= 0 and lines[i].strip().startswith("#:"):
                comment.insert(0, lines[i].strip().removeprefix("#:").strip())
                i -= 1
            docs[node.target.id] = " ".join(comment)
    return docs


def type_name(t: mi.Type, structs: list[type]) -> str:
    """A reader's name for a field's type, with links to structs and label lists."""
    if isinstance(t, mi.UnionType):
        parts = [type_name(x, structs) for x in t.types if not isinstance(x, mi.NoneType)]
        return " or ".join(parts)
    if isinstance(t, mi.StrType):
        if t.pattern in NAMED_STRINGS:
            return NAMED_STRINGS[t.pattern]
        if t.pattern:
            return f"text matching `{t.pattern}`"
        return "text (not empty)" if t.min_length else "text"
    if isinstance(t, mi.IntType):
        return "integer"
    if isinstance(t, mi.FloatType):
        return "number"
    if isinstance(t, mi.EnumType):
        vocab = next(name for name, cls in model.VOCABULARIES.items() if cls is t.cls)
        return f"[{vocab}](labels.md#{vocab.replace(' ', '-')}) label"
    if isinstance(t, (mi.VarTupleType, mi.ListType)):
        item = type_name(t.item_type, structs)
        return f"list of {item}s" if item.endswith(" label") else f"list of {item}"
    if isinstance(t, mi.StructType):
        if t.cls not in structs:
            structs.append(t.cls)
        return f"[{t.cls.__name__}](#{t.cls.__name__.lower()})"
    raise TypeError(f"no name for the type {t!r}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def schema() -> str:
    """The dataset schema, one table per struct, in the order a file nests them."""
    structs: list[type] = [model.Dataset]
    out = [f"This version reads `schema: {model.SCHEMA_VERSION}`.", ""]
    for cls in structs:  # grows as fields name more structs
        info = mi.type_info(cls)
        assert isinstance(info, mi.StructType)
        docs = field_docs(cls)
        summary = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")
        title = "Dataset (the top level of the file)" if cls is model.Dataset else cls.__name__
        out += [f"### {title}", "", summary, ""]
        out += ["| field | type | required | description |", "|---|---|---|---|"]
        for f in info.fields:
            if (cls.__name__, f.name) in NOT_IN_FILE:
                continue
            doc = docs.get(f.name, "")
            if not doc:
                raise ValueError(f"{cls.__name__}.{f.name} has no `#:` comment in model.py")
            required = "yes" if f.required else ""
            default = f.default
            if not f.required and default not in (None, (), msgspec.NODEFAULT):
                doc += f" Default: `{default}`."
            kind = type_name(f.type, structs)
            out.append(f"| `{f.encode_name}` | {_cell(kind)} | {required} | {_cell(doc)} |")
        out.append("")
    return "\n".join(out)


# --- the command line ---------------------------------------------------------------------


# Typer bundles its own copy of click, so the command objects are read by duck typing.


def _commands(group: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        yield f"{prefix} {name}", command
        if hasattr(command, "list_commands"):
            yield from _commands(command, f"{prefix} {name}")


def _value(param: Any) -> str:
    if getattr(param, "is_flag", False):
        return "flag"
    choices = getattr(param.type, "choices", None)
    if choices:
        return " \\| ".join(f"`{c}`" for c in choices)
    name = str(param.type.name).lower()
    return {"str": "text", "int": "integer", "float": "number"}.get(name, name)


def _param_rows(params: list[Any]) -> list[str]:
    rows = []
    for p in params:
        if getattr(p, "hidden", False):
            continue
        if p.param_type_name == "argument":
            names = f"`{(p.name or '').upper()}`"
        else:
            names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
        notes = []
        if p.multiple:
            notes.append("repeatable")
        if getattr(p, "envvar", None):
            notes.append(f"env `{p.envvar}`")
        if p.required:
            notes.append("required")
        if p.default not in (None, False, (), []) and not callable(p.default):
            notes.append(f"default `{p.default}`")
        help_text = " ".join((getattr(p, "help", None) or "").split())
        if notes:
            help_text += f" ({'; '.join(notes)})"
        rows.append(f"| {names} | {_value(p)} | {_cell(help_text)} |")
    return rows


def cli() -> str:
    """Every command with its usage, help, arguments and options."""
    root = typer.main.get_command(app)
    out = ["### Options of `immunofacts` itself", ""]
    out += ["| option | value | meaning |", "|---|---|---|", *_param_rows(root.params), ""]
    for name, command in _commands(root, "immunofacts"):
        ctx = typer.Context(command, info_name=name)
        usage = " ".join(command.collect_usage_pieces(ctx))
        text, _, example = (command.help or "").partition("Example:")
        out += [f"### `{name}`", "", inspect.cleandoc(text).strip(), ""]
        out += ["```sh", f"{name} {usage}".strip(), "```", ""]
        if example.strip():
            out += ["Example:", "", "```sh", inspect.cleandoc(example).strip(), "```", ""]
        rows = _param_rows(command.params)
        if rows:
            out += ["| argument or option | value | meaning |", "|---|---|---|", *rows, ""]
    return "\n".join(out)


def commands() -> str:
    """One line per command: its name and the first line of its help, linked to cli.md."""
    root = typer.main.get_command(app)
    out = ["| command | what it does |", "|---|---|"]
    for name, command in _commands(root, "immunofacts"):
        summary = (command.help or "").strip().split("\n\n")[0].replace("\n", " ")
        anchor = re.sub(r"[^a-z0-9 -]", "", name.lower()).replace(" ", "-")
        out.append(f"| [`{name}`](docs/cli.md#{anchor}) | {_cell(summary)} |")
    return "\n".join(out) + "\n"


# --- labels -------------------------------------------------------------------------------


def labels() -> str:
    """Every label of every vocabulary with its definition (ratings with their score),
    and for verdicts and ratings when a reviewer applies each (`model.RULES`)."""
    out = []
    for vocab, cls in model.VOCABULARIES.items():
        out += [f"### {vocab}", "", (inspect.getdoc(cls) or "").split("\n\n")[0], ""]
        scored = cls is model.Rating
        rules = model.RULES.get(vocab)
        head = ["label", *(["score"] if scored else []), "definition"]
        head += ["when it applies"] if rules else []
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for label in cls:
            row = [f"`{label.value}`"]
            if scored:
                score = model.Rating(label).score
                row.append("off the scale" if score is None else f"{score} of {model.BEST_RATING}")
            row.append(_cell(model.definition(label)))
            if rules:
                row.append(_cell(rules[label.value]))
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)


GENERATORS: dict[str, Callable[[], str]] = {
    "schema": schema,
    "cli": cli,
    "commands": commands,
    "labels": labels,
}


# --- pages --------------------------------------------------------------------------------


def regenerate(text: str) -> str:
    """A page with every run block and generated block brought up to date."""
    made: dict[str, str] = {}

    def generated(m: re.Match[str]) -> str:
        name = m.group(2)
        if name not in GENERATORS:
            raise KeyError(f"no generator named {name!r}; see GENERATORS in docs/generate.py")
        if name not in made:
            made[name] = GENERATORS[name]().rstrip("\n") + "\n"
        return m.group(1) + made[name] + m.group(4)

    text = RUN_BLOCK.sub(lambda m: m.group(1) + run(m.group(2)) + m.group(4), text)
    return GENERATED.sub(generated, text)


def stale() -> list[Path]:
    """Pages whose generated blocks differ from what the code makes now."""
    return [p for p in pages() if regenerate(p.read_text("utf-8")) != p.read_text("utf-8")]


def main(argv: list[str]) -> int:
    """Rewrite the stale pages (or, with --check, only name them)."""
    check = "--check" in argv
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache  # never read or write the user's own cache
        changed = stale()
        if not check:
            for page in changed:
                page.write_text(regenerate(page.read_text("utf-8")), encoding="utf-8")
    for page in changed:
        verb = "stale" if check else "rewrote"
        print(f"{verb}: {page.relative_to(ROOT)}", file=sys.stderr)
    if check and changed:
        print(f"run: {REGENERATE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
