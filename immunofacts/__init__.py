"""immunofacts: browse the claims of an article on immune cell therapy, each tied to its words."""

from __future__ import annotations

# Not `typing`: `python -m immunofacts` runs this before the command holds Ctrl-C
# (see `__main__`), and typing takes longer to import than the rest of Python's start.
TYPE_CHECKING = False

__version__ = "0.1.0"

__all__ = ["Dataset", "DataError", "ImmunofactsError", "__version__", "load_dataset"]

if TYPE_CHECKING:
    from typing import Any

    from .errors import DataError, ImmunofactsError
    from .loading import load_dataset
    from .model import Dataset


def __getattr__(name: str) -> Any:
    """Import the public API lazily, so that `immunofacts --version` stays fast."""
    if name == "load_dataset":
        from .loading import load_dataset

        return load_dataset
    if name == "Dataset":
        from .model import Dataset

        return Dataset
    if name in ("DataError", "ImmunofactsError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'immunofacts' has no attribute {name!r}")
