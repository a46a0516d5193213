"""SkywardSettings: validation a district admin understands, every URL form, every label style."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import settings as settings_profile
from hypothesis import strategies as st

from oneroster_client.errors import ConfigurationError
from skyward_adapter import DEFAULT_SCOPES, SkywardSettings
from skyward_adapter.settings import PASSBACK_SCOPES

SECRET = "s3cr3t-value-never-shown"
TOKEN = "pre-issued-access-token-value"
QMLATIV = "https://springisd.skyward.com/springisdAPI"
TOKEN_URL = "https://springisd.skyward.com/oauth/token"


def settings(**values: object) -> SkywardSettings:
    options: dict[str, object] = {
        "base_url": QMLATIV,
        "key": "springisd-key",
        "secret": SECRET,
        "token_url": TOKEN_URL,
    }
    options.update(values)
    return SkywardSettings(**options)  # type: ignore[arg-type]


def problems(**values: object) -> str:
    with pytest.raises(ConfigurationError) as caught:
        settings(**values)
    return str(caught.value)


# --- base URL forms --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "oneroster", "form"),
    [
        (QMLATIV, QMLATIV + "/ims/oneroster/v1p1", "qmlativ"),
        (QMLATIV + "/", QMLATIV + "/ims/oneroster/v1p1", "qmlativ"),
        ("  " + QMLATIV + "//  ", QMLATIV + "/ims/oneroster/v1p1", "qmlativ"),
        (QMLATIV + "/ims/oneroster/v1p1", QMLATIV + "/ims/oneroster/v1p1", "qmlativ"),
        (QMLATIV + "/ims/oneroster/v1p1/", QMLATIV + "/ims/oneroster/v1p1", "qmlativ"),
        (QMLATIV + "/IMS/OneRoster/v1p1", QMLATIV + "/ims/oneroster/v1p1", "qmlativ"),
        (QMLATIV + "/ims/oneroster", QMLATIV + "/ims/oneroster/v1p1", "qmlativ"),
        (
            "https://skyward.iscorp.com/SPRINGISD",
            "https://skyward.iscorp.com/SPRINGISD/ims/oneroster/v1p1",
            "qmlativ-iscorp",
        ),
        (
            "https://skyward.iscorp.com/SPRINGISD/ims/oneroster/v1p1",
            "https://skyward.iscorp.com/SPRINGISD/ims/oneroster/v1p1",
            "qmlativ-iscorp",
        ),
        (
            "https://skyward.springisd.org/api",
            "https://skyward.springisd.org/api/ims/oneroster/v1p1",
            "sms",
        ),
        (
            "https://skyward.springisd.org/api/ims/oneroster/v1p1///",
            "https://skyward.springisd.org/api/ims/oneroster/v1p1",
            "sms",
        ),
        (
            "HTTPS://sis.example.org:8443/api",
            "https://sis.example.org:8443/api/ims/oneroster/v1p1",
            "sms",
        ),
        ("https://sis.example.org", "https://sis.example.org/ims/oneroster/v1p1", "unknown"),
        (
            "http://127.0.0.1:8765/springisdAPI",
            "http://127.0.0.1:8765/springisdAPI/ims/oneroster/v1p1",
            "loopback",
        ),
    ],
)
def test_every_base_url_form_gives_the_oneroster_1_1_url(
    given: str, oneroster: str, form: str
) -> None:
    chosen = settings(base_url=given)
    assert chosen.oneroster_base_url == oneroster
    assert chosen.oneroster_base_url.endswith("/ims/oneroster/v1p1")
    assert chosen.url_form == form
    assert not chosen.base_url.endswith("/")
    assert chosen.api_root + "/ims/oneroster/v1p1" == oneroster


def test_a_one_point_two_url_is_refused_with_a_reason() -> None:
    message = problems(base_url=QMLATIV + "/ims/oneroster/v1p2")
    assert "OneRoster 1.2" in message
    assert "v1p1" in message


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (QMLATIV + "?customer=springisd", "query string"),
        (QMLATIV + "#top", "fragment"),
        ("http://springisd.skyward.com/springisdAPI", "uses plain http"),
        ("springisd.skyward.com/springisdAPI", "must be an absolute http(s) URL"),
        ("", "is required"),
        ("   ", "is required"),
        ("https://springisd.skyward.com/springisd API", "space"),
        (QMLATIV + "/ims/oneroster/v1p1/users", "'/users'"),
        (QMLATIV + "/ims/oneroster/v1p0", "v1p0"),
        ("https://admin:pw@springisd.skyward.com/springisdAPI", "carries credentials"),
        ("ftp://springisd.skyward.com/springisdAPI", "must be an absolute http(s) URL"),
    ],
)
def test_bad_base_urls_are_explained(given: str, expected: str) -> None:
    message = problems(base_url=given)
    assert "API Base URL" in message
    assert expected in message


def test_plain_http_is_accepted_to_loopback_and_elsewhere_only_when_allowed() -> None:
    loopback = settings(
        base_url="http://127.0.0.1:8080/springisdAPI",
        token_url="http://127.0.0.1:8080/oauth/token",
    )
    assert loopback.oneroster_base_url == "http://127.0.0.1:8080/springisdAPI/ims/oneroster/v1p1"
    remote = {
        "base_url": "http://sis.test.example/springisdAPI",
        "token_url": "http://sis.test.example/oauth/token",
    }
    message = problems(**remote)
    assert message.count("uses plain http") == 2
    assert "allow_insecure_http=True" in message
    assert settings(**remote, allow_insecure_http=True).allow_insecure_http is True


def test_the_old_allow_http_keyword_is_gone() -> None:
    with pytest.raises(TypeError, match="allow_http"):
        SkywardSettings(base_url=QMLATIV, key="k", secret=SECRET, allow_http=True)  # type: ignore[call-arg]
    assert not hasattr(settings(allow_insecure_http=True), "allow_http")


# --- credentials inside URLs never reach a message or a repr ----------------------------------


@pytest.mark.parametrize(
    ("field", "url", "hidden"),
    [
        (
            "base_url",
            "https://admin:hunter2-pass@springisd.skyward.com/springisdAPI",
            "hunter2-pass",
        ),
        ("base_url", "http://admin:hunter2-pass@sis.test.example/api", "hunter2-pass"),
        ("base_url", QMLATIV + "?client_secret=leaked-secret-123", "leaked-secret-123"),
        ("base_url", QMLATIV + "?key=leaked-key-123456", "leaked-key-123456"),
        ("base_url", QMLATIV + "?access_token=leaked-token-123", "leaked-token-123"),
        ("token_url", TOKEN_URL + "?client_secret=leaked-secret-123", "leaked-secret-123"),
        ("token_url", TOKEN_URL + "?key=leaked-key-123456", "leaked-key-123456"),
        ("token_url", "https://svc:hunter2-pass@springisd.skyward.com/oauth/token", "hunter2-pass"),
        ("token_url", "http://svc:hunter2-pass@sis.test.example/oauth/token", "hunter2-pass"),
        ("token_url", "https://svc:hunter2-pass@springisd.skyward.com/oauth token", "hunter2-pass"),
    ],
)
def test_credentials_inside_urls_are_refused_without_showing_them(
    field: str, url: str, hidden: str
) -> None:
    message = problems(**{field: url})
    assert hidden not in message
    assert ("API Base URL" if field == "base_url" else "API Token URL") in message
    with pytest.raises(ConfigurationError) as caught:
        SkywardSettings.from_env(
            {
                "SKYWARD_BASE_URL": url if field == "base_url" else QMLATIV,
                "SKYWARD_KEY": "springisd-key",
                "SKYWARD_SECRET": SECRET,
                "SKYWARD_TOKEN_URL": url if field == "token_url" else TOKEN_URL,
            }
        )
    assert hidden not in str(caught.value)
    assert "SKYWARD_" in str(caught.value)


def test_a_token_url_may_carry_an_ordinary_query() -> None:
    chosen = settings(token_url=TOKEN_URL + "?tenant=springisd")
    assert chosen.token_url == TOKEN_URL + "?tenant=springisd"
    assert "tenant=springisd" in repr(chosen)


def test_the_repr_masks_the_key_with_the_shared_helper() -> None:
    from oneroster_client._redact import mask

    for key in ("springisd-integration-key", "short"):
        chosen = settings(key=key)
        assert f"key={mask(key)!r}" in repr(chosen)
        assert f"Key: {mask(key)}" in chosen.describe()
        assert key not in repr(chosen)


# --- SIS name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Skyward ", "'Skyward ', which has a trailing space"),
        (" Skyward", "' Skyward', which has a leading space"),
        ("Skyward  ", "2 trailing spaces"),
        ("skyward", "'skyward', which has different capitalisation"),
        ("SKYWARD", "different capitalisation"),
        (" skyward ", "a leading space and a trailing space and different capitalisation"),
        ("Skyward SMS", "got 'Skyward SMS'"),
        ("", "it is empty"),
    ],
)
def test_the_sis_name_must_be_exactly_skyward(given: str, expected: str) -> None:
    message = problems(sis_name=given)
    assert "SIS name must be exactly 'Skyward'" in message
    assert "case and spaces matter" in message
    assert expected in message


def test_the_sis_name_defaults_to_skyward() -> None:
    assert settings().sis_name == "Skyward"


# --- token URL, credentials, auth modes --------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://springisd.skyward.com/oauth/token", "uses plain http"),
        ("/oauth/token", "must be an absolute http(s) URL"),
        ("springisd.skyward.com/oauth/token", "must be an absolute http(s) URL"),
        (TOKEN_URL + "#x", "fragment"),
    ],
)
def test_bad_token_urls_are_explained(given: str, expected: str) -> None:
    message = problems(token_url=given)
    assert "API Token URL" in message
    assert expected in message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"secret": None}, "Secret is missing"),
        ({"key": ""}, "Key is missing"),
        ({"key": None, "secret": "  "}, "Key and Secret are missing"),
        ({"auth": "oauth1", "secret": None}, "Secret is missing"),
    ],
)
def test_missing_credentials_are_named(values: dict[str, object], expected: str) -> None:
    message = problems(**values)
    assert expected in message
    assert "Integration Access" in message


def test_oauth2_needs_a_token_url() -> None:
    assert "API Token URL is required for OAuth 2" in problems(auth="oauth2", token_url=None)


def test_token_auth_needs_an_access_token() -> None:
    assert "Access token is missing" in problems(auth="token", key=None, secret=None)


def test_unknown_auth_is_refused() -> None:
    assert "auto, oauth2, oauth1 or token" in problems(auth="kerberos")


@pytest.mark.parametrize(
    ("values", "mode"),
    [
        ({}, "oauth2"),
        ({"token_url": None}, "oauth1"),
        ({"auth": "oauth1"}, "oauth1"),
        ({"auth": "OAuth 2"}, "oauth2"),
        ({"auth": "Key and secret", "token_url": None}, "oauth1"),
        ({"key": None, "secret": None, "token_url": None, "access_token": TOKEN}, "token"),
        ({"auth": "Access token", "key": None, "secret": None, "access_token": TOKEN}, "token"),
    ],
)
def test_auto_and_explicit_auth_modes(values: dict[str, object], mode: str) -> None:
    assert settings(**values).auth_mode == mode


def test_an_access_token_pasted_with_bearer_is_accepted() -> None:
    chosen = settings(auth="token", access_token=f"Bearer {TOKEN}\n")
    assert chosen.access_token == TOKEN
    assert "without spaces" in problems(auth="token", access_token="two words")


def test_credentials_lose_copied_whitespace() -> None:
    chosen = settings(key="  springisd-key\n", secret=f"{SECRET}\n")
    assert chosen.key == "springisd-key"
    assert chosen.secret == SECRET


def test_all_problems_come_in_one_message() -> None:
    message = problems(
        sis_name="skyward",
        base_url="http://x.example.org/api?x=1",
        secret=None,
        token_url="ftp://x",
        page_size=0,
    )
    lines = [line for line in message.splitlines() if line.startswith("  - ")]
    assert len(lines) == 5  # the URL: one problem at a time, from the shared URL check
    assert message.startswith("Skyward settings need attention:")


# --- scopes and page size ------------------------------------------------------------------


def test_scopes_default_to_rostering_and_demographics() -> None:
    assert settings().scopes == DEFAULT_SCOPES
    assert DEFAULT_SCOPES == (
        "https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly",
        "https://purl.imsglobal.org/spec/or/v1p1/scope/roster-demographics.readonly",
    )
    assert settings(scopes="a b").scopes == ("a", "b")
    assert "OneRoster 1.2 scope" in problems(
        scopes=["https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly"]
    )


@pytest.mark.parametrize(("given", "size"), [(None, 1000), (500, 500), ("750", 750)])
def test_page_size(given: object, size: int) -> None:
    chosen = settings() if given is None else settings(page_size=given)
    assert chosen.page_size == size


@pytest.mark.parametrize("given", [0, -5, 10_001, "abc", True])
def test_bad_page_sizes_are_refused(given: object) -> None:
    assert "Page size must be a whole number from 1 to 10,000" in problems(page_size=given)


# --- from_dict: Buzz labels and snake_case ---------------------------------------------------


def test_from_dict_reads_buzz_labels() -> None:
    chosen = SkywardSettings.from_dict(
        {
            "SIS Name": "Skyward",
            "API Base URL": QMLATIV + "/",
            "Key": "springisd-key",
            "Secret": SECRET,
            "API Token URL": TOKEN_URL,
        }
    )
    assert chosen.oneroster_base_url == QMLATIV + "/ims/oneroster/v1p1"
    assert chosen.auth_mode == "oauth2"
    assert chosen.secret == SECRET


def test_from_dict_reads_snake_case_and_other_spellings() -> None:
    chosen = SkywardSettings.from_dict(
        {
            "sis_name": "Skyward",
            "api_base_url": QMLATIV,
            "client_id": "springisd-key",
            "clientSecret": SECRET,
            "token_url": "",
            "page_size": "500",
            "scopes": "x y",
        }
    )
    assert chosen.token_url is None
    assert chosen.auth_mode == "oauth1"
    assert chosen.page_size == 500
    assert chosen.scopes == ("x", "y")


def test_from_dict_access_token_method() -> None:
    chosen = SkywardSettings.from_dict(
        {
            "SIS name": "Skyward",
            "API Base URL": QMLATIV,
            "Authentication method": "Access token",
            "Access token": TOKEN,
        }
    )
    assert chosen.auth_mode == "token"


def test_from_dict_names_settings_the_way_they_were_given() -> None:
    with pytest.raises(ConfigurationError) as caught:
        SkywardSettings.from_dict(
            {
                "SIS Name": "Skyward ",
                "API Base URL": QMLATIV + "/ims/oneroster/v1p2",
                "Key": "springisd-key",
                "Favourite colour": "blue",
            }
        )
    message = str(caught.value)
    assert "'SIS Name' must be exactly 'Skyward'" in message
    assert "'API Base URL' points at OneRoster 1.2" in message
    assert "Secret is missing" in message
    assert "unknown setting 'Favourite colour'" in message


def test_from_dict_refuses_one_setting_given_twice_differently() -> None:
    with pytest.raises(ConfigurationError, match="same setting with different values"):
        SkywardSettings.from_dict(
            {"API Base URL": QMLATIV, "base_url": "https://other.skyward.com/otherAPI"}
        )


def test_from_dict_without_a_base_url() -> None:
    with pytest.raises(ConfigurationError, match="API Base URL is required"):
        SkywardSettings.from_dict({"Key": "k", "Secret": "s"})


# --- from_env --------------------------------------------------------------------------------


def test_from_env_reads_every_variable() -> None:
    environ = {
        "SKYWARD_BASE_URL": "https://skyward.springisd.org/api",
        "SKYWARD_KEY": "springisd-key",
        "SKYWARD_SECRET": SECRET,
        "SKYWARD_TOKEN_URL": "https://skyward.springisd.org/api/oauth/token",
        "SKYWARD_AUTH": "oauth2",
        "SKYWARD_SCOPES": "scope-a  scope-b",
        "SKYWARD_PAGE_SIZE": "500",
        "UNRELATED": "x",
    }
    chosen = SkywardSettings.from_env(environ)
    assert chosen.sis_name == "Skyward"
    assert chosen.url_form == "sms"
    assert chosen.oneroster_base_url == "https://skyward.springisd.org/api/ims/oneroster/v1p1"
    assert chosen.auth_mode == "oauth2"
    assert chosen.scopes == ("scope-a", "scope-b")
    assert chosen.page_size == 500


def test_from_env_access_token_and_custom_prefix() -> None:
    chosen = SkywardSettings.from_env(
        {"SW_BASE_URL": QMLATIV, "SW_ACCESS_TOKEN": TOKEN, "SW_SCOPES": ""}, prefix="SW_"
    )
    assert chosen.auth_mode == "token"
    assert chosen.scopes == DEFAULT_SCOPES


def test_from_env_names_the_variables() -> None:
    with pytest.raises(ConfigurationError) as caught:
        SkywardSettings.from_env(
            {"SKYWARD_SIS_NAME": "Skyward ", "SKYWARD_KEY": "k", "SKYWARD_PAGE_SIZE": "lots"}
        )
    message = str(caught.value)
    assert "API Base URL (SKYWARD_BASE_URL) is required" in message
    assert "SIS name (SKYWARD_SIS_NAME) must be exactly 'Skyward'" in message
    assert "Secret (SKYWARD_SECRET) is missing" in message
    assert "Page size (SKYWARD_PAGE_SIZE)" in message


def test_from_env_allow_insecure_http() -> None:
    environ = {
        "SKYWARD_BASE_URL": "http://sis.test.example/springisdAPI",
        "SKYWARD_KEY": "k",
        "SKYWARD_SECRET": "s",
    }
    assert "uses plain http" in _env_problems(environ)
    chosen = SkywardSettings.from_env({**environ, "SKYWARD_ALLOW_INSECURE_HTTP": "true"})
    assert chosen.allow_insecure_http is True
    message = _env_problems({**environ, "SKYWARD_ALLOW_HTTP": "true"})
    assert "SKYWARD_ALLOW_HTTP was renamed to SKYWARD_ALLOW_INSECURE_HTTP" in message


def test_from_dict_names_the_renamed_allow_http() -> None:
    with pytest.raises(
        ConfigurationError, match="'allow_http' was renamed to 'allow_insecure_http'"
    ):
        SkywardSettings.from_dict({"API Base URL": QMLATIV, "Key": "k", "allow_http": True})
    chosen = SkywardSettings.from_dict(
        {
            "API Base URL": "http://sis.test.example/api",
            "Key": "k",
            "Secret": "s",
            "allow_insecure_http": "yes",
        }
    )
    assert chosen.allow_insecure_http is True


def _env_problems(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as caught:
        SkywardSettings.from_env(environ)
    return str(caught.value)


def test_from_env_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYWARD_BASE_URL", QMLATIV)
    monkeypatch.setenv("SKYWARD_KEY", "k")
    monkeypatch.setenv("SKYWARD_SECRET", SECRET)
    monkeypatch.delenv("SKYWARD_TOKEN_URL", raising=False)
    assert SkywardSettings.from_env().auth_mode == "oauth1"


# --- never showing secrets -------------------------------------------------------------------


def test_repr_str_and_describe_hide_secrets() -> None:
    chosen = settings(access_token=TOKEN, key="springisd-integration-key")
    for text in (repr(chosen), str(chosen), "\n".join(chosen.describe())):
        assert SECRET not in text
        assert TOKEN not in text
        assert "springisd-integration-key" not in text
    assert "secret='***'" in repr(chosen)
    assert "key='sp…ey'" in repr(chosen)


def test_errors_never_show_secrets() -> None:
    message = problems(base_url="nope", access_token=TOKEN, auth="token", secret=SECRET)
    assert SECRET not in message
    assert TOKEN not in message


def test_settings_are_frozen_and_evolve_revalidates() -> None:
    chosen = settings()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        chosen.key = "other"  # type: ignore[misc]
    assert attrs.evolve(chosen, page_size=200).page_size == 200
    with pytest.raises(ConfigurationError):
        attrs.evolve(chosen, sis_name="Skyward ")


_PASSWORDS = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters="-_.~!$*"),
    min_size=6,
    max_size=30,
)


@settings_profile(max_examples=60, deadline=None)
@given(password=_PASSWORDS, secret_name=st.sampled_from(["client_secret", "key", "access_token"]))
def test_no_url_credential_reaches_the_message_or_the_repr(password: str, secret_name: str) -> None:
    password = "Pw~" + password  # so it cannot be a piece of the rest of the URL
    for field, url in (
        ("base_url", f"http://admin:{password}@sis.test.example/api"),
        ("token_url", f"https://svc:{password}@springisd.skyward.com/oauth/token"),
        ("token_url", f"{TOKEN_URL}?{secret_name}={password}"),
        ("base_url", f"{QMLATIV}?{secret_name}={password}"),
    ):
        with pytest.raises(ConfigurationError) as caught:
            settings(**{field: url})
        assert password not in str(caught.value)


# --- grade pass back ---------------------------------------------------------------------------

GRADEBOOK = "https://purl.imsglobal.org/spec/or/v1p1/scope/gradebook."


def test_passback_is_off_by_default_and_asks_for_read_scopes_only() -> None:
    chosen = settings()
    assert chosen.passback is False
    assert chosen.requested_scopes == DEFAULT_SCOPES
    assert "Grade pass back: off (read only)" in chosen.describe()
    assert "passback=False" in repr(chosen)


def test_passback_adds_the_gradebook_scopes() -> None:
    chosen = settings(passback=True)
    assert PASSBACK_SCOPES == (
        GRADEBOOK + "readonly",
        GRADEBOOK + "createput",
        GRADEBOOK + "delete",
    )
    assert chosen.scopes == DEFAULT_SCOPES  # what the admin set stays as set
    assert chosen.requested_scopes == DEFAULT_SCOPES + PASSBACK_SCOPES
    assert "Grade pass back: on (gradebook scopes requested)" in chosen.describe()
    scopes_line = next(line for line in chosen.describe() if line.startswith("Scopes: "))
    assert GRADEBOOK + "createput" in scopes_line


def test_passback_does_not_repeat_a_scope_already_given() -> None:
    given_scopes = (GRADEBOOK + "createput", DEFAULT_SCOPES[0])
    chosen = settings(passback=True, scopes=given_scopes)
    assert chosen.requested_scopes == (
        GRADEBOOK + "createput",
        DEFAULT_SCOPES[0],
        GRADEBOOK + "readonly",
        GRADEBOOK + "delete",
    )


def test_no_scopes_requested_stays_so_with_passback() -> None:
    # An empty scope list lets the token endpoint grant what the Integration Access has.
    assert settings(passback=True, scopes=()).requested_scopes == ()


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [("1", True), ("true", True), ("Yes", True), ("on", True), ("0", False), ("off", False)],
)
def test_from_env_passback(given_value: str, expected: bool) -> None:
    environ = {"SKYWARD_BASE_URL": QMLATIV, "SKYWARD_ACCESS_TOKEN": TOKEN}
    chosen = SkywardSettings.from_env({**environ, "SKYWARD_PASSBACK": given_value})
    assert chosen.passback is expected
    assert SkywardSettings.from_env(environ).passback is False


@pytest.mark.parametrize("label", ["passback", "Grade pass back", "allow_grade_passback"])
def test_from_dict_passback(label: str) -> None:
    chosen = SkywardSettings.from_dict(
        {"API Base URL": QMLATIV, "Access token": TOKEN, label: "yes"}
    )
    assert chosen.passback is True


def test_a_passback_value_that_is_not_yes_or_no_is_named() -> None:
    with pytest.raises(ConfigurationError) as caught:
        SkywardSettings.from_env(
            {
                "SKYWARD_BASE_URL": QMLATIV,
                "SKYWARD_ACCESS_TOKEN": TOKEN,
                "SKYWARD_PASSBACK": "maybe",
            }
        )
    assert "Grade pass back (passback) (SKYWARD_PASSBACK) must be true or false" in str(
        caught.value
    )
    assert "'maybe'" in str(caught.value)
    assert "'Passback' must be true or false" in problems_from_dict({"Passback": 2})


def problems_from_dict(extra: dict[str, object]) -> str:
    with pytest.raises(ConfigurationError) as caught:
        SkywardSettings.from_dict({"API Base URL": QMLATIV, "Access token": TOKEN, **extra})
    return str(caught.value)
