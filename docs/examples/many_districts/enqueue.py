"""Enqueue one sync per district now, wait for the workers, and print what each did.

Usage::

    python -m many_districts.enqueue              # every district of the file
    python -m many_districts.enqueue north        # only these
    python -m many_districts.enqueue --full north # a full reconciliation now
"""

from __future__ import annotations

import sys

from many_districts.tasks import describe, load_config, sync_district

WAIT_SECONDS = 3600.0


def main(arguments: list[str]) -> int:
    """Enqueue, wait, print; the exit code is 1 when a district did not succeed."""
    full = True if "--full" in arguments else None
    keys = [argument for argument in arguments if argument != "--full"]
    keys = keys or sorted(load_config()["districts"])
    pending = [(key, sync_district.delay(key, full=full)) for key in keys]
    failed = 0
    for key, result in pending:
        outcome = result.get(timeout=WAIT_SECONDS, propagate=False)
        if result.successful():
            print(describe(outcome))
            failed += outcome["status"] not in ("ok", "validated")
        else:
            print(f"{key}: task failed: {outcome!r}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
