"""Measure the two YAML parsers on datasets of N claims, to decide what the core needs.

Usage: python benchmarks/parsers.py [N ...]   (default: 1000 10000)

For each N it writes two datasets: the synthetic one of make_dataset.py, and
one grown from copies of the shipped records (whose text is like real data).
It times, best of three:

* ``yaml-rs``: a bare yaml-rs parse (the fast parser alone);
* ``pyyaml C``: a bare PyYAML ``CSafeLoader`` parse (the careful parser's engine);
* ``load fast``: ``parse_dataset`` as installed with the ``fast`` extra;
* ``load careful``: ``parse_dataset`` with the careful parser only (the core alone).

and prints each as seconds and as a ratio to the bare yaml-rs parse. It does
not touch the cache. The figures decide whether yaml-rs belongs in the core
dependencies or in an optional extra (see docs/safety.md, "Two parsers").
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def best(fn: Callable[[], Any], runs: int = 3) -> float:
    """The fastest of `runs` timings of `fn`, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def shipped_like(n: int) -> str:
    """A dataset of about `n` claims made of copies of the shipped records, ids renumbered."""
    import msgspec

    from immunofacts.loading import dump_yaml, load_dataset

    ds = load_dataset()
    data: dict[str, Any] = msgspec.to_builtins(ds)
    data.pop("source_text", None)
    data["source"].pop("text", None)  # the quotes are copies: no article to check them in
    claims = data["claims"]
    grown = []
    for i in range(n):
        rec = dict(claims[i % len(claims)])
        rec["id"] = f"{rec['id']}-{i}"
        grown.append(rec)
    data["claims"] = grown
    for case in data.get("cases", []):
        case["claims"] = []

    def prune(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: prune(x) for k, x in v.items() if x is not None and x not in ([], ())}
        if isinstance(v, list | tuple):
            return [prune(x) for x in v]
        return v

    text: str = dump_yaml(prune(data))
    return text


def measure(name: str, text: str) -> list[tuple[str, float]]:
    import yaml

    from immunofacts.loading import parse_dataset

    rows: list[tuple[str, float]] = []
    yaml_rs: Any = None
    try:
        import yaml_rs
    except ImportError:
        pass
    if yaml_rs is not None:
        rows.append(("yaml-rs", best(lambda: yaml_rs.loads(text, parse_datetime=False))))
    rows.append(("pyyaml C", best(lambda: yaml.load(text, Loader=yaml.CSafeLoader))))
    if yaml_rs is not None:
        rows.append(("load fast", best(lambda: parse_dataset(text, name))))
    rows.append(("load careful", best(lambda: parse_dataset(text, name, fast=False), runs=1)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("n", type=int, nargs="*", default=[1000, 10000], help="claims")
    args = parser.parse_args(argv)
    from make_dataset import dataset_text

    from immunofacts.loading import fast_parser_available, is_plain

    print(
        f"# {time.strftime('%Y-%m-%d')}, {platform.machine()}, Python {platform.python_version()}"
    )
    print(f"# fast parser installed: {fast_parser_available()}")
    print("| dataset | N | MB | plain | parser | seconds | x yaml-rs |")
    print("|---|---|---|---|---|---|---|")
    for n in args.n:
        for kind, text in (("synthetic", dataset_text(n)), ("shipped-like", shipped_like(n))):
            rows = measure(f"{kind}-{n}.yaml", text)
            base = rows[0][1] if rows[0][0] == "yaml-rs" else None
            for label, secs in rows:
                ratio = f"{secs / base:.2f}" if base else "-"
                mb = len(text.encode()) / 1e6
                print(
                    f"| {kind} | {n:,} | {mb:.1f} | {is_plain(text)} | {label} | "
                    f"{secs:.3f} | {ratio} |"
                )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
