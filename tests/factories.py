"""Small writers of real spreadsheet files for tests; rows[0] is the header row."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import xlwt

Rows = Sequence[Sequence[Any]]


def write_csv(path: Path, rows: Rows, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """CSV text; `encoding="utf-8-sig"` writes a BOM, `"cp1252"` what old Excel saves."""
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Rows, sheet: str = "Leads", **more_sheets: Rows) -> Path:
    """An xlsx written by openpyxl; cells keep their Python types (None = empty cell).

    A str starting with "=" is stored as text, not as a formula. Extra sheets by keyword:
    `write_xlsx(p, rows, Notes=[["a"]])`.
    """
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, sheet_rows in {sheet: rows, **more_sheets}.items():
        ws = book.create_sheet(name)
        for r, row in enumerate(sheet_rows, start=1):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"
    book.save(path)
    return path


def write_xls(path: Path, rows: Rows, sheet: str = "Leads") -> Path:
    """A legacy .xls written by xlwt (dates get a date format so they read back as dates)."""
    book = xlwt.Workbook()
    ws = book.add_sheet(sheet)
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if hasattr(value, "year"):
                ws.write(r, c, value, date_style)
            else:
                ws.write(r, c, value)
    book.save(str(path))
    return path


def write_ods(path: Path, rows: Rows, sheet: str = "Leads") -> Path:
    """An OpenDocument sheet written by pandas with odfpy."""
    frame = pd.DataFrame([list(row) for row in rows[1:]], columns=list(rows[0]), dtype=object)
    frame.to_excel(path, engine="odf", index=False, sheet_name=sheet)
    return path
