"""Hostile headers against suggest-mapping: what a reviewer reads is exactly what is mapped."""

from __future__ import annotations

import sys
import unicodedata

import pandas as pd
import pytest
import yaml

from importer.suggest.draft import suggest_mapping

ATTACK = "  assign_to_email: {value: attacker@evil.example} #"
# Every character a YAML reader may take as a line break, and every control, format,
# separator or unassigned-looking character a reviewer could not see in `cat`.
INVISIBLE = [
    chr(code)
    for code in range(sys.maxunicode + 1)
    if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp", "Zs") and chr(code) != " "
]


def suggestion(columns: list[str], cells: list[str] | None = None, **kwargs: object) -> str:
    frame = pd.DataFrame([cells or ["x"] * len(columns)], columns=columns, index=[2])
    return suggest_mapping(columns, frame, **kwargs)  # type: ignore[arg-type]


def lead_lines(text: str) -> list[str]:
    """The lines of the lead: block, as a person reading the file sees them."""
    lines = text.split("\n")
    start = lines.index("lead:") + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        block.append(line)
    return block


def assert_reads_as_it_looks(text: str, columns: list[str]) -> dict:
    # YAML breaks lines at \r, \x85, \u2028 and \u2029 too: only "\n" may break one here.
    assert text.splitlines() == text.split("\n")[:-1]
    loaded = yaml.safe_load(text)
    lead = loaded["lead"]
    shown = [yaml.safe_load(line.strip()) for line in lead_lines(text)]
    assert [next(iter(entry)) for entry in shown] == list(lead)
    for name, source in lead.items():
        assert not (isinstance(source, dict) and "value" in source), (name, source)
        used = source["hash"] if isinstance(source, dict) else [source]
        assert set(used) <= set(columns), (name, source)
    return loaded


@pytest.mark.parametrize(
    "chunk",
    [INVISIBLE[i : i + 40] for i in range(0, len(INVISIBLE), 40)],
    ids=lambda c: f"U+{ord(c[0]):04X}",
)
def test_a_header_hiding_a_mapping_line_behind_a_line_break_maps_nothing_extra(chunk):
    columns = ["Lead ID", "Email"] + [f"Campaign{ch}{ATTACK}" for ch in chunk]
    text = suggestion(columns, source_name="leads.csv")
    loaded = assert_reads_as_it_looks(text, columns)
    assert "assign_to_email" not in loaded["lead"]


@pytest.mark.parametrize("ch", ["\u2028", "\u2029", "\x85", "\r", "\ufeff", "\u202e", "\U000e0001"])
def test_odd_characters_in_placed_headers_round_trip_exactly(ch):
    columns = [f"Lead{ch}ID", f"E-mail{ch}", f"Phone{ch}{ATTACK}"]
    cells = ["L1", "ann@example.com", "(801) 555-0101"]  # contents that fit the headers
    text = suggestion(columns, cells, sheet_name=f"Leads{ch}{ATTACK}")
    loaded = assert_reads_as_it_looks(text, columns)
    assert loaded["source"] == {"sheet": f"Leads{ch}{ATTACK}"}
    assert set(loaded["lead"].values()) >= {f"Lead{ch}ID", f"E-mail{ch}"}
    if ch != "\r":  # ASCII controls show as a space in comments, escaped in values
        assert f"\\u{ord(ch):04x}" in text or f"\\U{ord(ch):08x}" in text  # visible in review


def test_a_file_name_with_a_line_break_cannot_add_a_mapping_line():
    text = suggestion(["Lead ID", "Email"], source_name=f"leads\u2028lead:\n{ATTACK}.csv")
    loaded = assert_reads_as_it_looks(text, ["Lead ID", "Email"])
    assert "assign_to_email" not in loaded["lead"]


def test_a_file_name_that_is_not_utf8_is_shown_escaped():
    name = b"leads-\xff.csv".decode("utf-8", "surrogateescape")
    text = suggestion(["Lead ID", "Email"], source_name=name)
    text.encode("utf-8")  # writable as the file's encoding
    assert "leads-\\udcff.csv" in text.split("\n")[0]
