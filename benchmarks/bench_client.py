"""Benchmark: the client against a raw HTTP reader, over a loopback server in its own process.

Run with ``python benchmarks/bench_client.py [--quick]`` (or every benchmark at once with
``python benchmarks/run_all.py``). The server (``OneRosterServer`` with a generated
district) runs in a spawned process; the client is measured in this one. Every ratio
compares with a baseline measured in the same run, on the same pages:

* **listing** users and enrollments, pages of 1,000, OAuth 2: ``raw`` is ``requests``
  with a bearer token and ``orjson.loads`` (the standard library when orjson is not
  installed) of each page, iterating the dicts; against it ``raw stdlib json``,
  ``Listing.dicts()``, the typed listing (``for e in client.enrollments.list()``) and the
  typed listing with 2 workers;
* **streaming** every enrollment of the district (a million in the full run) in a fresh
  process: records/s and peak RSS growth, typed against raw;
* **workers** at 50 ms per request, pages of 100: 1, 4 and 8 workers against a raw
  ``requests`` reader with as many threads; the speed-up over 1 worker, and whether the
  records are identical and in order;
* **auth**: pages of 100 users with no auth, OAuth 2 and OAuth 1 (HMAC-SHA256);
* **CSV**: writing and reading a whole district as a CSV package against the standard
  library's ``csv`` writing and reading the same rows.

Figures are medians of several runs (these machines are noisy); ``--quick`` uses small
inputs and finishes in well under a minute (for CI: it checks that the benchmarks run,
and fails on errors, never on timings).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import multiprocessing
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
from _support import Row, ServerProcess, loads, median_rate, peak_rss_mib, print_table, rss_mib

from oneroster_client import OneRosterClient, _json
from oneroster_client.auth import BearerToken
from oneroster_client.csv_package import read_package, write_package


@dataclass(frozen=True)
class Plan:
    """Sizes of one run."""

    students: int  # of the district served (6 to 7 enrollments per student)
    records: int  # read per listing measurement
    repeat: int
    stream_repeat: int
    worker_pages: int  # pages of 100 per worker measurement
    auth_pages: int
    csv_students: int
    csv_repeat: int


FULL = Plan(
    students=160_000,  # a little over a million enrollments
    records=200_000,
    repeat=5,
    stream_repeat=3,
    worker_pages=128,
    auth_pages=60,
    csv_students=20_000,
    csv_repeat=3,
)
QUICK = Plan(
    students=2_000,
    records=10_000,
    repeat=3,
    stream_repeat=1,
    worker_pages=16,
    auth_pages=10,
    csv_students=1_000,
    csv_repeat=1,
)

LATENCY = 0.05
BASELINE = "raw requests + " + ("orjson" if _json.BACKEND == "orjson" else "stdlib json")


# --- readers ---------------------------------------------------------------------------------


def _session(token: str | None) -> requests.Session:
    session = requests.Session()
    if token is not None:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def raw_reader(
    base_url: str,
    token: str,
    collection: str,
    count: int,
    page_size: int,
    parse: Callable[[bytes], Any] = loads,
) -> Callable[[], int]:
    """A baseline: the same pages with ``requests``, parsed and iterated as dicts."""
    session = _session(token)

    def read() -> int:
        got = 0
        for offset in range(0, count, page_size):
            url = f"{base_url}/{collection}?limit={page_size}&offset={offset}"
            for _record in parse(session.get(url, timeout=60).content)[collection]:
                got += 1
        return got

    return read


def _take(records: Iterator[Any], count: int) -> int:
    got = 0
    for _record in itertools.islice(records, count):
        got += 1
    return got


def client_reader(
    client: OneRosterClient, collection: str, count: int, *, raw: bool = False, **options: Any
) -> Callable[[], int]:
    """The client reading the first ``count`` records of ``collection``."""

    def read() -> int:
        listing = getattr(client, collection).list(allow_incomplete=True, **options)
        records = listing.dicts() if raw else iter(listing)
        try:
            return _take(records, count)
        finally:
            records.close()  # stop reading ahead now, not when collected

    return read


# --- measurements ----------------------------------------------------------------------------


def listing_rows(server: ServerProcess, plan: Plan) -> list[Row]:
    """Typed users and enrollments, ``dicts()``, 2 workers, against raw pages of 1,000."""
    info, token = server.info, server.token()
    rows: list[Row] = []
    client = OneRosterClient(info["base_url"], auth=server.oauth2(), page_size=1000)
    for collection in ("users", "enrollments"):
        count = min(plan.records, info["counts"][collection])
        group = f"listing {count:,} {collection} (pages of 1,000, OAuth 2)"
        raw = raw_reader(info["base_url"], token, collection, count, 1000)
        raw()  # warm the server's query cache and the connection
        variants: list[tuple[str, Callable[[], int]]] = [
            ("raw", raw),
            (
                "raw stdlib json",
                raw_reader(info["base_url"], token, collection, count, 1000, _json.stdlib_loads),
            ),
            ("Listing.dicts()", client_reader(client, collection, count, raw=True)),
            ("typed", client_reader(client, collection, count)),
            ("typed, 2 workers", client_reader(client, collection, count, max_workers=2)),
        ]
        # Interleaved runs, so that a noisy moment hurts every variant alike.
        rates: dict[str, list[float]] = {name: [] for name, _ in variants}
        for turn in range(plan.repeat):
            for name, run in _rotated(variants, turn):
                rate, _spread = median_rate(run, 1)
                rates[name].append(rate)
        medians = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
        for name, _ in variants:
            values = rates[name]
            rows.append(
                Row(
                    group,
                    name,
                    medians[name],
                    "rec/s",
                    medians[name] / medians["raw"],
                    BASELINE,
                    f"spread {max(values) / min(values):.2f}",
                )
            )
    client.close()
    return rows


def _stream_child(conn: Connection, info: dict[str, Any], token: str, typed: bool) -> None:
    client = OneRosterClient(info["base_url"], auth=BearerToken(token), page_size=1000)
    count = info["counts"]["enrollments"]
    if typed:
        run = client_reader(client, "enrollments", count)
    else:
        run = raw_reader(info["base_url"], token, "enrollments", count, 1000)
    # What a reader needs anyway (imports, connection, one page) is not counted as growth.
    _take(iter(client.enrollments.list(page_size=1000, allow_incomplete=True)), 1)
    before = rss_mib()
    start = time.perf_counter()
    got = run()
    seconds = time.perf_counter() - start
    conn.send((got, seconds, peak_rss_mib() - before))


def _stream_once(info: dict[str, Any], token: str, typed: bool) -> tuple[int, float, float]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_stream_child, args=(child, info, token, typed))
    process.start()
    result: tuple[int, float, float] = parent.recv()
    process.join()
    return result


def stream_rows(server: ServerProcess, plan: Plan) -> list[Row]:
    """Every enrollment of the district, typed and raw, each run in a fresh process."""
    info, token = server.info, server.token()
    count = info["counts"]["enrollments"]
    group = f"streaming {count:,} enrollments (fresh process)"
    results: dict[bool, list[tuple[int, float, float]]] = {True: [], False: []}
    for _ in range(plan.stream_repeat):
        for typed in (False, True):
            results[typed].append(_stream_once(info, token, typed))
    rows = []
    rates = {
        typed: sorted(got / seconds for got, seconds, _ in runs) for typed, runs in results.items()
    }
    median = {typed: values[len(values) // 2] for typed, values in rates.items()}
    for typed, name in ((False, "raw"), (True, "typed")):
        growth = max(growth for _, _, growth in results[typed])
        got = results[typed][0][0]
        rows.append(
            Row(
                group,
                name,
                median[typed],
                "rec/s",
                median[typed] / median[False],
                BASELINE,
                f"{got:,} records; peak RSS growth {growth:.0f} MiB",
            )
        )
    return rows


def _raw_pool_reader(
    base_url: str, token: str, pages: int, workers: int
) -> Callable[[], list[str]]:
    local = threading.local()

    def fetch(offset: int) -> list[str]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = _session(token)
        url = f"{base_url}/users?limit=100&offset={offset}"
        return [
            record["sourcedId"] for record in loads(session.get(url, timeout=60).content)["users"]
        ]

    def read() -> list[str]:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return [sid for page in pool.map(fetch, range(0, pages * 100, 100)) for sid in page]

    return read


def _workers_reader(client: OneRosterClient, count: int, workers: int) -> Callable[[], list[str]]:
    def read() -> list[str]:
        listing = client.users.list(page_size=100, max_workers=workers, allow_incomplete=True)
        records = iter(listing)
        try:
            return [user.sourced_id for user in itertools.islice(records, count)]
        finally:
            records.close()

    return read


def worker_rows(server: ServerProcess, plan: Plan) -> list[Row]:
    """1, 4 and 8 workers at 50 ms per request, pages of 100, typed and raw."""
    info, token = server.info, server.token()
    count = plan.worker_pages * 100
    group = f"workers, {count:,} users, pages of 100, {LATENCY * 1000:.0f} ms per request"
    client = OneRosterClient(info["base_url"], auth=server.oauth2(), page_size=100)
    server.set_latency(LATENCY)
    try:
        expected = _workers_reader(client, count, 1)()
        rates: dict[tuple[str, int], list[float]] = {}
        identical = True
        for _ in range(plan.repeat):
            for workers in (1, 4, 8):
                for kind, run in (
                    ("raw", _raw_pool_reader(info["base_url"], token, plan.worker_pages, workers)),
                    ("typed", _workers_reader(client, count, workers)),
                ):
                    start = time.perf_counter()
                    got = run()
                    rate = len(got) / (time.perf_counter() - start)
                    rates.setdefault((kind, workers), []).append(rate)
                    identical = identical and got == expected
    finally:
        server.set_latency(0)
        client.close()
    if not identical:  # a correctness failure, not a timing: the run must fail
        raise RuntimeError("records read with several workers differ from a sequential read")
    median = {key: sorted(values)[len(values) // 2] for key, values in rates.items()}
    rows = []
    for workers in (1, 4, 8):
        for kind in ("raw", "typed"):
            speedup = median[(kind, workers)] / median[(kind, 1)]
            note = f"{speedup:.1f}x {kind} with 1 worker"
            if kind == "typed":
                note += "; identical, in order"
            rows.append(
                Row(
                    group,
                    f"{kind}, {workers} worker{'s' if workers > 1 else ''}",
                    median[(kind, workers)],
                    "rec/s",
                    median[(kind, workers)] / median[("raw", workers)],
                    f"raw requests, {workers} thread{'s' if workers > 1 else ''}",
                    note,
                )
            )
    return rows


def auth_rows(server: ServerProcess, plan: Plan) -> list[Row]:
    """The cost of OAuth 2 and OAuth 1 against no auth: typed pages of 100 users."""
    info = server.info
    count = plan.auth_pages * 100
    group = f"auth, {count:,} users, pages of 100 (typed)"
    clients = {
        "no auth": OneRosterClient(info["open_base_url"], auth=None, page_size=100),
        "OAuth 2": OneRosterClient(info["base_url"], auth=server.oauth2(), page_size=100),
        "OAuth 1 (HMAC-SHA256)": OneRosterClient(
            info["base_url"], auth=server.oauth1(), page_size=100
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in clients}
    cpu: dict[str, list[float]] = {name: [] for name in clients}
    for client in clients.values():
        client_reader(client, "users", 100)()  # token, connection
    for turn in range(plan.repeat):
        for name, client in _rotated(list(clients.items()), turn):
            started = time.process_time()
            rates[name].append(median_rate(client_reader(client, "users", count), 1)[0])
            cpu[name].append((time.process_time() - started) / plan.auth_pages)
    for client in clients.values():
        client.close()
    median = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
    return [
        Row(
            group,
            name,
            median[name],
            "rec/s",
            median[name] / median["no auth"],
            "no auth",
            f"client CPU {sorted(cpu[name])[len(cpu[name]) // 2] * 1000:.2f} ms per page",
        )
        for name in clients
    ]


def _rotated(items: list[Any], turn: int) -> list[Any]:
    """``items`` starting at another one each turn, so that no variant always goes first."""
    turn %= len(items)
    return items[turn:] + items[:turn]


def csv_rows(plan: Plan) -> list[Row]:
    """Write and read a whole district as a CSV package, against the csv module."""
    from oneroster_client.testing.generator import generate_district

    district = generate_district(students=plan.csv_students, seed=1)
    models = {name: list(district.models(name)) for name in district.collections}
    models = {name: records for name, records in models.items() if records}
    total = sum(len(records) for records in models.values())
    group = f"CSV package, whole district ({total:,} records)"
    rates: dict[str, list[float]] = {
        name: [] for name in ("write", "read", "raw write", "raw read")
    }
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "package"
        raw_target = Path(folder) / "raw"
        raw_target.mkdir()
        for _ in range(plan.csv_repeat):
            start = time.perf_counter()
            write_package(target, models, overwrite=True)
            rates["write"].append(total / (time.perf_counter() - start))
            start = time.perf_counter()
            package = read_package(target)
            got = sum(1 for name in models for _ in package.iter_records(name))
            rates["read"].append(got / (time.perf_counter() - start))
            start = time.perf_counter()
            for name in models:
                _raw_csv_write(raw_target / f"{name}.csv", district[name])
            rates["raw write"].append(total / (time.perf_counter() - start))
            start = time.perf_counter()
            got = sum(_raw_csv_read(raw_target / f"{name}.csv") for name in models)
            rates["raw read"].append(got / (time.perf_counter() - start))
    median = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
    return [
        Row(group, "raw write", median["raw write"], "rec/s", 1.0, "csv.writer of the wire dicts"),
        Row(
            group,
            "write_package",
            median["write"],
            "rec/s",
            median["write"] / median["raw write"],
            "csv.writer of the wire dicts",
        ),
        Row(group, "raw read", median["raw read"], "rec/s", 1.0, "csv.reader of the same rows"),
        Row(
            group,
            "read_package, typed",
            median["read"],
            "rec/s",
            median["read"] / median["raw read"],
            "csv.reader of the same rows",
        ),
    ]


def _raw_csv_write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        for row in rows:
            writer.writerow([str(value) for value in row.values()])


def _raw_csv_read(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as file:
        return sum(1 for _ in csv.reader(file))


# --- entry points ----------------------------------------------------------------------------


def collect(
    quick: bool, repeat: int | None = None, log: Callable[[str], None] = print
) -> list[Row]:
    """Run every measurement of this file and return the rows of the table."""
    plan = QUICK if quick else FULL
    if repeat is not None:
        plan = Plan(**{**plan.__dict__, "repeat": repeat})
    rows: list[Row] = []
    log(f"generating a district of {plan.students:,} students in the server process ...")
    with ServerProcess(plan.students) as server:
        log(f"served: {server.info['counts']['enrollments']:,} enrollments")
        for name, measure in (
            ("listings", listing_rows),
            ("streaming", stream_rows),
            ("workers", worker_rows),
            ("auth", auth_rows),
        ):
            log(f"measuring {name} ...")
            rows += measure(server, plan)
    log("measuring CSV ...")
    rows += csv_rows(plan)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, under a minute")
    parser.add_argument("--repeat", type=int, default=None, help="runs per median")
    args = parser.parse_args()
    print_table(collect(args.quick, args.repeat))


if __name__ == "__main__":
    main()
