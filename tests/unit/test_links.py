"""Unit: the RFC 8288 ``Link`` header parser and paging-link helpers.

The parser reads what servers send, so it must never raise and must give only strings;
well-formed headers must read back exactly what was written, whatever commas,
semicolons and quotes their targets and parameters contain.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.links import int_param, parse_link_header, resolve_link
from oneroster_client.paging import parse_link_header as reexported

# --- examples -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, {}),
        ("", {}),
        ('<https://h/u?offset=2>; rel="next"', {"next": "https://h/u?offset=2"}),
        ("<https://h/u?offset=2>; rel=next", {"next": "https://h/u?offset=2"}),
        ('<a>; rel="next last"', {"next": "a", "last": "a"}),
        ('<a>; REL="Next"', {"next": "a"}),
        ('<a>; rel="next", <b>; rel="next"', {"next": "a"}),
        ('<a>; rel="prev", <b>; rel="next"', {"prev": "a", "next": "b"}),
        ('<a,b;c>; rel="next"', {"next": "a,b;c"}),
        ('<a>; title="x, y; z"; rel="next"', {"next": "a"}),
        ('<a>; title="say \\"hi\\", rel=prev"; rel="next"', {"next": "a"}),
        ('<a>; rel="next"; rel="prev"', {"next": "a"}),  # only the first rel counts
        ('<a>; title=x, junk, <b>; rel="next"', {"next": "b"}),
        ("<a>", {}),
        ('<a; rel="next"', {}),
        ('rel="next"', {}),
        ('< ?offset=5 >; rel="next"', {"next": "?offset=5"}),
    ],
)
def test_examples(header: str | None, expected: dict[str, str]) -> None:
    assert parse_link_header(header) == expected


def test_the_paging_module_still_exports_the_parser() -> None:
    assert reexported is parse_link_header


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "/ims/oneroster/v1p1/users?offset=100",
            "https://sis.example/ims/oneroster/v1p1/users?offset=100",
        ),
        ("?offset=100", "https://sis.example/ims/oneroster/v1p1/users?offset=100"),
        ("users?offset=100", "https://sis.example/ims/oneroster/v1p1/users?offset=100"),
        ("https://other.example/x", "https://other.example/x"),
        ("//other.example/x", "https://other.example/x"),
    ],
)
def test_resolve_link_against_the_request(target: str, expected: str) -> None:
    request = "https://sis.example/ims/oneroster/v1p1/users?limit=100&offset=0"
    assert resolve_link(target, request) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/u?offset=40&limit=20", 40),
        ("/u?limit=20", None),
        ("/u?offset=abc", None),
        ("/u?offset=-3", -3),
        ("/u?offset=" + "9" * 5000, None),
        ("http://[bad/u?offset=1", None),
    ],
)
def test_int_param(url: str, expected: int | None) -> None:
    assert int_param(url, "offset") == expected


# --- properties -----------------------------------------------------------------------------

LINK_ALPHABET = st.sampled_from([*'<>;,="\\ \trelnxtp?/&:', "next", "rel", "prev"])


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.lists(LINK_ALPHABET, max_size=60).map("".join)))
def test_any_text_gives_a_dict_of_strings(header: str) -> None:
    links = parse_link_header(header)
    assert isinstance(links, dict)
    for relation, target in links.items():
        assert isinstance(relation, str) and isinstance(target, str)
        assert relation == relation.lower() and relation.strip() and " " not in relation


@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
def test_anything_that_is_not_text_gives_nothing(value: object) -> None:
    assert parse_link_header(value) == {}


# Targets: URI-reference characters, including the separators ',' ';' '=' '?' '&'.
TARGETS = st.text(
    alphabet=st.sampled_from(list("abcXYZ019-._~:/?#[]@!$&'()*+,;=%")), min_size=1, max_size=40
).filter(lambda t: t.strip() == t)
RELATIONS = st.lists(
    st.sampled_from(["next", "prev", "first", "last", "self", "NEXT", "Last"]),
    min_size=1,
    max_size=3,
)
QUOTABLE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def link_values(draw: st.DrawFn) -> tuple[str, list[str], str]:
    target = draw(TARGETS)
    relations = draw(RELATIONS)
    params = [f"rel={_quoted(' '.join(relations))}"]
    if draw(st.booleans()):
        params.insert(draw(st.integers(0, 1)), f"title={_quoted(draw(QUOTABLE))}")
    if draw(st.booleans()):
        params.append("type=application/json")
    space = draw(st.sampled_from(["", " ", "  "]))
    return target, relations, f"<{target}>" + "".join(f";{space}{p}" for p in params)


@settings(max_examples=200, deadline=None)
@given(st.lists(link_values(), min_size=1, max_size=5), st.sampled_from([",", ", ", " , "]))
def test_well_formed_headers_round_trip(
    links: list[tuple[str, list[str], str]], separator: str
) -> None:
    header = separator.join(value for _, _, value in links)
    expected: dict[str, str] = {}
    for target, relations, _ in links:
        for relation in relations:
            expected.setdefault(relation.lower(), target)
    assert parse_link_header(header) == expected


@given(TARGETS, st.sampled_from(["next", "prev", "last"]))
def test_a_bare_rel_token_reads_like_a_quoted_one(target: str, relation: str) -> None:
    assert parse_link_header(f"<{target}>; rel={relation}") == parse_link_header(
        f'<{target}>; rel="{relation}"'
    )
