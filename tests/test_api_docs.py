"""docs/api.md runs as written: its examples are doctests."""

from __future__ import annotations

import doctest
from pathlib import Path

API = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def test_api_examples_run() -> None:
    result = doctest.testfile(
        str(API), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted > 10
    assert result.failed == 0


def test_load_dataset_without_a_path_opens_the_bundled_dataset() -> None:
    import immunofacts
    from immunofacts.paths import bundled_data_path

    ds = immunofacts.load_dataset()
    assert ds == immunofacts.load_dataset(bundled_data_path())
    assert ds.claims and ds.source_text
