"""Time and peak memory of `immunofacts validate` on every hostile input the tests use.

Usage: python benchmarks/hostile.py [--only NAME[,NAME]] [--no-huge] [--raised] [--json FILE]

The inputs are the tests' own: the corpus in tests/hostile/, and the files that
tests/test_hostile.py generates (deep nesting, huge numbers, a 1 MB line, 300
problems, 300,000 unknown keys, 100,000 empty claims and as many empty cases, a
2 MB list, 2,000 near-miss quotes against 20 MB of text, plain and repetitive),
built with that module's helpers, plus one the
tests run only with a lowered cap: a 250 MB dataset with one typo, at the default
caps (and, with --raised, with the cap raised for it). Each runs in a child
spawned by run.py's launcher, so its peak RSS is its
own. An input passes when the command ends with exit 0 or 1 and no traceback,
in at most MAX_SECONDS and under MAX_MIB of peak memory.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (run.py beside this file: the launcher)

MAX_MIB = 500.0
MAX_SECONDS = 60.0
HUGE_CLAIMS = 675_000  # about 250 MB of synthetic YAML


def _tests_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_hostile_tests", ROOT / "tests" / "test_hostile.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def inputs(t: ModuleType, work: Path) -> list[tuple[str, Callable[[Path], Path]]]:
    """(name, a function that writes the input into a directory and returns its path)."""

    def text(name: str, content: str) -> Callable[[Path], Path]:
        return lambda d: t.stage(d, name, content)

    depth = t.DEPTH
    items: list[tuple[str, Callable[[Path], Path]]] = []
    for corpus in sorted(t.CORPUS.glob("*.yaml")):
        items.append((f"corpus {corpus.name}", text(corpus.name, corpus.read_text("utf-8"))))
    nesting = {
        "flow-list": "[" * depth + "]" * depth + "\n",
        "flow-map": "{a: " * depth + "1" + "}" * depth + "\n",
        "flow-in-field": t.MINIMAL + "  note: " + "[" * depth + "]" * depth + "\n",
        "block-list-compact": "- " * depth + "x\n",
        "block-list-1000-indented": t.MINIMAL
        + "  note:\n"
        + "".join(" " * (i + 3) + "-\n" for i in range(1000)),
    }
    for param in t.NESTED:
        nesting[param.id] = param.values[0]
    for name, content in nesting.items():
        items.append((f"nesting {name}", text("deep.yaml", content)))
    for where, old, new in t.NUMBER_FIELDS:
        for number in ("9" * 20, "9" * 5000, "1e400"):
            shown = number if len(number) < 10 else f"a {len(number)}-digit integer"
            content = t.TEMPLATE.replace(old, new.format(number))
            items.append((f"{where} = {shown}", text("n.yaml", content)))
    items.append(("a 1 MB line", text("big.yaml", t.MINIMAL + f"  note: {'x' * 1_000_000}\n")))
    items.append(
        (
            "a 1 MB line and a typo",
            text("big-bad.yaml", t.MINIMAL + f'  note: "{"y" * 1_000_000}"\n  qoute: x\n'),
        )
    )
    claims = "".join(
        f"  - {{id: c{i}, kind: guess, statement: s, quote: q, evidence: none}}\n"
        for i in range(300)
    )
    items.append(("600 problems", text("many.yaml", t.MINIMAL + "claims:\n" + claims)))
    keys = "".join(f"  k{i}: v\n" for i in range(300_000))
    items.append(("300,000 unknown keys", text("keys.yaml", t.MINIMAL + keys)))
    for section in ("claims", "cases"):
        empty = t.MINIMAL + f"{section}: [" + ",".join(["{}"] * 100_000) + "]\n"
        items.append((f"100,000 empty {section}", text(f"empty-{section}.yaml", empty)))
    items.append(
        (
            "a 2 MB list in a string field",
            text("list.yaml", t.MINIMAL + f"  note: [{','.join(['1'] * 1_000_000)}]\n"),
        )
    )
    items.append(
        (
            "2,000 near-miss quotes, 20 MB of text",
            lambda d: t.near_miss_dataset(d, t.prose(20_000_000)),
        )
    )
    article = t.ARTICLE.read_text(encoding="utf-8")
    items.append(
        (
            "2,000 near-miss quotes, 20 MB of repetitive text",
            lambda d: t.near_miss_dataset(d, (article * 2400)[:20_000_000]),
        )
    )
    return items


def huge_typo(out_dir: Path) -> Path:
    """A synthetic dataset of about 250 MB with one unknown key in a claim in the middle,
    made once and kept in out_dir."""
    digest = hashlib.sha256((HERE / "make_dataset.py").read_bytes()).hexdigest()[:10]
    path = out_dir / f"typo-{HUGE_CLAIMS}-{digest}.yaml"
    if path.is_file():
        return path
    valid = out_dir / f"valid-{HUGE_CLAIMS}-{digest}.yaml"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"generating {valid} ...", file=sys.stderr, flush=True)
    subprocess.run(
        [sys.executable, str(HERE / "make_dataset.py"), str(HUGE_CLAIMS), str(valid)], check=True
    )
    middle = valid.stat().st_size // 2
    with open(valid, encoding="utf-8") as src, open(path, "w", encoding="utf-8") as dst:
        done = 0
        typo = False
        for line in src:
            dst.write(line)
            done += len(line)
            if not typo and done > middle and line.startswith("    kind: "):
                dst.write("    knd: x\n")
                typo = True
    valid.unlink()
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", help="run only the inputs whose names contain one of these (comma)")
    p.add_argument("--no-huge", action="store_true", help="leave out the 250 MB file")
    p.add_argument(
        "--raised",
        action="store_true",
        help="also load the 250 MB file with the size cap raised for it (minutes, GBs): "
        "what loading a large corpus on purpose costs; reported, not judged",
    )
    p.add_argument(
        "--out-dir", type=Path, default=HERE / "out", help="where the 250 MB file is kept"
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = p.parse_args(argv)
    t = _tests_module()
    work = Path(tempfile.mkdtemp(prefix="immunofacts-hostile-"))
    launcher = run.Launcher(sys.executable, work)
    ifx = run.find_immunofacts()
    env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"))
    for var in ("IMMUNOFACTS_DATA", "IMMUNOFACTS_MAX_BYTES", "IMMUNOFACTS_TEXT_DIRS"):
        env.pop(var, None)
    items = inputs(t, work)
    #: Inputs run with the size cap raised for them: a user loading a large corpus on purpose.
    raised: set[str] = set()
    if not args.no_huge:
        items.append(("250 MB with one typo (default caps)", lambda d: huge_typo(args.out_dir)))
        if args.raised:
            name = "250 MB with one typo (cap raised for it)"
            items.append((name, lambda d: huge_typo(args.out_dir)))
            raised.add(name)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        items = [(n, make) for n, make in items if any(w in n for w in wanted)]
    results: list[dict[str, Any]] = []
    failures = 0
    try:
        for i, (name, make) in enumerate(items, 1):
            d = work / f"input-{i}"
            d.mkdir()
            path = make(d)
            run_env = env
            if name in raised:
                run_env = dict(env, IMMUNOFACTS_MAX_BYTES=str(path.stat().st_size))
            seconds, rss_kib, code, killed, _, tail = launcher.run(
                [ifx, "validate", str(path)], run_env, d, timeout=1200
            )
            err = tail.decode("utf-8", "replace")
            mib = rss_kib / 1024
            ok = code in (0, 1) and not killed and "Traceback" not in err
            if name not in raised:
                ok = ok and mib < MAX_MIB and seconds <= MAX_SECONDS
            failures += not ok
            last = err.strip().splitlines()[-1] if err.strip() else ""
            results.append(
                {
                    "input": name,
                    "bytes": path.stat().st_size,
                    "exit": code,
                    "seconds": seconds,
                    "peak_mib": mib,
                    "ok": ok,
                    "last_line": last[:160],
                }
            )
            print(
                f"[{i}/{len(items)}] {name}: exit {code}, {seconds:.2f} s, {mib:.0f} MiB"
                f"{'' if ok else '  FAIL'}",
                file=sys.stderr,
                flush=True,
            )
            if path.parent == d:
                shutil.rmtree(d, ignore_errors=True)
    finally:
        launcher.close()
        shutil.rmtree(work, ignore_errors=True)
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"- date: {date}\n- launcher peak RSS: {launcher.peak_kib / 1024:.0f} MiB\n")
    bound = f"≤ {MAX_SECONDS:.0f} s and < {MAX_MIB:.0f} MiB"
    print(f"| input | size | exit | seconds | peak MiB | {bound} |")
    print("|---|---:|---:|---:|---:|---|")
    for r in results:
        size = r["bytes"]
        shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} B"
        print(
            f"| {r['input']} | {shown} | {r['exit']} | {r['seconds']:.2f} | "
            f"{r['peak_mib']:.0f} | {'yes' if r['ok'] else '**no**'} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"date": date, "results": results}, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"\n({time.perf_counter() - start:.0f} s in all)", file=sys.stderr)
    sys.exit(code)
