"""Fast paths give exactly what the general path gives: each is compared with the plain
per-cell code it stands in for, on generated awkward cells and on the real lists."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import importer
from importer import syntax
from importer.reading.sheet import read_sheet
from importer.results.write import FORMULA_STARTS, _csv_cells, _csv_line, _prefixed
from importer.validation import normalize as nz

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


def test_results_csv_of_awkward_cells_is_what_csv_writer_writes(tmp_path: Path) -> None:
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
