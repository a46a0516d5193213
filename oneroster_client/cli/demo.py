"""``oneroster demo``: the whole job on this machine, in well under a minute.

A Skyward-like OneRoster server with a generated district and a Buzz server start on
127.0.0.1. The demo connects to Skyward through :mod:`skyward_adapter` with a Key, a
Secret and an API Token URL, checks the connection, runs a validate-only Buzz sync and
prints its report, runs the real sync, lets "teachers" grade in Buzz, passes the grades
back to the SIS gradebook, and writes one HTML page with both reports.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path
from typing import Any

from oneroster_client.cli._common import EXIT_FAILED, EXIT_OK, Context, positive_int, report_path
from oneroster_client.cli.serve import DEMO_DOMAIN

__all__ = ["add_parser", "run_demo"]

USER_AGENT = "oneroster-demo/1.0 (oneroster-client demo; localhost)"
_ITEMS = (("quiz-1", "Quiz 1", 10.0), ("essay-1", "Essay 1", 20.0))
_SCORED = "2025-01-10T15:00:00Z"


class _Servers:
    """The Skyward-like OneRoster server and the Buzz server, started and stopped together."""

    def __init__(self, students: int, seed: int) -> None:
        from oneroster_client.buzz.testing import BuzzServer
        from skyward_adapter.testing import skyward_like_district, skyward_like_server

        self.district = skyward_like_district(students=students, seed=seed).district
        self.sis = skyward_like_server(self.district)
        domain = {"id": DEMO_DOMAIN, "name": "Demo USD", "userspace": "demo", "parentid": "1"}
        self.lms = BuzzServer(seed={"domains": [domain]})

    def __enter__(self) -> _Servers:
        self.sis.start()
        self.lms.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sis.stop()
        self.lms.stop()


def _connect(ctx: Context, servers: _Servers) -> tuple[Any, Any]:
    """The Skyward settings an admin would enter, the OneRoster client and the Buzz client."""
    from oneroster_client.buzz import BuzzClient, BuzzJWTAuth
    from skyward_adapter import SkywardSettings, check_connection, connect

    sis = servers.sis
    ctx.secrets.add(sis.client_secret)
    settings = SkywardSettings(
        base_url=sis.origin + sis.base_path.removesuffix("/ims/oneroster/v1p1"),
        key=sis.client_id,
        secret=sis.client_secret,
        token_url=sis.token_url,
        passback=True,
    )
    ctx.say("\n== Connecting to Skyward (Key, Secret, API Token URL)")
    report = check_connection(settings)
    ctx.say(str(report))
    token_url, user_id, private_key, key_id = servers.lms.jwt_credentials()
    ctx.secrets.add(private_key.strip())
    auth = BuzzJWTAuth(token_url, user_id, private_key, key_id)
    buzz = BuzzClient(servers.lms.base_url, auth=auth, user_agent=USER_AGENT)
    return connect(settings), buzz


def _roster(ctx: Context, oneroster: Any, buzz: Any, history: Any) -> Any:
    """A validate-only sync (its report printed), then the real one."""
    from oneroster_client.buzz import RosterSettings, sync

    settings = RosterSettings(
        parent_domain_id=DEMO_DOMAIN,
        student_role="Student",
        teacher_role="Teacher",
        district_key="demo-usd",
    )
    ctx.say("\n== Buzz sync, validate-only (the default: nothing is written)")
    preview = sync(oneroster, buzz, settings, history=history)
    ctx.say(preview.to_text())
    ctx.say("\n== Buzz sync, applied")
    report = sync(oneroster, buzz, settings, validate_only=False, history=history)
    ctx.say(report.headline())
    for entity, numbers in report.count_rows():
        created = numbers[report.WORDS.index("created")]
        ctx.say(f"  {entity:<12} {created:>6,} created")
    return report


def _grade(ctx: Context, servers: _Servers, seed: int) -> int:
    """Teachers grade two assignments for every rostered student in Buzz."""
    rng = random.Random(seed)
    student_role = next(r["id"] for r in servers.lms.roles() if r["name"] == "Student")
    graded = 0
    for enrollment in servers.lms.enrollments():
        if enrollment.get("roleid") != student_role or not enrollment.get("reference"):
            continue
        for item_id, title, possible in _ITEMS:
            achieved = round(rng.uniform(0.4, 1.0) * possible * 2) / 2
            servers.lms.set_grade(
                enrollment["id"],
                achieved,
                possible,
                itemid=item_id,
                title=title,
                scoreddate=_SCORED,
            )
            graded += 1
    ctx.say(f"\n== Teachers grade in Buzz: {graded:,} scores on {len(_ITEMS)} assignments")
    return graded


def _pass_back(ctx: Context, oneroster: Any, buzz: Any, history: Any) -> Any:
    from oneroster_client.buzz.passback import PassbackSettings, pass_back_grades

    settings = PassbackSettings(
        parent_domain_id=DEMO_DOMAIN, profile="skyward", district_key="demo-usd"
    )
    ctx.say("\n== Grade passback to Skyward's gradebook, applied")
    report = pass_back_grades(buzz, oneroster, settings, validate_only=False, history=history)
    ctx.say(report.to_text())
    return report


def combined_html(*reports: Any) -> str:
    """One self-contained page holding each report's HTML body, in order."""
    pages: list[str] = [report.to_html() for report in reports]
    head = pages[0].split("<body>", 1)[0]
    bodies = [re.split(r"</?body>", page)[1] for page in pages]
    return head + "<body>\n" + "\n<hr>\n".join(bodies) + "\n</body></html>\n"


def run_demo(ctx: Context) -> int:
    """Run the demo; exit 0 when rostering and passback both completed."""
    from oneroster_client.buzz import SyncHistory

    args = ctx.args
    started = time.perf_counter()
    ctx.say(f"Generating a Skyward-like district of {args.students:,} students ...")
    with _Servers(args.students, args.seed) as servers:
        ctx.say(f"Skyward-like OneRoster 1.1 server at {servers.sis.base_url}")
        ctx.say(f"Buzz (DLAP) server at {servers.lms.base_url}")
        oneroster, buzz = _connect(ctx, servers)
        with oneroster:
            history = SyncHistory(":memory:")
            rostered = _roster(ctx, oneroster, buzz, history)
            _grade(ctx, servers, args.seed)
            passed = _pass_back(ctx, oneroster, buzz, history)
    Path(args.report).write_text(combined_html(rostered, passed), encoding="utf-8")
    ok = rostered.status == "ok" and passed.status == "ok"
    ctx.say("\n== Summary")
    ctx.say(
        f"  Rostering: {rostered.status}; {len(rostered.issues)} record(s) need fixing in the SIS"
    )
    sent = {
        name: passed.counts.get(name, {}).get("created", 0) for name in ("lineItems", "results")
    }
    ctx.say(
        f"  Passback: {passed.status}; the SIS took {sent['lineItems']:,} line items "
        f"and {sent['results']:,} results"
    )
    ctx.say(f"  HTML report: {Path(args.report).resolve()}")
    ctx.say("  Next: the same against your own Skyward and Buzz, see docs/cli.md")
    outcome = "Done" if ok else "FAILED"
    ctx.say(f"{outcome} in {time.perf_counter() - started:.1f} s.")
    return EXIT_OK if ok else EXIT_FAILED


def add_parser(commands: Any, formatter: type) -> None:
    """Add ``demo``."""
    demo = commands.add_parser(
        "demo",
        formatter_class=formatter,
        help="the whole job on loopback servers: Skyward to Buzz rostering, grade passback",
        description="Start a Skyward-like OneRoster server with a generated district and a "
        "Buzz server on 127.0.0.1; connect through the Skyward adapter; run a validate-only "
        "Buzz sync and print its report; run the real sync; grade in Buzz and pass the "
        "grades back to the SIS; write an HTML report. Nothing leaves this machine.",
    )
    demo.add_argument("--students", type=positive_int, default=300, help="students in the district")
    demo.add_argument("--seed", type=int, default=1, help="seed of the generated district")
    demo.add_argument(
        "--report",
        metavar="PATH",
        type=report_path,
        default="oneroster-demo-report.html",
        help="where the HTML report is written (its folder is checked before the demo starts)",
    )
    demo.set_defaults(run=run_demo)
