"""Issue 20: the parsed filter (`Query`) and what the store reads (`Listing`) share one set of filter fields
(`JobFilter`): a token a Query parses reaches the store, and each one makes the filter non-empty."""

from __future__ import annotations

from dataclasses import fields

import pytest

from jobtui.listing import JobFilter
from jobtui.query import Query

TOKENS = ["status:running", "!status:failed", "type:demo", "!type:x", "word", "!other", "label:k=v", "!label:k2",
          "queue:gpu", "!queue:cpu", "stage:fetch", "!stage:upload"]


@pytest.mark.parametrize("token", TOKENS)
def test_each_token_narrows_and_reaches_the_listing(token: str) -> None:
    query = Query.parse(token)
    assert not query.problems and not query.empty, token
    listing = query.listing()
    assert not listing.empty
    assert {f.name: getattr(listing, f.name) for f in fields(JobFilter)} == {
        f.name: getattr(query, f.name) for f in fields(JobFilter)}


def test_every_filter_field_is_set_by_some_token() -> None:
    query = Query.parse(" ".join(TOKENS))
    unset = [f.name for f in fields(JobFilter) if getattr(query, f.name) in (None, (), frozenset())]
    assert unset == [], "a filter field no token sets (the parser and the listing drifted apart)"
    assert Query.parse("").empty and Query.parse("").listing().empty
