"""suggest-mapping on the real public lists in tests/data/real: what a careful person would map.

Each list there has a mapping written by hand beside it. The suggestion must pick the same
record id, map no column that is empty and no other CRM's vocabulary, parse, apply, and
validate at least as many rows as the suggestion written before issue 12
(tests/data/suggest_before/, kept as it was written).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import importer
from importer.mapping.apply import apply_mapping
from importer.mapping.load import load_mapping, parse_mapping
from importer.mapping.model import ColumnMapping, FieldSource
from importer.reading.sheet import SourceSheet, read_sheet
from importer.suggest.columns import ERROR_LITERALS
from importer.suggest.draft import suggest_mapping
from tests.helpers import ROOT

REAL = ROOT / "tests" / "data" / "real"
BEFORE = ROOT / "tests" / "data" / "suggest_before"
LISTS = sorted(p for p in REAL.iterdir() if p.suffix in (".csv", ".xlsx", ".xls", ".ods"))
VOCABULARY_FIELDS = ("lead_status", "lead_source", "office_name", "assign_to_email")


def suggestion_for(path: Path) -> tuple[SourceSheet, str, ColumnMapping]:
    """The sheet, the suggestion's text and its parsed mapping, as the CLI would write it."""
    data = read_sheet(path)
    text = suggest_mapping(
        data.columns, data.frame, sheet_name=data.sheet_name, source_name=path.name
    )
    return data, text, parse_mapping(text, f"suggestion for {path.name}")


def plain(source: FieldSource) -> bool:
    """A source suggest-mapping can write: one column or a hash (no default, map or fallback)."""
    one_column = isinstance(source.column, str) and not source.fallbacks
    return (one_column or bool(source.hash)) and not source.value_map and source.default is None


@pytest.mark.parametrize("path", LISTS, ids=[p.stem for p in LISTS])
def test_suggestion_picks_the_record_id_a_person_picked(path: Path) -> None:
    _data, _text, mapping = suggestion_for(path)
    by_hand = load_mapping(path.with_suffix(".yaml"))
    assert mapping.lead["integration_record_id"] == by_hand.lead["integration_record_id"]


@pytest.mark.parametrize("path", LISTS, ids=[p.stem for p in LISTS])
def test_suggestion_maps_the_lead_fields_a_person_mapped(path: Path) -> None:
    # Fields the hand mapping fills with syntax suggest-mapping does not write (a fallback
    # list, map:, a default) are left out of the comparison.
    # So are suggested fields read from columns the hand mapping uses only that way (a
    # fullAddress template over the street, city, state and zip columns).
    _data, _text, mapping = suggestion_for(path)
    by_hand = load_mapping(path.with_suffix(".yaml")).lead
    other = {name for name, source in by_hand.items() if not plain(source)}
    plain_columns = {c for name, s in by_hand.items() if name not in other for c in s.columns}
    other_columns = {c for name in other for c in by_hand[name].columns} - plain_columns
    suggested = {
        name: s
        for name, s in mapping.lead.items()
        if name not in other and not (s.columns and set(s.columns) <= other_columns)
    }
    assert suggested == {name: s for name, s in by_hand.items() if name not in other}


@pytest.mark.parametrize("path", LISTS, ids=[p.stem for p in LISTS])
def test_suggestion_maps_no_empty_column_and_no_foreign_vocabulary(path: Path) -> None:
    data, text, mapping = suggestion_for(path)
    for name, source in mapping.lead.items():
        for column in source.columns:
            cells = data.frame[column].fillna("").astype(str).str.strip()
            filled = cells[(cells != "") & ~cells.isin(ERROR_LITERALS)]
            assert len(filled), f"{name} maps {column}, which is empty on every row"
    # None of these lists' statuses, sources, owners or offices are Enerflo's.
    assert not set(mapping.lead) & set(VOCABULARY_FIELDS)
    unplaced = text.split("# Columns not placed", 1)[-1].splitlines()[1:]
    assert all(": " in line for line in unplaced), "every unplaced column has a reason"


@pytest.mark.parametrize("path", LISTS, ids=[p.stem for p in LISTS])
def test_suggestion_parses_applies_and_validates_no_fewer_rows_than_before(
    path: Path, tmp_path: Path
) -> None:
    data, text, mapping = suggestion_for(path)
    records = apply_mapping(data.frame, mapping, f'sheet "{data.sheet_name}"')
    assert len(records) == len(data.frame)
    suggested = tmp_path / "suggested.yaml"
    suggested.write_text(text, encoding="utf-8")
    after = importer.validate(path, suggested, out=tmp_path / "after.csv")
    before_mapping = BEFORE / f"{path.stem}.yaml"
    if not before_mapping.exists():
        pytest.skip(f"no suggestion from before issue 12 for {path.name}")
    before = importer.validate(path, before_mapping, out=tmp_path / "before.csv")
    assert after.counts.get("valid", 0) >= before.counts.get("valid", 0)


def test_hash_of_email_and_phone_no_longer_makes_distinct_people_duplicates(
    tmp_path: Path,
) -> None:
    # salesforce_contacts rows 4, 17 and 21 have #N/A for both email and mobile: the hash
    # suggested before gave all three one id. The Guid column tells them apart.
    path = REAL / "salesforce_contacts.csv"
    _data, text, mapping = suggestion_for(path)
    suggested = tmp_path / "suggested.yaml"
    suggested.write_text(text, encoding="utf-8")
    after = importer.validate(path, suggested, out=tmp_path / "after.csv")
    before = importer.validate(
        path, BEFORE / "salesforce_contacts.yaml", out=tmp_path / "before.csv"
    )
    assert _duplicates(before.results) == [17, 21]
    assert _duplicates(after.results) == []


def _duplicates(results) -> list[int]:  # type: ignore[no-untyped-def]
    messages = results["import_message"].fillna("").astype(str)
    return [int(row) for row in results.index[messages.str.contains("integration_record_id")]]
