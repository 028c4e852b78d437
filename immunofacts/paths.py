"""Where the shipped dataset is: imported by loading and by the cache, and cheap to import."""

from __future__ import annotations

from pathlib import Path


def bundled_data_path() -> Path:
    """The dataset shipped with the package, or the checkout's ``data/`` file."""
    here = Path(__file__).resolve().parent
    installed = here / "_data" / "immunofacts.yaml"
    if installed.is_file():
        return installed
    return here.parent / "data" / "immunofacts.yaml"
