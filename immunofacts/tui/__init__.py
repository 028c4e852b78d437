"""The full-screen browser (Textual). Only `immunofacts browse` imports this package."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import ImmunofactsError
from ..model import Dataset


def check_terminal() -> None:
    """Refuse, with what to do instead, where a full-screen app cannot run."""
    term = os.environ.get("TERM", "")
    if term.lower() in ("dumb", "unknown"):
        raise ImmunofactsError(
            f"browse needs a full-screen terminal, and TERM={term} is not one; "
            "use list-claims, show-claim and search instead"
        )
    # either is None where the caller closed it (`<&-`): Python then has no stream there
    if not all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout)):
        raise ImmunofactsError(
            "browse needs a terminal on stdin and stdout; "
            "for pipes use list-claims, show-claim and search"
        )


def browse(ds: Dataset, data_path: Path | None = None) -> int:
    """Run the browser on a dataset until the reader quits; the exit status."""
    from .app import Browser

    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower()
    app = Browser(ds, data_path=data_path, ascii_only=not encoding.startswith("utf"))
    app.run()
    return app.return_code or 0
