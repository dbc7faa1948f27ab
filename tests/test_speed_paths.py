"""Fast paths give exactly what the general path gives: each is compared with the plain
per-cell code it stands in for, on generated awkward cells and on the real lists."""

from __future__ import annotations

import csv
import ctypes
import io
import random
import re
import socket
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

import importer
from importer import cli, syntax, usps
from importer.mapping import apply as apply_module
from importer.mapping.apply import (
    _Cells,
    _render_by_filled_parts,
    _render_part_by_part,
    hash_ids,
    render_template,
    template_layout,
)
from importer.reading.sheet import read_sheet
from importer.results import write
from importer.results.write import FORMULA_STARTS, _csv_cells, _csv_line, _prefixed
from importer.sending.sender import LeadSender, SenderConfig
from importer.sending.transport import Transport
from importer.validation import address as ad
from importer.validation import canonical, leads, phones
from importer.validation import normalize as nz
from importer.validation.canonical import canonical_cells
from tests.hostile import RawServer, answer, read_request

CREATED = b'{"result": "success", "data": {"msg": "Lead Created", "lead": {"id": 7}}}'

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "data" / "real"
# Every real list beside its mapping, and the samples.
REAL_LISTS = [
    *((source, source.with_suffix(".yaml")) for source in sorted(REAL.glob("*.csv"))),
    *((source, source.with_suffix(".yaml")) for source in sorted(REAL.glob("*.xlsx"))),
    (ROOT / "sample_data" / "leads.csv", ROOT / "mappings" / "sample.yaml"),
]
# Pieces of cells that each path treats specially somewhere: delimiters, quotes, line
# breaks, NUL (the separator the fast paths join columns with), formula starts, spaces of
# several kinds, letters outside ASCII and outside the BMP.
PIECES = [
    ",", '"', "\r", "\n", "\r\n", "\x00", "'", "=", "+", "-", "@", "\t", " ", "\xa0",
    "\u2028", "\x1f", "é", "😀", "a", "Z", "1", ";", "#", "x",
]  # fmt: skip


def awkward_cells(
    rng: random.Random, count: int, longest: int = 5, pieces: list[str] = PIECES
) -> list[str]:
    return ["".join(rng.choices(pieces, k=rng.randint(0, longest))) for _ in range(count)]


def read_raw(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


# -- the results csv ------------------------------------------------------------------------


def neutralized_one_by_one(cells: list[str]) -> list[str]:
    return ["'" + v if v.startswith(FORMULA_STARTS) else v for v in cells]


def csv_writer_text(header: list[str] | None, columns: list[list[str]]) -> str:
    """The general path: each cell neutralized on its own, then csv.writer."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header is not None:
        writer.writerow(neutralized_one_by_one(header))
    writer.writerows(zip(*(neutralized_one_by_one(c) for c in columns), strict=True))
    return buffer.getvalue()


def test_csv_rows_are_the_bytes_csv_writer_writes_for_awkward_cells() -> None:
    rng = random.Random(7)
    for _ in range(300):
        columns = [awkward_cells(rng, 6) for _ in range(rng.randint(2, 5))]
        expected = csv_writer_text(None, columns)
        fast = "".join(map(_csv_line, zip(*map(_csv_cells, columns), strict=True)))
        assert fast == expected, columns


def test_csv_cells_of_plain_columns_are_the_same_list() -> None:
    cells = ["L1", "Ada", "84045", ""]

    assert _csv_cells(cells) is cells


@pytest.mark.parametrize("count", [0, 1, 2, 50])
def test_neutralizing_by_one_search_per_start_marks_the_cells_a_loop_marks(count: int) -> None:
    rng = random.Random(count)
    for _ in range(300):
        cells = awkward_cells(rng, count)
        assert _prefixed(cells, FORMULA_STARTS, add=True) == neutralized_one_by_one(cells)
        unmarked = [v[1:] if v.startswith("'") else v for v in cells]
        assert _prefixed(cells, ("'",), add=False) == unmarked


@pytest.mark.parametrize(
    ("source", "mapping"), REAL_LISTS, ids=[source.name for source, _ in REAL_LISTS]
)
def test_results_csv_of_a_real_list_is_what_csv_writer_writes(
    tmp_path: Path, source: Path, mapping: Path
) -> None:
    out = tmp_path / "results.csv"

    report = importer.validate(source, mapping, out=out)

    results = report.results
    columns = [results[c].astype(object).tolist() for c in results.columns]
    assert read_raw(out) == "\ufeff" + csv_writer_text(list(results.columns), columns)


@pytest.mark.parametrize("block", [7, 1 << 16])
def test_results_csv_of_awkward_cells_is_what_csv_writer_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(write, "_CSV_BLOCK", block)  # rows written at a time
    rng = random.Random(11)
    header = ["Lead ID", "Zip", "Notes", "=Formula", "Spaced"]
    in_a_file = [piece for piece in PIECES if piece != "\x00"]  # the reader refuses NUL
    rows = [[f"L{i}", *awkward_cells(rng, len(header) - 1, pieces=in_a_file)] for i in range(400)]
    source = tmp_path / "leads.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("version: 1\nlead:\n  integration_record_id: Lead ID\n  zip: Zip\n")
    out = tmp_path / "results.csv"

    report = importer.validate(source, mapping, out=out)

    results = report.results
    columns = [results[c].astype(object).tolist() for c in results.columns]
    assert read_raw(out) == "\ufeff" + csv_writer_text(list(results.columns), columns)
    assert pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig").shape[0] == 400


# -- validation: trimming, the email rule ---------------------------------------------------

EMAIL_PIECES = [
    "a", "Z", "k", "0", "@", "@", ".", ".", "-", "_", "+", "'", "!", "~", " ", "ſ", "\u212a",
    "é", "İ", "ı", "com", "CO", "x.y", "@b.c", "..",
]  # fmt: skip


def real_cells() -> list[str]:
    """Every cell of every real list, as read."""
    cells: list[str] = []
    for source, _ in REAL_LISTS:
        frame = read_sheet(source).frame
        for column in frame.columns:
            cells += frame[column].tolist()
    return cells


def test_email_rule_over_the_compiled_pattern_is_pandas_fullmatch_ignoring_case() -> None:
    rng = random.Random(3)
    generated = ["".join(rng.choices(EMAIL_PIECES, k=rng.randint(0, 8))) for _ in range(20_000)]
    for cells in (generated, [c for c in generated if c.isascii()], real_cells()):
        values = pd.Series(cells, dtype=object)
        expected = values.str.fullmatch(syntax.EMAIL_PATTERN, case=False).astype(bool)
        assert syntax.is_email(values).tolist() == expected.tolist()


def test_email_rule_takes_a_missing_value_for_no_address() -> None:
    values = pd.Series(["a@b.co", None, float("nan")], dtype=object)

    assert syntax.is_email(values).tolist() == [True, False, False]


def test_strip_is_str_strip_of_each_cell_and_reads_missing_values_as_empty() -> None:
    rng = random.Random(5)
    cells = awkward_cells(rng, 5_000) + ["\u3000a\u2029", "\x1cb\x85"] + real_cells()

    assert nz.strip(pd.Series(cells, dtype=object)).tolist() == [v.strip() for v in cells]
    assert nz.strip(pd.Series([" a ", None], dtype=object)).tolist() == ["a", ""]


def normalize_column_per_distinct(raw: pd.Series, normalizer) -> tuple[pd.Series, nz.Normalized]:
    """The general path: every column through its distinct values (fillna, then factorize)."""
    raw = raw.fillna("")
    codes, uniques = pd.factorize(raw.to_numpy(dtype=object))
    typed = pd.Series([v.strip() for v in uniques], dtype=object)
    result = normalizer(typed)
    warnings = {
        code: raw.index[np.isin(codes, labels.to_numpy())]
        for code, labels in result.warnings.items()
    }
    spread = [
        pd.Series(s.to_numpy(dtype=object)[codes], index=raw.index) for s in (typed, result.values)
    ]
    return spread[0], nz.Normalized(spread[1], warnings)


@pytest.mark.parametrize("few_distinct", [True, False])
@pytest.mark.parametrize(
    "normalizer", [nz.unchanged, nz.normalize_zip, nz.normalize_state, nz.normalize_email]
)
def test_normalize_column_gives_what_the_per_distinct_path_gives(normalizer, few_distinct) -> None:
    rng = random.Random(9)
    cells = [*real_cells(), *awkward_cells(rng, 2_000), " ut ", "Utah", "8404", "84045-1234", None]
    raw = pd.Series(cells, index=range(2, len(cells) + 2), dtype=object)

    typed, normalized = nz.normalize_column(raw, normalizer, few_distinct=few_distinct)

    want_typed, want = normalize_column_per_distinct(raw, normalizer)
    assert typed.tolist() == want_typed.tolist()
    assert normalized.values.tolist() == want.values.tolist()
    assert {k: v.tolist() for k, v in normalized.warnings.items()} == {
        k: v.tolist() for k, v in want.warnings.items()
    }


# -- fullAddress: canonical cells found column-wide -----------------------------------------

STREETS = [
    "1 Main St", "2214 N Honeydew Dr", "PO BOX 12", "1180 W 400 N", "5 Elm St Apt 4", "7 Oak Ct",
    "12 Route 9", "Suite 12345", "Unit 84601-1234", "9 Park Ave, Fl 2", "Calle Peñuelas 5",
    "١٢ Main St", "A", "12 Elm St ", " 3 Pine Rd", "4 Bay Rd;", "#6", "a\x00b",
]  # fmt: skip
CITIES = [
    "Provo",
    "Salt Lake City",
    "San Juan",
    "Ct",
    "12345",
    "84601-1234",
    "",
    "Boston,",
    "Añasco",
]
STATES = ["UT", "ut", "CA", "PR", "VI", "AE", "FM", "ZZ", "Utah", "CT", "U T", ""]
ZIPS = [
    "84601",
    "84601-1234",
    "2134",
    "00901",
    "846011234",
    "84601 1234",
    "ABCDE",
    "٨٤٦٠١",
    "",
    "8460:",
    "/4601",
]
SEPARATORS = [
    ", ",
    ",",
    " , ",
    ",, ",
    "  ",
    " ",
    ", , ",
    "\t",
    "\n",
    ";",
    ",\u00a0",
    ", ,",
    ",\x1f",
    " \x0b",
]
ENDINGS = ["", "", "", ", USA", " ", ",", ", Puerto Rico", "\r\n"]


def address_cells(rng: random.Random, count: int) -> list[str]:
    cells = []
    for _ in range(count):
        street, city = rng.choice(STREETS), rng.choice(CITIES)
        state, zip_code = rng.choice(STATES), rng.choice(ZIPS)
        first, second = rng.choice(SEPARATORS), rng.choice(SEPARATORS)
        if rng.random() < 0.5:  # mostly the canonical shape, as a template writes it
            first, second = ", ", ", "
            state, zip_code = rng.choice(["UT", "PR", state]), rng.choice(["84601-1234", zip_code])
        cells.append(f"{street}{first}{city}{second}{state} {zip_code}{rng.choice(ENDINGS)}")
    return cells


def template_lines() -> list[str]:
    """One-cell addresses made of the real lists' address columns, as templates make them."""
    lines = []
    for source, street, city, state, zip_code in [
        ("us500.csv", "address", "city", "state", "zip"),
        ("ca500.csv", "address", "city", "province", "postal"),
        ("irs_eo4.csv", "STREET", "CITY", "STATE", "ZIP"),
        ("irs_eo_ak.csv", "STREET", "CITY", "STATE", "ZIP"),
    ]:
        frame = read_sheet(REAL / source).frame
        for template in ("{%s}, {%s}, {%s} {%s}", "{%s} {%s} {%s} {%s}", "{%s}, {%s} {%s}, {%s}"):
            names = (street, city, state, zip_code)
            lines += render_template(frame, template % names).tolist()
    return lines


def test_parse_addresses_gives_parse_address_of_each_cell() -> None:
    rng = random.Random(13)
    cells = ["", *address_cells(rng, 20_000), *template_lines(), *real_cells()]

    parsed = ad.parse_addresses(pd.Series(cells, dtype=object))

    assert list(parsed.columns) == list(ad.ParsedAddress._fields)
    for cell, row in zip(cells, parsed.itertuples(index=False, name=None), strict=True):
        assert row == tuple(ad.parse_address(cell) if cell else ad._EMPTY), cell


def test_canonical_cells_are_found_column_wide_and_split_like_parse_address() -> None:
    rng = random.Random(17)
    cells = [*address_cells(rng, 20_000), *template_lines()]

    groups = canonical_cells(cells)

    shaped = [i for i, cell in enumerate(cells) if ad._canonical(cell) and cell.isascii()]
    found = np.concatenate([group.rows for group in groups])
    assert sorted(found.tolist()) == shaped  # the ASCII cells the per-cell test takes
    assert len(shaped) > 800  # the quick path does take the common shape
    for quick in groups:
        parts = zip(quick.rows, quick.street, quick.state, quick.zip, strict=True)
        for i, street, state, zip_code in parts:
            assert ad.parse_address(cells[i]) == (cells[i], street, state, zip_code, "", "", "")


@pytest.mark.parametrize("block", [5, 1 << 16])
def test_canonical_zips_read_as_numbers_are_the_text_each_cell_ends_with(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(canonical, "_BLOCK", block)
    rng = random.Random(73)
    cells = []
    for _ in range(3_000):  # zips with leading zeros, ZIP+4s, beside cells that are not canonical
        zip_code = f"{rng.choice([0, 7, 99, 1234, 84045, 99999, rng.randrange(100_000)]):05d}"
        if rng.random() < 0.5:
            zip_code += f"-{rng.choice([0, 1, 999, 9999, rng.randrange(10_000)]):04d}"
        cells.append(
            rng.choice(["1 A St, UT ", "x, PR ", "12 Elm St , UT ", "a\x00b, UT "]) + zip_code
        )

    for quick in canonical_cells(cells):
        for i, street, state, zip_code in zip(
            quick.rows, quick.street, quick.state, quick.zip, strict=True
        ):
            assert cells[i] == f"{street}, {state} {zip_code}"
            assert ad.parse_address(cells[i])[1:4] == (street, state, zip_code)
    # ... and every cell in the canonical shape was found, zero-padded zips included.
    found = sorted(np.concatenate([q.rows for q in canonical_cells(cells)]).tolist())
    control = re.compile("[\x01-\x1f]")
    shaped = [
        i for i, c in enumerate(cells) if c.isascii() and not control.search(c) and ad._canonical(c)
    ]
    assert found == shaped and len(found) > 1000


def test_the_per_cell_quick_path_refuses_a_space_before_the_state_comma() -> None:
    cell = "12 Elm St , UT 84045"

    assert ad._canonical(cell) is None
    assert ad.parse_address(cell).street == "12 Elm St"


BOX_PIECES = [
    "PO BOX 12", "p.o. box 3", "P O Bx 5", "Post Office Box 9", "POB 12", "pmb#3", "PMB",
    "Caller Box 1", "RR 2 Box 15", "HC 68 Box 23", "Box Elder St", "Boxwood Dr", "box 12",
    "Drawer 5", "PO Drawer", "BOX A", "bOx", "DRAWER", "Boston", "Blvd", "1 Main St", ", ",
    " ", "#", "7", "Añasco", "\u212a", "ſ", "İ",
]  # fmt: skip


def test_po_boxes_found_through_quick_searches_are_those_each_cell_holds() -> None:
    rng = random.Random(19)
    generated = ["".join(rng.choices(BOX_PIECES, k=rng.randint(0, 4))) for _ in range(20_000)]
    for cells in (generated, [c for c in generated if c.isascii()], real_cells()):
        found = ad.is_po_box(pd.Series(cells, dtype=object))
        assert found.tolist() == [ad._is_box(cell) for cell in cells]
        assert found.any()


# -- templates --------------------------------------------------------------------------------

TEMPLATES = [
    "{A}",
    "{A} {B}",
    "{A}, {B}, {C} {D}",
    "Lead {A}: {B}",
    "Business: {A} ({B})",
    "[{A}] - {B} ({C}) <{D}>",
    '"{A}" {B}, \u201c{C}\u201d',
    "{{literal}} {A}{B}{C}{D}",
    "({A}) ({B})",
    "{A} {A} {B}",
    "x {A}, {B} y",
]


def test_templates_rendered_by_filled_parts_are_those_rendered_part_by_part() -> None:
    rng = random.Random(23)
    pieces = ["", "", "", " ", "a", "Ab", "(", ")", "{", "}", "é", "1", ", "]
    for template in TEMPLATES:
        layout = template_layout(template)
        for rows in (0, 1, 7, 500):
            parts = [
                np.array(
                    [
                        "".join(rng.choices(pieces, k=rng.randint(0, 3))).strip()
                        for _ in range(rows)
                    ],
                    dtype=object,
                )
                for _ in layout.columns
            ]
            fast = _render_by_filled_parts(layout, parts, rows)
            assert fast.tolist() == _render_part_by_part(layout, parts, rows).tolist(), template


@pytest.mark.parametrize("template", TEMPLATES[1:4])
def test_templates_over_real_lists_give_what_the_part_by_part_path_gives(template: str) -> None:
    for source, _ in REAL_LISTS:
        frame = read_sheet(source).frame
        columns = list(frame.columns)[:4]
        named = template.replace("{A}", "{%s}").replace("{B}", "{%s}").replace("{C}", "{%s}")
        named = named.replace("{D}", "{%s}")
        wanted = named % tuple(columns[: named.count("%s")])
        layout = template_layout(wanted)
        cells = _Cells(frame)  # spreadsheet error values read as empty
        parts = [
            np.array([v.strip() for v in cells.column(c)[0]], dtype=object) for c in layout.columns
        ]
        expected = _render_part_by_part(layout, parts, len(frame)).tolist()
        assert render_template(frame, wanted).tolist() == expected


# -- small column-wide shortcuts --------------------------------------------------------------


def test_lower_case_of_a_whole_column_at_once_is_str_lower_per_cell() -> None:
    rng = random.Random(29)
    generated = awkward_cells(rng, 5_000, pieces=[*PIECES, "A", "Σ", "İ", "ẞ", "ΑΣ"])
    for cells in (generated, [c for c in generated if c.isascii()], real_cells(), [""], []):
        values = pd.Series(cells, dtype=object)
        assert nz.lower(values).tolist() == [c.lower() for c in cells]


PHONE_PIECES = ["8", "0", "1", "5", ".", "0", "e", "E", "+", "-", " ", "(", ")", "x", "#", "é"]


def test_excel_numbers_found_after_a_search_of_the_column_are_those_the_pattern_finds() -> None:
    rng = random.Random(31)
    generated = ["".join(rng.choices(PHONE_PIECES, k=rng.randint(0, 14))) for _ in range(20_000)]
    number = re.compile(phones._NUMBER)
    for cells in (generated, ["8015554444", "(801) 555-4444"], real_cells()):
        found = phones._numbers(pd.Series(cells, dtype=object)).tolist()
        assert found == [number.fullmatch(c) is not None for c in cells]


def test_what_normalizing_knows_of_a_column_is_what_its_format_rules_find() -> None:
    rng = random.Random(37)
    phone_like = ["".join(rng.choices(PHONE_PIECES, k=rng.randint(0, 16))) for _ in range(5_000)]
    cells = [*real_cells(), *phone_like, "(801) 555-4444", "8015554444", "1115554444", "x12"]
    values = pd.Series(cells, index=range(2, len(cells) + 2), dtype=object)
    for name in ("mobile", "zip", "state"):
        normalizer = leads._NORMALIZERS[name]
        for few in (True, False):
            _, normalized = nz.normalize_column(values, normalizer, few_distinct=few)
            for _, test in leads._FORMATS[name]:
                known = normalized.tested(test)
                if known is not None:
                    assert known.tolist() == test(normalized.values).tolist(), (name, test)
    assert phones.is_mobile in phones.normalize_mobile(nz.strip(values)).known


def test_hash_ids_made_a_block_of_rows_at_a_time_are_those_made_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = read_sheet(REAL / "us500.csv").frame
    whole = hash_ids(frame, ("email", "phone1")).tolist()

    monkeypatch.setattr(apply_module, "_HASH_BLOCK", 7)

    assert hash_ids(frame, ("email", "phone1")).tolist() == whole
    assert len(set(whole)) == len(frame) and all(i.startswith("h") for i in whole)


def test_zip_places_judged_per_distinct_value_are_those_judged_per_row() -> None:
    rng = random.Random(41)
    zips = [
        rng.choice(["84045", "02134", "00901", "96799", "99999", "8404", "ABCDE", ""])
        for _ in range(3_000)
    ]
    states = [rng.choice(["UT", "MA", "PR", "AS", "ZZ", "AE", ""]) for _ in range(3_000)]
    for zip_cells, state_cells in ((zips, states), (zips[:1], states[:1]), ([], [])):
        z = pd.Series(zip_cells, dtype=object)
        st = pd.Series(state_cells, dtype=object)
        valid, known, elsewhere = leads.zip_places(z, st)
        assert valid.tolist() == nz.is_zip(z).tolist()
        assert known.tolist() == usps.zip_prefix_known(z).tolist()
        checkable = known & nz.is_state(st).to_numpy(dtype=bool)
        assert elsewhere.tolist() == (checkable & ~usps.zip_in_state(z, st)).tolist()
        assert not leads.zip_places(z, None)[2].any()
    frame = read_sheet(REAL / "us500.csv").frame
    _, _, elsewhere = leads.zip_places(frame["zip"], frame["state"])
    assert (
        elsewhere.tolist()
        == (
            usps.zip_prefix_known(frame["zip"])
            & nz.is_state(frame["state"]).to_numpy(dtype=bool)
            & ~usps.zip_in_state(frame["zip"], frame["state"])
        ).tolist()
    )


# -- hostile cells: every fast path against its plain code, cell by cell ----------------------

# PIECES and more of what a pasted or exported cell can hold: other control characters,
# spaces and breaks outside ASCII, a combining accent, full-width and Arabic-Indic digits, a
# zero-width space, letters whose case changes their length.
HOSTILE = [
    *PIECES, "\x01", "\x1c", "\x7f", "\x85", "\u3000", "\u2029", "\u0301", "\uff11", "\u0661",
    "\u200b", "İ", "ß", "Σ", "12 Elm St", ", UT 84045", ", UT 84045-1234", "84045", "",
]  # fmt: skip


def hostile_columns(rng: random.Random, count: int) -> list[list[str]]:
    """Columns of hostile cells: as generated, with only their ASCII cells, and ASCII but
    for one cell (which sends a whole column down the general path of some shortcuts)."""
    cells = awkward_cells(rng, count, longest=6, pieces=HOSTILE)
    ascii_cells = [c for c in cells if c.isascii()]
    return [cells, ascii_cells, [*ascii_cells[: count // 2], "Añasco", *ascii_cells[count // 2 :]]]


def ten_digits_of_one_cell(cell: str) -> tuple[bool, bool]:
    """The general path: (ten ASCII digits, a possible North American number)."""
    ten = len(cell) == 10 and cell.isascii() and cell.isdigit()
    possible = ten and cell[0] >= "2" and cell[1:3] != "11" and cell[3] >= "2"
    return ten, possible


PHONE_CELL_PIECES = [
    "8015554444", "801", "555", "4444", "1", "0", "\x00", "\x00", " ", "\xa0", "-", "é",
    "\uff18", "\u0668", "\u0301", "x",
]  # fmt: skip


def test_ten_digit_phones_column_wide_are_those_each_cell_is() -> None:
    rng = random.Random(43)
    generated = awkward_cells(rng, 20_000, longest=3, pieces=PHONE_CELL_PIECES)
    ascii_cells = [c for c in generated if c.isascii()]
    # A ten-character cell that is not ASCII sends the column to the unicode path.
    for cells in (generated, ascii_cells, [*ascii_cells, "801555444é"]):
        ten, possible = phones._ten_digits(pd.Series(cells, dtype=object))
        expected = [ten_digits_of_one_cell(c) for c in cells]
        assert list(zip(ten.tolist(), possible.tolist(), strict=True)) == expected
        assert phones.is_mobile(pd.Series(cells, dtype=object)).tolist() == [p for _, p in expected]


def test_a_phone_ending_in_nul_is_not_ten_digits_beside_a_non_ascii_cell() -> None:
    # numpy's fixed-width strings drop the NULs ending a cell: "8015554444\x00" was
    # read as ten digits, and passed as a mobile, when the column held non-ASCII text.
    cells = ["8015554444\x00", "8015554444\x00\x00x", "801555444é", "8015554444"]

    ten, possible = phones._ten_digits(pd.Series(cells, dtype=object))

    assert ten.tolist() == [False, False, False, True]
    assert possible.tolist() == [False, False, False, True]


def any_case(rng: random.Random, text: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def test_po_boxes_in_any_case_are_found_beside_a_non_ascii_cell() -> None:
    # The search for candidates in a column that is not all ASCII looked for "rawer" and
    # "RAWER" only, and missed "PO DrAwer 5", which _is_box (ignoring case) takes.
    rng = random.Random(47)
    generated = [
        "".join(any_case(rng, p) for p in rng.choices(BOX_PIECES, k=rng.randint(0, 3)))
        for _ in range(20_000)
    ]
    for cells in (*hostile_columns(rng, 2_000), generated, [*generated, "Añasco"]):
        found = ad.is_po_box(pd.Series(cells, dtype=object))
        assert found.tolist() == [ad._is_box(cell) for cell in cells]
    assert ad.is_po_box(pd.Series(["PO DrAwer 5", "Añasco"], dtype=object)).tolist() == [
        True,
        False,
    ]


def rendered_row(layout, values: list[str]) -> str:
    """The general path for one row: each filled part framed, the separator after the last
    filled part before the next, the prefix and suffix around any text."""
    text, pending, seen = "", "", False
    for i, value in enumerate(values):
        if value:
            text += (pending if seen else "") + layout.openers[i] + value + layout.closers[i]
            pending, seen = layout.separators[i], True
    return layout.prefix + text + layout.suffix if seen else ""


HOSTILE_TEMPLATES = [
    "{A}\x00{B}",
    "\x00{A}\x00",
    "{A}\x1f{B}\n{C}",
    '"{A}"\x00({B})\u2028{C}',
    "\u3000{A}, {B}\x00",
]


def test_templates_with_hostile_literals_render_as_each_row_would() -> None:
    # numpy made the separators, prefix and suffix numpy strings in the part-by-part
    # path, dropping a NUL ending one: "{A}\x00{B}" gave "ab", not "a\x00b".
    rng = random.Random(53)
    for template in HOSTILE_TEMPLATES:
        layout = template_layout(template)
        for rows in (1, 9, 400):
            parts = [
                np.array([c.strip() for c in awkward_cells(rng, rows, 3, HOSTILE)], dtype=object)
                for _ in layout.columns
            ]
            expected = [rendered_row(layout, list(row)) for row in zip(*parts, strict=True)]
            assert _render_by_filled_parts(layout, parts, rows).tolist() == expected, template
            assert _render_part_by_part(layout, parts, rows).tolist() == expected, template


def test_shortcuts_over_hostile_cells_give_the_plain_answer_for_each_cell() -> None:
    rng = random.Random(59)
    for cells in hostile_columns(rng, 5_000):
        values = pd.Series(cells, dtype=object)
        assert nz.strip(values).tolist() == [c.strip() for c in cells]
        assert nz.lower(values).tolist() == [c.lower() for c in cells]
        expected = values.str.fullmatch(syntax.EMAIL_PATTERN, case=False).astype(bool)
        assert syntax.is_email(values).tolist() == expected.tolist()
        hashed = [apply_module._HASH_DROP.sub("", c.lower()).encode("utf-8") for c in cells]
        assert apply_module._hash_cells(cells) == hashed
        blank = apply_module._blank(np.array(cells, dtype=object))
        assert blank.tolist() == [not c or c.isspace() for c in cells]
        assert leads._zip5(values).tolist() == [c[:5] for c in cells]
        assert phones._without_punctuation(values).tolist() == [
            phones._PHONE_PUNCTUATION_RE.sub("", c) for c in cells
        ]
        assert _prefixed(cells, FORMULA_STARTS, add=True) == neutralized_one_by_one(cells)
        columns = [cells, cells[::-1]]
        fast = "".join(map(_csv_line, zip(*map(_csv_cells, columns), strict=True)))
        assert fast == csv_writer_text(None, columns)
        for few in (True, False):  # what normalizing knows, against the rules themselves
            _, normalized = nz.normalize_column(values, phones.normalize_mobile, few_distinct=few)
            known = normalized.tested(phones.is_mobile)
            assert known is not None
            assert known.tolist() == phones.is_mobile(normalized.values).tolist()


HOSTILE_ADDRESS_PIECES = [
    "12 Elm St", "a\x00b", "\x00", "x", "Main 12345", "Apt 84601-1234", "é", "١٢", "\uff11",
    "\u0301", ", ", ",", " ", "  ", " ,", "\xa0", "\u3000", "\u2028", "\x1f", "\x01", "\x7f",
    "\n", ";", "UT", "ut", "AA", "PR", " 84045", "84045", "-1234", ", Provo",
]  # fmt: skip


def hostile_addresses(rng: random.Random, count: int) -> list[str]:
    """Cells near the canonical shape, with hostile pieces inside, around or instead."""
    cells = []
    for _ in range(count):
        street = "".join(rng.choices(HOSTILE_ADDRESS_PIECES, k=rng.randint(1, 3)))
        state = rng.choice(["UT", "PR", "ut", "AA", "U\x00", "ＵＴ"])
        zip_code = rng.choice(["84045", "84045-1234", "8404", "84045\x00", "٨٤٠٤٥", "８４０４５"])
        middle = rng.choice([", ", ",", " , ", ",\x00 ", ",\xa0", ", "])
        cells.append(f"{street}{middle}{state} {zip_code}")
    return cells


@pytest.mark.parametrize("block", [7, 1 << 16])
def test_hostile_addresses_parse_column_wide_as_each_cell_does(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(canonical, "_BLOCK", block)  # cells looked at together
    rng = random.Random(61)
    cells = [*hostile_addresses(rng, 3_000), *awkward_cells(rng, 1_000, 6, HOSTILE)]
    cells = [c.strip() for c in cells]

    parsed = ad.parse_addresses(pd.Series(cells, dtype=object))

    for cell, row in zip(cells, parsed.itertuples(index=False, name=None), strict=True):
        assert row == tuple(ad.parse_address(cell) if cell else ad._EMPTY), cell


def test_canonical_cells_across_a_block_boundary_are_those_each_cell_shows() -> None:
    rng = random.Random(67)
    shapes = ["12 Elm St, UT 84045", "x, PR 00901-1234", "a\x00b, UT 84045", "", "é, UT 84045"]
    shapes += ["12 Elm St,UT 84045", "Main 12345, UT 84045", "\x01, UT 84045", "a"]
    cells = [rng.choice(shapes) for _ in range((1 << 16) + 300)]

    groups = canonical_cells(cells)

    found = sorted(np.concatenate([group.rows for group in groups]).tolist())
    control = re.compile("[\x01-\x1f]")
    shaped = [
        i
        for i, cell in enumerate(cells)
        if cell.isascii() and not control.search(cell) and ad._canonical(cell)
    ]
    assert found == shaped


def rows_with_bad_spacing_by_regex(encoded: bytes, starts: np.ndarray) -> np.ndarray:
    """The plain rule: each pattern searched in the bytes, each hit's row."""
    hits = [
        m.start() for pattern in (b"  ", b" ,", b",(?! )") for m in re.finditer(pattern, encoded)
    ]
    hits += [m.start() for m in re.finditer(b"[\x01-\x1f]", encoded)]
    return np.unique(np.searchsorted(starts, hits, side="right") - 1)


def test_rows_with_bad_spacing_are_those_the_byte_patterns_find() -> None:
    rng = random.Random(71)
    pieces = ["a", " ", ",", ", ", "  ", " ,", "\x00", "\x01", "\t", "\x1f", "\x7f", "x ", ","]
    for _ in range(2_000):
        cells = [
            "".join(rng.choices(pieces, k=rng.randint(0, 5))) for _ in range(rng.randint(1, 6))
        ]
        encoded = ("\x00" * canonical._TAIL + "\x00".join(cells)).encode("ascii")
        lengths = np.array([len(c) for c in cells], dtype=np.int64)
        starts = np.cumsum(lengths + 1) - 1 + canonical._TAIL - lengths
        data = np.frombuffer(encoded, dtype=np.uint8)
        fast = canonical._rows_with_bad_spacing(data, starts)
        assert fast.tolist() == rows_with_bad_spacing_by_regex(encoded, starts).tolist(), cells


# -- the command line's process ----------------------------------------------------------------


def test_keeping_freed_memory_is_asked_of_glibc_on_linux_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = []

    class Libc:
        def mallopt(self, parameter: int, value: int) -> int:
            asked.append((parameter, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    monkeypatch.setattr(sys, "platform", "darwin")
    cli.keep_freed_memory()
    assert asked == []

    monkeypatch.setattr(sys, "platform", "linux")
    cli.keep_freed_memory()
    assert asked == [(-3, 256 << 20), (-1, 1 << 30)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD


def test_without_glibc_the_allocator_keeps_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> object:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(ctypes, "CDLL", missing)

    cli.keep_freed_memory()  # no error: musl and others keep their defaults


# -- the request a post sends -------------------------------------------------------------------


def session_post_request(transport: Transport, body: bytes) -> requests.PreparedRequest:
    """The general path: what Session.post(endpoint, data=body) prepares."""
    return transport._session.prepare_request(
        requests.Request("POST", transport.endpoint, data=body or {})
    )


def shown(request: requests.PreparedRequest) -> tuple:
    return (
        request.method,
        request.url,
        request.body,
        list(request.headers.items()),
        request.hooks,
        request._body_position,
        request._cookies.get_dict(),
    )


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("http://127.0.0.1:8765/api/v1/partner/action/lead/add", True),
        ("https://user:secret@api.example.com/api/v1/p%20q/action/lead/add", False),
        ("https://api.example.com/api/v1/partner/action/lead/add", False),
    ],
)
def test_a_post_prepared_once_sends_the_request_session_post_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str, loopback: bool
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.example.com login bob password pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    headers = {"api-key": "k", "Content-Type": "application/json", "User-Agent": "t/1"}
    transport = Transport(
        endpoint, headers, loopback=loopback, connect_timeout=1, read_timeout=1, deadline=5
    )
    bodies = [b"", b"{}", '{"lead": {"first_name": "Zoë"}}'.encode(), b"x" * 100_000]

    for body in bodies:
        assert shown(transport.prepared(body)) == shown(session_post_request(transport, body))
    settings = transport._session.merge_environment_settings(endpoint, {}, True, None, None)
    assert transport._settings == settings
    assert bool(settings["proxies"]) is not loopback  # a loopback endpoint skips the proxy
    assert ("Authorization" in transport.prepared(b"{}").headers) is not loopback  # netrc, URL

    transport._session.cookies.set("lb", "node-2")  # a server set a cookie: it goes back
    for body in bodies:
        sent = transport.prepared(body)
        assert shown(sent) == shown(session_post_request(transport, body))
        assert sent.headers["Cookie"] == "lb=node-2"
    transport.close()


def test_a_cookie_the_server_sets_is_sent_with_the_next_post() -> None:
    created = answer(body=CREATED, headers={"Set-Cookie": "lb=node-2; Path=/"})

    def handle(conn: socket.socket, server: RawServer) -> None:
        for _ in range(2):
            request = read_request(conn)
            if not request:
                return
            server.received.append(request)
            conn.sendall(created)

    with RawServer(handle) as server:
        config = SenderConfig(server.url, "partner", "k", rate_limit=0)
        with LeadSender(config, sleep=lambda s: None) as sender:
            outcomes = [sender.send({"lead": {"integration_record_id": str(i)}}) for i in range(2)]

    assert [str(o.status) for o in outcomes] == ["created", "created"]
    assert b"Cookie: lb=node-2" not in server.received[0]
    assert b"Cookie: lb=node-2" in server.received[1]
