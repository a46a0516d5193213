"""Properties of the recorder's scrubbing for any vendor data: nothing kept, stable, consistent."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from skyward_adapter import SkywardSettings
from skyward_adapter.recording import _VOCABULARY, _Scrubber

SETTINGS = SkywardSettings(
    base_url="https://springisd.skyward.com/springisdAPI",
    key="springisd-property-key",
    secret="property-secret-value",
    token_url="https://springisd.skyward.com/oauth/token",
)

# Vendor field names and free text: anything but the fields the recorder knows.
KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzXYZ.", min_size=3, max_size=12).map(
    lambda key: "vendor" + key
)
TEXT = st.text(min_size=4, max_size=40).filter(lambda text: text.strip() != "")
VALUES: st.SearchStrategy[Any] = st.recursive(
    TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
RECORDS = st.fixed_dictionaries(
    {"sourcedId": st.just("ISD123-usr-1"), "status": st.just("active")},
    optional={
        "title": TEXT,
        "location": TEXT,
        "comment": TEXT,
        "metadata": st.dictionaries(KEYS, VALUES, max_size=4),
    },
).flatmap(
    lambda base: st.dictionaries(KEYS, VALUES, max_size=3).map(lambda extra: {**base, **extra})
)


def strings(item: Any) -> list[str]:
    if isinstance(item, dict):
        return [s for value in item.values() for s in strings(value)]
    if isinstance(item, list):
        return [s for value in item for s in strings(value)]
    return [item] if isinstance(item, str) else []


def scrubber(pseudonymise_ids: bool = False) -> _Scrubber:
    return _Scrubber(
        SETTINGS, extra_secrets=(), pii=True, pseudonymise_ids=pseudonymise_ids, key=b"k" * 32
    )


@settings(max_examples=150, deadline=None)
@given(record=RECORDS)
def test_no_free_text_survives_and_scrubbing_twice_changes_nothing(record: dict[str, Any]) -> None:
    scrub = scrubber()
    once = scrub.scrub_json({"user": record})
    kept = {"ISD123-usr-1", "active"}
    for original in strings(record):
        if original not in kept:
            assert original not in strings(once)
    assert scrub.scrub_json(once) == once  # vcrpy filters a request again: idempotent
    assert json.loads(scrub.scrub_text(json.dumps({"user": record}), "application/json")) == once


@settings(max_examples=100, deadline=None)
@given(value=TEXT, first=KEYS, second=KEYS)
def test_one_value_gets_one_pseudonym_wherever_it_is(value: str, first: str, second: str) -> None:
    scrub = scrubber(pseudonymise_ids=True)
    a = scrub.scrub_json({"metadata": {first: value}, "title": value})
    b = scrub.scrub_json({second: [value], "comment": value})
    pseudonyms = {a["metadata"][first], a["title"], b[second][0], b["comment"]}
    assert len(pseudonyms) == 1
    assert value not in pseudonyms


@settings(max_examples=100, deadline=None)
@given(
    word=st.from_regex(r"[A-Z][a-z]{3,10}", fullmatch=True).filter(
        lambda word: word.lower() not in _VOCABULARY  # OneRoster terms ("Class") are kept
    )
)
def test_free_text_keeps_its_lower_case_words_and_replaces_names(word: str) -> None:
    scrub = scrubber()
    text = scrub.free_text(f"student {word} was not found")
    assert text.startswith("student ") and text.endswith(" was not found")
    assert word not in text.split()
    assert scrub.free_text(text) == text
