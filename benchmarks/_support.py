"""Shared pieces of the benchmarks: the result row, timing, the server process, memory.

The loopback server always runs in a process of its own (``multiprocessing``, spawned),
so that the client being measured does not share its interpreter (and its GIL) with the
server, as with a real OneRoster server.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from oneroster_client import _json


@dataclass
class Row:
    """One line of the results table.

    Attributes:
        group: what is measured (e.g. ``listing enrollments``).
        name: the variant (e.g. ``typed``, ``raw``).
        value: the median figure.
        unit: its unit (``rec/s``, ``MiB``).
        ratio: the figure divided by the baseline's, measured in the same run.
        baseline: what the ratio compares with.
        note: anything else worth knowing (spread, identical results, ...).
    """

    group: str
    name: str
    value: float
    unit: str
    ratio: float | None = None
    baseline: str = ""
    note: str = ""


def print_table(rows: list[Row], out: Callable[[str], None] = print) -> None:
    """Print rows as one aligned table."""
    headers = ("benchmark", "variant", "median", "ratio", "baseline (same run)", "note")
    cells = [
        (
            row.group,
            row.name,
            f"{row.value:,.0f} {row.unit}" if row.value >= 100 else f"{row.value:,.2f} {row.unit}",
            "" if row.ratio is None else f"{row.ratio:.2f}x",
            row.baseline,
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out(line)
    out("-+-".join("-" * w for w in widths))
    for cell in cells:
        out(" | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))


def median_rate(run: Callable[[], int], repeat: int) -> tuple[float, float]:
    """Run ``run`` (which returns a record count) ``repeat`` times.

    Returns:
        the median records per second and the spread (max/min of the rates).
    """
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        count = run()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates), max(rates) / min(rates)


def loads(data: bytes) -> Any:
    """What a raw client would parse with: orjson when installed, else the standard library."""
    return _json.loads(data)


def rss_mib() -> float:
    """The current resident set size of this process, in MiB (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    """The peak resident set size of this process so far, in MiB (Linux).

    Read from ``VmHWM``: unlike ``getrusage``'s ``ru_maxrss``, it starts afresh in a
    spawned process instead of carrying over the peak of the process it was forked from.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


# --- the server process ---------------------------------------------------------------------


def _serve(conn: Connection, students: int, seed: int) -> None:
    from oneroster_client.testing import OneRosterServer
    from oneroster_client.testing.generator import generate_district

    district = generate_district(students=students, seed=seed)
    secured = OneRosterServer(district)
    # The same district without authentication: the baseline of the auth costs.
    open_server = OneRosterServer(district, auth=())
    with secured, open_server:
        conn.send(
            {
                "base_url": secured.base_url,
                "open_base_url": open_server.base_url,
                "token_url": secured.token_url,
                "client_id": secured.client_id,
                "client_secret": secured.client_secret,
                "counts": district.counts(),
            }
        )
        while True:
            command, argument = conn.recv()
            if command == "latency":
                secured.faults.latency = open_server.faults.latency = float(argument)
            elif command == "stop":
                conn.send("stopped")
                return
            conn.send("ok")


class ServerProcess:
    """A ``OneRosterServer`` with a generated district, in a spawned process of its own."""

    def __init__(self, students: int, seed: int = 1) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, students, seed), name="oneroster-bench-server"
        )
        self._process.start()
        self.info: dict[str, Any] = self._conn.recv()

    def set_latency(self, seconds: float) -> None:
        """Make the server wait ``seconds`` before every answer."""
        self._conn.send(("latency", seconds))
        self._conn.recv()

    def token(self) -> str:
        """A bearer token from the server's token endpoint."""
        import requests

        answer = requests.post(
            self.info["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(self.info["client_id"], self.info["client_secret"]),
            timeout=30,
        )
        return str(answer.json()["access_token"])

    def oauth2(self) -> Any:
        """An OAuth 2 plug-in with the server's credentials."""
        from oneroster_client.auth import OAuth2ClientCredentials

        return OAuth2ClientCredentials(
            self.info["token_url"], self.info["client_id"], self.info["client_secret"]
        )

    def oauth1(self) -> Any:
        """An OAuth 1 (HMAC-SHA256) plug-in with the server's credentials."""
        from oneroster_client.auth import OAuth1

        return OAuth1(self.info["client_id"], self.info["client_secret"])

    def close(self) -> None:
        """Stop the server and its process."""
        if self._process.is_alive():
            self._conn.send(("stop", None))
            self._conn.recv()
        self._process.join(timeout=30)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
