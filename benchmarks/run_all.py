"""Run every benchmark and print one table: ``python benchmarks/run_all.py [--quick]``.

Each ``bench_*.py`` file in this folder that defines ``collect(quick, repeat)`` adds its
rows to the one table (every ratio in it is against a baseline measured in the same run);
any other ``bench_*.py`` is run as a script afterwards and its own output printed (with
the arguments in :data:`SCRIPT_ARGUMENTS` when it has an entry there).

``--quick`` uses small inputs and finishes in under a minute: CI can run it to check that
the benchmarks work; it fails on errors (parallel pages that differ from a sequential
read among them), never on timings. The figures in ``docs/performance.md`` come from
the full run.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _support import Row, print_table  # noqa: E402 - after the path is set

from oneroster_client import _json  # noqa: E402

# Scripts without collect(): (full run arguments, --quick arguments).
SCRIPT_ARGUMENTS: dict[str, tuple[list[str], list[str]]] = {
    "bench_roster.py": (
        ["--students", "50000", "--repeat", "5"],
        ["--students", "2000", "--repeat", "3"],
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, under a minute")
    parser.add_argument("--repeat", type=int, default=None, help="runs per median")
    args = parser.parse_args()
    started = time.perf_counter()
    rows: list[Row] = []
    scripts: list[Path] = []
    for path in sorted(HERE.glob("bench_*.py")):
        module = importlib.import_module(path.stem)
        collect = getattr(module, "collect", None)
        if collect is None:
            scripts.append(path)
            continue
        print(f"=== {path.name}", flush=True)
        rows += collect(args.quick, args.repeat, log=lambda text: print(f"  {text}", flush=True))
    print()
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"JSON decoder: {_json.BACKEND}, {'--quick' if args.quick else 'full run'}"
    )
    print_table(rows)
    failed = 0
    for path in scripts:
        full, quick = SCRIPT_ARGUMENTS.get(path.name, ([], []))
        arguments = quick if args.quick else full
        print(f"\n=== {path.name} {' '.join(arguments)}", flush=True)
        failed += subprocess.call([sys.executable, str(path), *arguments]) != 0
    print(f"\nfinished in {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
