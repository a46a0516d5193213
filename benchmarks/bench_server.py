"""Benchmark: the loopback server's throughput and the client's cost on top of raw HTTP.

Run with ``python benchmarks/bench_server.py`` (``--students 50000 --repeat 5``).

It generates a synthetic district, serves it on 127.0.0.1 and, in the same run, reads
the first ``--pages`` pages of 1,000 records of ``users`` and ``enrollments``:

* ``raw``: ``requests`` with a bearer token, ``json.loads`` of each page (the baseline:
  the server's throughput as any client sees it);
* ``client``: ``OneRosterClient(...).<collection>.list(page_size=1000)`` over the same
  pages, i.e. OAuth 2, paging checks and typed models.

It prints records per second (median of ``--repeat`` runs) and the client's ratio to the
raw baseline. The machine is shared and noisy: quote the medians and the ratios.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import time

import requests

from oneroster_client import OneRosterClient
from oneroster_client.testing import OneRosterServer
from oneroster_client.testing.generator import generate_district


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    district = generate_district(students=args.students, seed=args.seed)
    generated = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"district: {district}")
    print(f"generated in {generated:.1f} s; peak RSS so far {rss:,.0f} MiB")
    page_size = 1000
    with OneRosterServer(district) as server:
        token = requests.post(
            server.token_url,
            data={"grant_type": "client_credentials"},
            auth=(server.client_id, server.client_secret),
            timeout=30,
        ).json()["access_token"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        client = OneRosterClient(server.base_url, auth=server.oauth2(), page_size=page_size)
        print(f"\npages of {page_size}, first {args.pages} pages, median of {args.repeat} runs")
        print(f"{'collection':<14}{'reader':<10}{'records/s':>12}{'vs raw':>10}")
        for collection, attribute in (("users", "users"), ("enrollments", "enrollments")):
            count = min(len(district[collection]), args.pages * page_size)

            def raw(collection: str = collection, count: int = count) -> int:
                got = 0
                for offset in range(0, count, page_size):
                    url = f"{server.base_url}/{collection}?limit={page_size}&offset={offset}"
                    got += len(json.loads(session.get(url, timeout=30).content)[collection])
                return got

            def typed(attribute: str = attribute, count: int = count) -> int:
                listing = getattr(client, attribute).list(
                    page_size=page_size, allow_incomplete=True
                )
                return sum(1 for _ in itertools.islice(listing, count))

            raw()  # warm the server's caches and the connection
            raw_rate = _median_rate(raw, args.repeat)
            typed_rate = _median_rate(typed, args.repeat)
            print(f"{collection:<14}{'raw':<10}{raw_rate:>12,.0f}{1.0:>9.2f}x")
            print(
                f"{collection:<14}{'client':<10}{typed_rate:>12,.0f}{typed_rate / raw_rate:>9.2f}x"
            )
        client.close()


def _median_rate(run: object, repeat: int) -> float:
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        records = run()  # type: ignore[operator]
        rates.append(records / (time.perf_counter() - start))
    return statistics.median(rates)


if __name__ == "__main__":
    main()
