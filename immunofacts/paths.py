"""Where things are, and what the environment lets be read: imported by loading and by
the cache, and cheap to import.

What the environment says (the size cap, the read timeout, the directories a source
text may be read from) is read here, once for both paths a command may take: parsing
the file, and answering from a cache built when the environment may have said otherwise
(the cache checks it as a parse would, and is stale where a parse would refuse).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from .errors import DataError, Problem

#: The largest dataset file read, in bytes, unless IMMUNOFACTS_MAX_BYTES says otherwise.
#: Loading takes about 12 to 13 times the file's size in memory, so this keeps a load of
#: the default cap under about 500 MiB: a larger file, hostile or not, costs no memory
#: until the user raises the cap for it.
MAX_BYTES = 32 * 1024 * 1024
#: Seconds a read may go without data before it is given up, unless
#: IMMUNOFACTS_READ_TIMEOUT says otherwise: a file on a stalled network mount
#: can block a read forever.
READ_TIMEOUT_S = 30.0
#: Directories, besides the dataset's own, that a source text may be read from.
TEXT_DIRS_ENV = "IMMUNOFACTS_TEXT_DIRS"
#: The control characters a dataset (and the path of a source text) may not hold.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def bundled_data_path() -> Path:
    """The dataset shipped with the package, or the checkout's ``data/`` file."""
    here = Path(__file__).resolve().parent
    installed = here / "_data" / "immunofacts.yaml"
    if installed.is_file():
        return installed
    return here.parent / "data" / "immunofacts.yaml"


def max_bytes() -> int:
    """The size cap in force: IMMUNOFACTS_MAX_BYTES (a whole number of bytes) when set,
    else MAX_BYTES. It may raise the cap, to load a large corpus, or lower it."""
    raw = os.environ.get("IMMUNOFACTS_MAX_BYTES", "").strip()
    if not raw:
        return MAX_BYTES
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 15:
        raise DataError(
            [
                Problem(
                    "IMMUNOFACTS_MAX_BYTES",
                    None,
                    "",
                    f"expected a whole number of bytes such as 500000000, got {raw[:40]!r}",
                )
            ]
        )
    return int(raw)


def read_timeout() -> float:
    """The read timeout in force, in seconds (IMMUNOFACTS_READ_TIMEOUT when set)."""
    raw = os.environ.get("IMMUNOFACTS_READ_TIMEOUT", "").strip()
    if not raw:
        return READ_TIMEOUT_S
    try:
        value = float(raw) if raw.isascii() and len(raw) <= 15 else math.nan
    except ValueError:
        value = math.nan
    if not 0 < value <= 1e6:  # also refuses nan
        raise DataError(
            [
                Problem(
                    "IMMUNOFACTS_READ_TIMEOUT",
                    None,
                    "",
                    f"expected a number of seconds such as 30, got {raw[:40]!r}",
                )
            ]
        )
    return value


def text_dir(dataset: Path) -> Path:
    """The directory a dataset's source text is found from (see `text_place`): the
    dataset's own directory as the system finds it, links and ``..`` followed. For a
    dataset that is a link, that is where the link is, not its target's directory.
    OSError where a relative path cannot be resolved (the working directory is gone)."""
    return Path(os.path.realpath(dataset.parent))


def as_found(path: Path) -> str:
    """The file `path` names, as the system finds it: its directory as `text_dir` has it
    (``link/../x.yaml`` is the ``x.yaml`` beside the link's target, not the one that
    cutting ``link/..`` out of the text, as `os.path.abspath` does, would name), and its
    own name as given (a link there is the file's name, followed when it is opened)."""
    return os.path.join(text_dir(path), path.name)


def text_place(rel: str, base_dir: Path | None) -> tuple[Path | None, bool, str]:
    """Where a dataset's source text named `rel` is read from, whether it lies under the
    dataset's own directory `base_dir` (the working directory if None), and why it may not
    be read: "" (it may), "control" (its name is empty or holds a control character),
    "outside" (it is neither under that directory nor under one named in
    IMMUNOFACTS_TEXT_DIRS), or what resolving it raised."""
    if not rel.strip() or CONTROL.search(rel) or "\x00" in rel:
        return None, False, "control"
    base = os.path.realpath(base_dir if base_dir is not None else Path.cwd())
    path = Path(rel) if os.path.isabs(rel) else Path(base) / rel
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError) as e:
        return None, False, f"cannot resolve: {e}"
    inside = _under(real, base)
    extra = [os.path.realpath(d) for d in os.environ.get(TEXT_DIRS_ENV, "").split(os.pathsep) if d]
    if not inside and not any(_under(real, d) for d in extra):
        return None, False, "outside"
    return path, inside, ""


def dir_to_allow(rel: str, base_dir: Path | None) -> str:
    """The directory that IMMUNOFACTS_TEXT_DIRS would have to name for a dataset in
    `base_dir` to read its source text `rel` (the text's own, links followed)."""
    return os.path.dirname(os.path.realpath(Path(base_dir or ".") / rel))


def _under(path: str, directory: str) -> bool:
    try:
        return os.path.commonpath([path, directory]) == directory
    except ValueError:
        return False
