"""Benchmark: structuring OneRoster records into models versus parsing them from JSON.

Run with ``python benchmarks/bench_models.py`` (``--records N``, ``--repeat K``), or as
part of ``python benchmarks/run_all.py``. It builds N user and N enrollment dicts shaped
like a real SIS payload, then times, in the same run and the same process:

* ``parse``: decoding the records' JSON bytes in pages of 1,000 (orjson when installed,
  the standard library otherwise; the raw baseline: what any client pays to read the
  payload at all);
* ``structure``: :func:`oneroster_client.converter.structure_records` over the parsed
  pages, references shared per run as a listing does (what typing costs);
* ``to_dict``: writing the models back to wire dicts.

It prints records per second (median of K runs) and each figure's ratio to the baseline.
Machines are noisy; quote the medians and ratios, not single runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from _support import Row, print_table

from oneroster_client import _json, converter
from oneroster_client.models import Enrollment, User


def make_users(count: int) -> list[dict[str, Any]]:
    return [
        {
            "sourcedId": f"usr-{i:07d}",
            "status": "active",
            "dateLastModified": "2024-05-01T18:25:43.511Z",
            "metadata": {"ext.homeroom": "7B"},
            "username": f"student{i}",
            "enabledUser": "true",
            "userIds": [{"type": "LDAP", "identifier": f"ldap-{i}"}],
            "givenName": "Given",
            "familyName": "Family",
            "middleName": "M",
            "role": "student",
            "identifier": f"S-{i}",
            "email": f"student{i}@example.edu",
            "sms": "",
            "phone": "",
            "agents": [{"href": "/users/usr-g", "sourcedId": f"usr-g{i}", "type": "user"}],
            "orgs": [{"href": "/orgs/sch-1", "sourcedId": "sch-1", "type": "org"}],
            "grades": ["07"],
        }
        for i in range(count)
    ]


def make_enrollments(count: int) -> list[dict[str, Any]]:
    return [
        {
            "sourcedId": f"enr-{i:08d}",
            "status": "active",
            "dateLastModified": "2024-05-01T18:25:43Z",
            "user": {"href": "/users/u", "sourcedId": f"usr-{i:07d}", "type": "user"},
            "class": {"href": "/classes/c", "sourcedId": f"cls-{i % 997}", "type": "class"},
            "school": {"href": "/orgs/sch-1", "sourcedId": "sch-1", "type": "org"},
            "role": "student",
            "primary": "false",
            "beginDate": "2024-08-15",
            "endDate": "2025-06-01",
        }
        for i in range(count)
    ]


def median_rate(run: Callable[[], object], count: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def collect(
    quick: bool, repeat: int | None = None, log: Callable[[str], None] = print
) -> list[Row]:
    """Structuring and writing rates against parsing, for users and enrollments."""
    n = 5_000 if quick else 100_000
    repeat = repeat or (3 if quick else 5)
    log(f"structuring {n:,} users and {n:,} enrollments in one process ...")
    rows = []
    for name, model, records in (
        ("users", User, make_users(n)),
        ("enrollments", Enrollment, make_enrollments(n)),
    ):
        pages = [json.dumps(records[i : i + 1000]).encode() for i in range(0, n, 1000)]
        parsed = [_json.loads(page) for page in pages]

        def parse(pages: list[bytes] = pages) -> object:
            return [_json.loads(page) for page in pages]

        def structure(model: Any = model, parsed: list[Any] = parsed) -> object:
            refs: dict[Any, Any] = {}
            return [converter.structure_records(page, model, refs=refs) for page in parsed]

        built = [converter.structure(record, model) for record in records]
        baseline = median_rate(parse, n, repeat)
        group = f"models, {n:,} {name} in memory"
        rows.append(Row(group, f"parse ({_json.BACKEND})", baseline, "rec/s", 1.0, "parse"))
        for step, rate in (
            ("structure", median_rate(structure, n, repeat)),
            ("to_dict", median_rate(lambda r=built: [x.to_dict() for x in r], n, repeat)),
        ):
            rows.append(Row(group, step, rate, "rec/s", rate / baseline, "parse"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    print_table(collect(args.quick, args.repeat))


if __name__ == "__main__":
    main()
