"""Choose a suggestion's integration_record_id: an id column, else a hash that tells rows apart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from importer.mapping.apply import hash_ids
from importer.suggest.columns import ColumnProfile, header_words, looks_like_id, rows_text
from importer.syntax import compact

# Headers that name a record's own id, compacted, best first. Any header whose last word is
# "id" also counts (after these): `place_id`, `AccountId`, `Facility ID`.
ID_HEADERS = (
    "integrationrecordid", "leadid", "recordid", "externalid", "externalrecordid",
    "externalleadid", "id", "guid", "uuid", "contactid", "customerid", "custid", "clientid",
    "uniqueid", "leadnumber", "leadno", "recordnumber", "sourceid", "placeid", "ein", "fmid",
    "facilityid", "providerid", "npi", "ccn",
)  # fmt: skip
ID_WORDS = frozenset({"id", "guid", "uuid"})
# "Row ID", "Line ID", "Index": a position in this file, not the lead's id in any system.
ROW_WORDS = frozenset({"row", "line", "index"})
# Fewer rows than this say little about whether a column's values are unique by nature.
MIN_ROWS_FOR_CONTENT = 10
WELL_FILLED = 0.9
NEAR_UNIQUE = 0.95
MAX_HASH_COLUMNS = 4


@dataclass
class RecordId:
    """A column (`column`) or a hash of columns (`hash`), why, and notes on columns passed over."""

    reason: str
    column: str | None = None
    hash: tuple[str, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)


def choose_record_id(
    columns: Sequence[str],
    profiles: Mapping[str, ColumnProfile],
    placed: Mapping[str, str],
    taken: Sequence[str],
    has_rows: bool,
) -> RecordId:
    """The record id a careful person would pick for the sheet.

    First a column whose header names an id and whose values are unique and filled on the
    sampled rows; then (with enough rows to tell) a column whose cells are unique, filled and
    id-shaped; only then a hash of well-filled columns (`placed`: lead field -> column) that
    covers every sampled row, preferring email and phone, then name and address. Columns in
    `taken` (mapped elsewhere) are not considered as an id column.
    """
    notes: dict[str, str] = {}
    used = set(placed.values()) | set(taken)
    found = _by_header(columns, profiles, used, has_rows, notes)
    found = found or _by_content(columns, profiles, used, has_rows)
    found = found or _by_hash(profiles, placed, has_rows)
    found.notes = {c: n for c, n in notes.items() if c != found.column}
    return found


def is_id_header(header: str) -> bool:
    words = header_words(header)
    return compact(header) in ID_HEADERS or bool(words and words[-1] in ID_WORDS)


def _id_rank(index: int, header: str) -> tuple[int, int]:
    key = compact(header)
    return (ID_HEADERS.index(key) if key in ID_HEADERS else len(ID_HEADERS), index)


def _by_header(
    columns: Sequence[str],
    profiles: Mapping[str, ColumnProfile],
    used: set[str],
    has_rows: bool,
    notes: dict[str, str],
) -> RecordId | None:
    """The best-named id header whose values are unique and filled (failing that, nearly:
    a few repeats or gaps are the source's to fix, and validation points at those rows);
    every other id header gets a note saying why it is not the one."""
    headers = [c for c in columns if is_id_header(c) and c not in used]
    judged = {c: _id_quality(profiles[c]) if has_rows else (0, "") for c in headers}
    for column in headers:
        if ROW_WORDS & set(header_words(column)):
            judged[column] = (_NOT_AN_ID, "a row number in this file, not the lead's id")
    found: RecordId | None = None
    for column in sorted(headers, key=lambda c: (judged[c][0], *_id_rank(columns.index(c), c))):
        level, remark = judged[column]
        if level == _NOT_AN_ID:
            notes[column] = remark
        elif found is not None:
            notes[column] = f'another id; the record id is "{found.column}"'
        elif not has_rows:
            found = RecordId(f'matched header "{column}"', column=column)
        else:
            where = rows_text(profiles[column])
            why = f"unique and filled on {where}" if level == 0 else remark
            found = RecordId(f'id header "{column}": {why}', column=column)
    return found


_NOT_AN_ID = 2


def _id_quality(profile: ColumnProfile) -> tuple[int, str]:
    """(0, "") when unique and filled; (1, its flaws) when nearly so; (_NOT_AN_ID, why) else."""
    missing = profile.rows - len(profile.filled)
    shared = len(profile.filled) - len(profile.distinct)
    if profile.empty:
        return _NOT_AN_ID, "an id header, but empty on every row"
    if profile.fill < NEAR_UNIQUE:
        return _NOT_AN_ID, f"an id header, but empty on {missing} of {profile.rows} rows"
    if len(profile.distinct) < NEAR_UNIQUE * len(profile.filled):
        repeat = f"{shared} of {profile.rows} rows repeat a value"
        return _NOT_AN_ID, f"an id header, but not unique ({repeat})"
    if not missing and not shared:
        return 0, ""
    flaws = [f"empty on {missing} of {profile.rows} rows (missing_record_id)"] if missing else []
    if shared:
        flaws.append(f"{shared} of {profile.rows} rows repeat a value (duplicate_record_id)")
    return 1, " and ".join(flaws)


def _by_content(
    columns: Sequence[str], profiles: Mapping[str, ColumnProfile], used: set[str], has_rows: bool
) -> RecordId | None:
    for column in columns:
        profile = profiles[column]
        if column in used or not has_rows or profile.rows < MIN_ROWS_FOR_CONTENT:
            continue
        if profile.fill == 1 and profile.unique and _id_shaped(profile):
            why = f"cells look like ids: unique, filled and one word on {rows_text(profile)}"
            return RecordId(why, column=column)
    return None


def _id_shaped(profile: ColumnProfile) -> bool:
    """Every cell an id token, and all of one length or mixing letters and digits (so a
    column of counts or prices, which vary in length and are all digits, is not an id)."""
    if profile.share(looks_like_id) < 1:
        return False
    lengths = {len(c) for c in profile.filled}
    mixed = all(any(ch.isalpha() for ch in c) for c in profile.filled)
    return len(lengths) == 1 or mixed


# Hash bases a person would choose, best first: lead fields, one group per line.
_HASH_TIERS = (
    (("email",), ("mobile",)),
    (("full_name", "first_name"), ("last_name",), ("fullAddress", "address", "zip")),
)


@dataclass
class _Basis:
    """A hash basis judged on the sampled rows."""

    columns: list[str]
    uncovered: int  # rows where every part is empty: no id at all
    distinct: int
    rows: int

    @property
    def unique(self) -> bool:
        return self.uncovered == 0 and self.distinct == self.rows


def _by_hash(
    profiles: Mapping[str, ColumnProfile], placed: Mapping[str, str], has_rows: bool
) -> RecordId:
    if not has_rows:
        return _hash_without_rows(placed, list(profiles))
    tried = []
    for tier in _HASH_TIERS:
        columns = _tier_columns(tier, profiles, placed)
        if columns:
            tried.append(_judge(profiles, columns))
    covering = [b for b in tried if not b.uncovered]
    good = [b for b in covering if b.distinct >= NEAR_UNIQUE * b.rows]
    ranked = good or sorted(covering, key=lambda b: -b.distinct)
    basis = ranked[0] if ranked else _greedy(profiles, placed)
    return RecordId(_hash_reason(basis, profiles), hash=tuple(basis.columns))


def _tier_columns(
    tier: tuple[tuple[str, ...], ...],
    profiles: Mapping[str, ColumnProfile],
    placed: Mapping[str, str],
) -> list[str]:
    """The tier's columns that are well filled (for each group, its first placed field)."""
    columns = []
    for group in tier:
        column = next((placed[name] for name in group if name in placed), None)
        if column is not None and profiles[column].fill >= WELL_FILLED and column not in columns:
            columns.append(column)
    return columns


def _judge(profiles: Mapping[str, ColumnProfile], columns: Sequence[str]) -> _Basis:
    """How a hash of `columns` does on the sampled rows, computed by the hash itself.

    Error literals count as empty here, so two rows whose email and phone are both #N/A do
    not pass for different people: the rows are uncovered and the basis is refused.
    """
    sample = pd.DataFrame({c: list(profiles[c].cells) for c in columns})
    ids = hash_ids(sample, tuple(columns))
    filled = ids[ids != ""]
    return _Basis(list(columns), len(ids) - len(filled), int(filled.nunique()), len(ids))


def _greedy(profiles: Mapping[str, ColumnProfile], placed: Mapping[str, str]) -> _Basis:
    """Well-filled columns added, mapped ones first and then the most varied, until unique."""
    mapped = list(dict.fromkeys(placed.values()))
    others = sorted(
        (c for c in profiles if c not in mapped), key=lambda c: -len(profiles[c].distinct)
    )
    pool = [c for c in mapped + others if profiles[c].fill >= WELL_FILLED]
    pool = pool or sorted(profiles, key=lambda c: -profiles[c].fill)
    basis = _Basis([], 0, 0, 0)
    for count in range(1, min(MAX_HASH_COLUMNS, len(pool)) + 1):
        basis = _judge(profiles, pool[:count])
        if basis.unique:
            break
    return basis


def _hash_without_rows(placed: Mapping[str, str], columns: list[str]) -> RecordId:
    basis = [placed[n] for n in ("email", "mobile") if n in placed]
    basis = basis or [
        placed[n] for n in ("full_name", "first_name", "last_name", "fullAddress", "address", "zip")
        if n in placed
    ]  # fmt: skip
    basis = basis or columns
    return RecordId(f"no id column: a stable id from {', '.join(basis)}", hash=tuple(basis))


def _hash_reason(basis: _Basis, profiles: Mapping[str, ColumnProfile]) -> str:
    listed = ", ".join(basis.columns)
    if basis.unique:
        where = rows_text(profiles[basis.columns[0]])
        return f"no id column: a stable id from {listed}, unique on {where}"
    why = f"no id column: a stable id from {listed}: {basis.distinct} ids in {basis.rows} rows"
    if basis.distinct < basis.rows - basis.uncovered:
        why += "; rows that share one are duplicate_record_id"
    if basis.uncovered:
        why += f"; {basis.uncovered} rows have none of them (missing_record_id)"
    return why
