"""Benchmark: structuring OneRoster records into models versus parsing them from JSON.

Run with ``python benchmarks/bench_models.py`` (``--records N``, ``--repeat K``).
It builds N user and N enrollment dicts shaped like a real SIS payload, then times, in
the same run and the same process:

* ``json``: ``json.loads`` of the records' JSON bytes (the raw baseline: what any client
  must pay to read the payload at all);
* ``structure``: ``Model.from_dict`` over the already-parsed dicts (what typing costs);
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

from oneroster_client import converter
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.records, args.repeat
    print(f"records per kind: {n:,}; median of {repeat} runs")
    print(f"{'kind':<12}{'step':<12}{'records/s':>14}{'vs json.loads':>16}")
    for name, model, rows in (
        ("User", User, make_users(n)),
        ("Enrollment", Enrollment, make_enrollments(n)),
    ):
        payload = json.dumps(rows).encode()
        structure = converter.structure
        baseline = median_rate(lambda p=payload: json.loads(p), n, repeat)
        typed = median_rate(lambda m=model, r=rows, s=structure: [s(d, m) for d in r], n, repeat)
        records = [structure(d, model) for d in rows]
        written = median_rate(lambda r=records: [x.to_dict() for x in r], n, repeat)
        for step, rate in (("json", baseline), ("structure", typed), ("to_dict", written)):
            print(f"{name:<12}{step:<12}{rate:>14,.0f}{rate / baseline:>15.2f}x")


if __name__ == "__main__":
    main()
