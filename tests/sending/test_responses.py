"""Tests for importer.sending.responses: reading the API's answer bodies."""

from __future__ import annotations

from importer.sending.responses import flatten_errors, snippet


def test_flatten_errors_handles_nesting():
    assert flatten_errors({"lead": {"zip": ["a", "b"]}, "x": None}) == "lead: zip: a; b; x"
    assert flatten_errors(["a", ["b"]]) == "a; b"


def test_snippet_is_one_trimmed_line():
    text = snippet("<p>" + "word " * 100 + "</p>")
    assert len(text) == 200
    assert text.endswith("...")
    assert "\n" not in text
