"""Run every benchmark in one go: ``python benchmarks/run_all.py [--quick]``.

``--quick`` uses smaller inputs (useful to check the benchmarks still run); the figures
quoted in notes come from the full run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = {
    "bench_models.py": ["--records", "100000", "--repeat", "5"],
    "bench_server.py": ["--students", "50000", "--repeat", "5"],
    "bench_roster.py": ["--students", "50000", "--repeat", "5"],
}
QUICK = {
    "bench_models.py": ["--records", "5000", "--repeat", "3"],
    "bench_server.py": ["--students", "2000", "--pages", "3", "--repeat", "3"],
    "bench_roster.py": ["--students", "2000", "--repeat", "3"],
}


def main() -> int:
    plan = QUICK if "--quick" in sys.argv[1:] else FULL
    failed = 0
    for script, arguments in plan.items():
        print(f"\n=== {script} {' '.join(arguments)}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / script), *arguments]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
