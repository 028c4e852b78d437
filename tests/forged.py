"""Forging a cache: its change counter made to agree after an edit made through SQLite.

An edit of a cache through SQLite moves the change counter in its file's header, and
the cache is then stale (see `cache._counter`). Only a forger who also records the
counter the edit leaves gets past that: the tests of the checks behind it (checksums,
the shapes of rows and blocks) forge the caches they damage.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from immunofacts import cache


def agree(cpath: Path) -> None:
    """Record in the cache at `cpath` the change counter its next write leaves, in that write."""
    before = cache._counter(cpath)
    assert before is not None
    db = sqlite3.connect(cpath)
    try:
        db.execute("UPDATE meta SET value = ? WHERE key = 'counter'", (str(before + 1),))
        db.commit()
    finally:
        db.close()
    assert cache._counter(cpath) == before + 1
