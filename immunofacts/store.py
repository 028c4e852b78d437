"""Datasets as the commands get them: loaded once, then served from a cache."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import OutputError
from .loading import load_dataset
from .model import Dataset


def open_dataset(path: Path, label: str | None = None) -> Dataset:
    """The dataset at `path`, validated."""
    return load_dataset(path, label=label)


def search_dataset(path: Path, terms: Sequence[str], label: str | None = None) -> Dataset:
    """A dataset holding at least every record that could match all `terms`."""
    return open_dataset(path, label)


def validate_dataset(path: Path, label: str | None = None) -> Dataset:
    """Parse and validate the file itself, whatever the cache holds."""
    return load_dataset(path, label=label)


def write_atomic(path: Path, text: str, *, overwrite: bool) -> None:
    """Write `text` to `path` through a temporary file and a rename.

    Readers see the old file or the new one, never a half-written one; an
    interrupted write leaves no temporary file behind. Without `overwrite`, an
    existing file is an error.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if path appeared meanwhile: never clobber
            except FileExistsError:
                raise OutputError(f"{path} exists; use --force to overwrite it") from None
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
