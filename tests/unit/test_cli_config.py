"""The ``oneroster`` command's pieces: settings precedence, values, output formats,
progress bars and exit codes."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneroster_client.buzz import PassbackReport, SyncReport
from oneroster_client.buzz.report import RecordFailure
from oneroster_client.cli import EXIT_FAILED, EXIT_HELD, EXIT_ISSUES, EXIT_OK
from oneroster_client.cli._config import SETTINGS, resolve
from oneroster_client.cli._output import cell, load_tqdm, progress_bar, write_rows
from oneroster_client.cli.buzz import _StepBars, exit_code
from oneroster_client.errors import ConfigurationError

LAYERED = ["sis.base_url", "sis.client_id", "buzz.user_agent", "sis.client_secret"]
texts = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


def _args(**flags: Any) -> argparse.Namespace:
    return argparse.Namespace(**{SETTINGS[name].dest: value for name, value in flags.items()})


@given(
    st.dictionaries(
        st.sampled_from(LAYERED),
        st.fixed_dictionaries(
            {},
            optional={"flag": texts, "env": texts, "file": texts},
        ),
    )
)
def test_flag_beats_environment_beats_file_beats_default(
    layers: dict[str, dict[str, str]],
) -> None:
    flags, env, data = {}, {}, {}
    for name, given_in in layers.items():
        setting = SETTINGS[name]
        if "flag" in given_in and setting.flag is not None:
            flags[name] = given_in["flag"]
        if "env" in given_in:
            env[setting.env] = given_in["env"]
        if "file" in given_in:
            data.setdefault(setting.section, {})[setting.key] = given_in["file"]
    resolved = resolve(_args(**flags), env, data, "settings.toml")
    for name in LAYERED:
        setting = SETTINGS[name]
        expected = flags.get(
            name,
            env.get(setting.env, data.get(setting.section, {}).get(setting.key, setting.default)),
        )
        assert resolved[name] == expected
        if name in flags:
            assert resolved.where(name) == setting.flag
        elif setting.env in env:
            assert resolved.where(name) == f"environment variable {setting.env}"
        elif name in layers and "file" in layers[name]:
            assert "settings.toml" in resolved.where(name)
        else:
            assert resolved.where(name) == "default"


def test_empty_environment_variables_count_as_unset() -> None:
    resolved = resolve(_args(), {"ONEROSTER_BASE_URL": "  "}, {"sis": {"base_url": "https://f"}})
    assert resolved["sis.base_url"] == "https://f"


@pytest.mark.parametrize(
    ("env", "expected"),
    [("1", True), ("yes", True), ("TRUE", True), ("0", False), ("off", False)],
)
def test_booleans_from_the_environment(env: str, expected: bool) -> None:
    resolved = resolve(_args(), {"ONEROSTER_ALLOW_INSECURE_HTTP": env}, {})
    assert resolved["sis.allow_insecure_http"] is expected


def test_bad_values_name_their_source_and_all_problems_at_once() -> None:
    env = {"ONEROSTER_ALLOW_INSECURE_HTTP": "maybe", "ONEROSTER_PAGE_SIZE": "lots"}
    data = {"sis": {"timeout": -1, "auth": "kerberos"}, "buzz": {"user_id": ["x"]}}
    with pytest.raises(ConfigurationError) as caught:
        resolve(_args(), env, data, "x.toml")
    message = str(caught.value)
    for part in (
        "ONEROSTER_ALLOW_INSECURE_HTTP",
        "'maybe'",
        "ONEROSTER_PAGE_SIZE",
        "'lots'",
        "timeout in [sis] of x.toml",
        "must be one of auto",
        "user_id in [buzz]",
    ):
        assert part in message


def test_file_numbers_and_booleans_are_taken_as_such() -> None:
    data = {"sis": {"page_size": 250, "timeout": 2, "allow_insecure_http": True}}
    resolved = resolve(_args(), {}, data)
    assert resolved["sis.page_size"] == 250 and resolved["sis.timeout"] == 2.0
    assert resolved["sis.allow_insecure_http"] is True


def test_secrets_have_no_flag_and_are_listed_for_scrubbing() -> None:
    secret_settings = [s for s in SETTINGS.values() if s.secret]
    assert {s.env for s in secret_settings} == {
        "ONEROSTER_CLIENT_SECRET",
        "ONEROSTER_ACCESS_TOKEN",
        "ONEROSTER_BUZZ_PRIVATE_KEY",
    }
    assert all(s.flag is None for s in secret_settings)
    env = {s.env: f"value-of-{s.env}" for s in secret_settings}
    assert set(resolve(_args(), env, {}).secrets()) == set(env.values())


def test_every_setting_is_named_consistently() -> None:
    for setting in SETTINGS.values():
        assert setting.env.startswith("ONEROSTER_")
        assert setting.section in ("sis", "buzz")
        assert setting.help


# --- output ----------------------------------------------------------------------------


def test_cells() -> None:
    assert cell(None) == ""
    assert cell(True) == "true"
    assert cell({"sourcedId": "c1", "type": "class", "href": "/x"}) == "c1"
    assert cell([{"sourcedId": "a", "type": "org"}, {"sourcedId": "b", "type": "org"}]) == "a,b"
    assert cell(["09", "10"]) == "09,10"
    assert json.loads(cell({"k": 1})) == {"k": 1}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "sourcedId"]), json_values), max_size=5))
def test_every_format_writes_any_records(rows: list[dict[str, Any]]) -> None:
    for fmt in ("json", "jsonl", "csv", "table"):
        out = io.StringIO()
        assert write_rows(rows, fmt, out) == len(rows)
    out = io.StringIO()
    write_rows(rows, "json", out)
    assert json.loads(out.getvalue()) == rows
    out = io.StringIO()
    write_rows(rows, "csv", out, fields=["a", "b"])
    read = list(csv.reader(io.StringIO(out.getvalue())))
    assert read[0] == ["a", "b"]
    assert [line for line in read[1:]] == [[cell(r.get("a")), cell(r.get("b"))] for r in rows]


def test_table_cuts_long_cells() -> None:
    out = io.StringIO()
    write_rows([{"sourcedId": "x", "title": "word " * 30}], "table", out)
    assert all(len(line) < 60 for line in out.getvalue().splitlines())
    assert "…" in out.getvalue()


# --- progress --------------------------------------------------------------------------


class FakeTqdm:
    made: list[FakeTqdm] = []

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.total = options.get("total")
        self.n = 0
        self.closed = False
        FakeTqdm.made.append(self)

    def update(self, count: int) -> None:
        self.n += count

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def fake_tqdm(monkeypatch: pytest.MonkeyPatch) -> type[FakeTqdm]:
    module = type(sys)("tqdm")
    module.tqdm = FakeTqdm  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", module)
    FakeTqdm.made = []
    return FakeTqdm


def test_progress_bar_on_a_terminal(fake_tqdm: type[FakeTqdm]) -> None:
    stream = Terminal()
    with progress_bar("users", stream) as bar:
        assert bar is not None
        bar(100, 250)
        bar(250, 250)
    (made,) = fake_tqdm.made
    assert made.n == 250 and made.total == 250 and made.closed
    assert made.options["file"] is stream


def test_no_progress_bar_off_a_terminal(fake_tqdm: type[FakeTqdm]) -> None:
    with progress_bar("users", io.StringIO()) as bar:
        assert bar is None
    assert fake_tqdm.made == []


def test_no_progress_bar_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # an import of it fails
    assert load_tqdm() is None
    with progress_bar("users", Terminal()) as bar:
        assert bar is None


def test_sync_step_bars(fake_tqdm: type[FakeTqdm]) -> None:
    bars = _StepBars(Terminal())
    bars("users", 10, None)
    bars("users", 40, 40)
    bars("buzz", 1, 3)
    bars.close()
    users, buzz = fake_tqdm.made
    assert users.n == 40 and users.total == 40 and users.closed
    assert buzz.options["desc"] == "buzz" and buzz.closed


# --- exit codes ------------------------------------------------------------------------


def _sync_report(**changes: Any) -> SyncReport:
    report = SyncReport(district="d", **changes)
    report.finish()
    return report


def test_exit_codes_of_reports() -> None:
    failure = RecordFailure(entity="users", reference="u1", action="create", code="X", message="m")
    assert exit_code(_sync_report(mode="validate-only")) == EXIT_OK
    assert exit_code(_sync_report()) == EXIT_OK
    assert exit_code(_sync_report(held=True)) == EXIT_HELD
    assert exit_code(_sync_report(error="stopped")) == EXIT_FAILED
    assert exit_code(_sync_report(failures=[failure])) == EXIT_FAILED
    refused = PassbackReport(district="d", refusals=[failure])
    refused.finish()
    assert exit_code(refused) == EXIT_ISSUES
