"""Lead validation: normalize lead fields, check them with pandera, report Problems per row.

It must not send or read files; appointments and survey files are checked elsewhere. Every
rule runs column-wide; Python loops only visit failing (row, rule) groups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from importer.models import Problem
from importer.usps import FOREIGN_REGIONS, PREFIX_OWNER_TEXT, zip_in_state, zip_prefix_known
from importer.validation import address as ad
from importer.validation import normalize as nz
from importer.validation import phones
from importer.validation.messages import MESSAGES, ProblemReport, quoted

RECORD_ID = "integration_record_id"
EMAIL_FIELDS = ("email", "creator", "assign_to_email", "setter_email")
INTEGER_FIELDS = ("createDeal", "calendar_id")
# Rules that hold on ignore_validation rows too: these fields shape the request (a deal
# template, a calendar, a redirect), not the customer's data, and the API reads them anyway.
_ALWAYS_CHECKED = frozenset({"ignore_validation", "browser_redirect", *INTEGER_FIELDS})
# Fields whose values mostly differ row to row; the others are normalized and checked once
# per distinct value (a sheet has a handful of states, deal ids, rep emails, zips...).
_MOSTLY_DISTINCT = frozenset(
    {RECORD_ID, "email", "mobile", "fullAddress", "address", "full_name", "add_note"}
)

_NORMALIZERS: dict[str, Callable[[pd.Series], nz.Normalized]] = {
    "zip": nz.normalize_zip,
    "state": nz.normalize_state,
    "mobile": phones.normalize_mobile,
    "ignore_validation": nz.normalize_boolean,
    "browser_redirect": nz.normalize_choice,
    **{name: nz.normalize_email for name in EMAIL_FIELDS},
    **{name: nz.normalize_integer for name in INTEGER_FIELDS},
}

_Test = Callable[[pd.Series], pd.Series]
# Format rules on normalized values: field -> (problem code, test passed by good values).
# Empty cells pass. "country" is a check-only field (never sent).
_FORMATS: dict[str, tuple[tuple[str, _Test], ...]] = {
    "zip": (
        ("invalid_zip", nz.is_zip_or_canadian),
        ("not_us_address", nz.is_not_canadian_postal_code),
    ),
    "state": (
        ("invalid_state", nz.is_known_region),
        ("military_address", nz.is_not_military),
        ("not_us_address", nz.is_not_foreign_region),
    ),
    "mobile": (("invalid_mobile", phones.is_mobile),),
    "ignore_validation": (("invalid_boolean", nz.is_boolean),),
    "browser_redirect": (("invalid_browser_redirect", nz.is_browser_redirect),),
    "country": (("not_us_address", nz.is_us_country),),
    **{name: (("invalid_email", nz.is_email),) for name in EMAIL_FIELDS},
    **{name: (("invalid_integer", nz.is_integer),) for name in INTEGER_FIELDS},
}
# fullAddress rules: the problem its parse found (see validation/address.py).
_ADDRESS_CODES = (ad.INVALID, ad.NOT_US, ad.MILITARY)

# missing_address: which parts a row lacks, by bit (4 = address, 2 = state, 1 = city and zip).
_MISSING_PARTS = np.array(
    [
        "",
        "city or zip",
        "state",
        "state, city or zip",
        "address",
        "address, city or zip",
        "address or state",
        "address, state, city or zip",
    ],
    dtype=object,
)

ERROR_CODES = frozenset(
    {
        "missing_record_id",
        "duplicate_record_id",
        "missing_address",
        "missing_calendar",
        "missing_deal",
        *(code for checks in _FORMATS.values() for code, _ in checks),
        *_ADDRESS_CODES,
    }
)
# Why a state or zip names a place outside the US, for not_us_address / military_address.
_MILITARY_WHY = "is a military mail code (APO/FPO/DPO), not a house to survey"
_CANADIAN_WHY = "is a Canadian postal code, not a US zip"
_COUNTRY_WHY = "is not the United States"


@dataclass
class ValidationResult:
    """Normalized leads (same shape, index and columns as the input) and every Problem found."""

    leads: pd.DataFrame
    problems: list[Problem]

    @property
    def invalid_rows(self) -> set[int]:
        return {problem.row for problem in self.problems if problem.is_error}


def validate_leads(
    leads: pd.DataFrame, on_duplicate: str = "reject", checks: pd.DataFrame | None = None
) -> ValidationResult:
    """Normalize and check every lead field of `leads` (index = spreadsheet row numbers).

    `checks` holds check-only fields (country), judged like lead fields but never
    returned. Rows with ignore_validation true skip the data rules (address, zip, state,
    phone, email) but not the record id's or those of the request's own fields
    (createDeal, calendar_id, browser_redirect, ignore_validation itself). With
    `on_duplicate="reject"` the first row of a shared record id stands, with "last" the last.
    A missing id or address column counts as empty. fullAddress is parsed: the normalized
    line (country tail dropped, zip repaired, state code) replaces the cell.
    """
    if on_duplicate not in ("reject", "last"):
        raise ValueError(f'on_duplicate must be "reject" or "last", not "{on_duplicate}"')
    if not leads.index.is_unique:
        raise ValueError("leads must be indexed by spreadsheet row numbers, each once")
    frame = leads if checks is None or checks.empty else pd.concat([leads, checks], axis=1)
    typed: dict[str, pd.Series] = {}
    repaired: dict[str, nz.Normalized] = {}
    for name in frame.columns:
        typed[name], repaired[name] = _normalize_column(frame[name], name)
    parsed = ad.parse_addresses(typed["fullAddress"]) if "fullAddress" in frame else None
    if parsed is not None:
        repaired["fullAddress"] = _full_address_lines(typed["fullAddress"], parsed)
    normalized = frame.copy(deep=False)
    for name, result in repaired.items():
        normalized[name] = result.values
    skip = _skip_mask(normalized)
    schema = _schema(normalized, skip, on_duplicate, parsed, repaired)
    failures = _failures(schema, _checked_frame(normalized))
    report = ProblemReport(typed, normalized, ERROR_CODES, parsed)
    _report_errors(report, failures, on_duplicate)
    _report_repairs(report, repaired)
    _report_suspicions(report, skip)
    return ValidationResult(normalized[list(leads.columns)], report.problems())


def _full_address_lines(typed: pd.Series, parsed: pd.DataFrame) -> nz.Normalized:
    """The line to send for each address that parsed; the cell as typed for the others."""
    good = parsed["line"] != ""
    lines = parsed["line"].where(good, typed)
    return nz.Normalized(lines, {})


def _normalize_column(raw: pd.Series, name: str) -> tuple[pd.Series, nz.Normalized]:
    normalizer = _NORMALIZERS.get(name, nz.unchanged)
    return nz.normalize_column(raw, normalizer, few_distinct=name not in _MOSTLY_DISTINCT)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column's values as an object array; an absent column reads as all empty."""
    if name in frame.columns:
        return frame[name].to_numpy(dtype=object)
    return np.full(len(frame), "", dtype=object)


def _skip_mask(frame: pd.DataFrame) -> np.ndarray:
    return _column(frame, "ignore_validation") == "1"


def _checked_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """What pandera sees: the checked fields, with the record id and address always present."""
    names = [name for name in (*_FORMATS, "fullAddress") if name in frame.columns]
    data = {name: frame[name] for name in names}
    for name in (RECORD_ID, "address"):
        data[name] = pd.Series(_column(frame, name), index=frame.index)
    return pd.DataFrame(data, index=frame.index, copy=False)


def _schema(
    frame: pd.DataFrame,
    skip: np.ndarray,
    on_duplicate: str,
    parsed: pd.DataFrame | None,
    repaired: dict[str, nz.Normalized],
) -> pa.DataFrameSchema:
    columns: dict[str, list[pa.Check]] = {name: [] for name in _FORMATS if name in frame}
    keep = "first" if on_duplicate == "reject" else "last"
    columns[RECORD_ID] = [
        _vector_check("missing_record_id", lambda ids: ids.to_numpy() != ""),
        _vector_check(
            "duplicate_record_id",
            lambda ids: ~ids.duplicated(keep=keep).to_numpy() | (ids.to_numpy() == ""),
        ),
    ]
    kept = np.zeros(len(frame), dtype=bool)
    for name in [name for name in columns if name != RECORD_ID]:
        skipped = kept if name in _ALWAYS_CHECKED else skip
        for code, test in _FORMATS[name]:
            columns[name].append(_format_check(name, code, test, skipped, repaired[name]))
    if parsed is not None:
        problem = parsed["code"].to_numpy(dtype=object)
        columns["fullAddress"] = [
            _vector_check(code, _not_this_problem(problem, code, skip)) for code in _ADDRESS_CODES
        ]
    columns["address"] = [
        _vector_check("missing_address", lambda _: _has_address(frame) | skip),
    ]
    if "browser_redirect" in frame:
        columns["browser_redirect"] += [
            _vector_check("missing_calendar", lambda _: _has_calendar(frame)),
            _vector_check("missing_deal", lambda _: _has_deal(frame)),
        ]
    return pa.DataFrameSchema(
        {name: pa.Column(checks=checks, nullable=True) for name, checks in columns.items()}
    )


def _not_this_problem(
    problem: np.ndarray, code: str, skip: np.ndarray
) -> Callable[[pd.Series], np.ndarray]:
    """A test passed where a parsed address does not have the problem `code`."""
    return lambda _: (problem != code) | skip


def _vector_check(code: str, test: Callable[[pd.Series], np.ndarray]) -> pa.Check:
    """A pandera check named by its problem code; `test` gets the column, returns a mask.

    The checked columns hold text only ("" for empty, never NaN): with ignore_na pandera
    would look for missing values before every check, a pass over the column each time.
    """
    return pa.Check(
        lambda values: pd.Series(test(values), index=values.index), name=code, ignore_na=False
    )


def _format_check(
    name: str,
    code: str,
    test: Callable[[pd.Series], pd.Series],
    skip: np.ndarray,
    known: nz.Normalized,
) -> pa.Check:
    """Empty cells and ignore_validation rows pass; few-distinct fields test each value once.

    `known` is the field's normalizing, which may know the answer already."""

    def passes(values: pd.Series) -> np.ndarray:
        good = known.tested(test)
        if good is None and name in _MOSTLY_DISTINCT:
            good = test(values).to_numpy(dtype=bool)
        elif good is None:
            good = nz.per_distinct(test, values)
        return good | (values.to_numpy(dtype=object) == "") | skip

    return _vector_check(code, passes)


def _has_address(frame: pd.DataFrame) -> np.ndarray:
    """fullAddress, or address + state + (city or zip). Invalid state/zip still count here."""
    present = {name: _column(frame, name) != "" for name in ("fullAddress", "address", "state")}
    city_or_zip = (_column(frame, "city") != "") | (_column(frame, "zip") != "")
    return present["fullAddress"] | (present["address"] & present["state"] & city_or_zip)


def _has_calendar(frame: pd.DataFrame) -> np.ndarray:
    scheduling = _column(frame, "browser_redirect") == "scheduling"
    calendar = (_column(frame, "calendar") != "") | (_column(frame, "calendar_id") != "")
    return ~scheduling | calendar


def _has_deal(frame: pd.DataFrame) -> np.ndarray:
    return (_column(frame, "browser_redirect") != "deal") | (_column(frame, "createDeal") != "")


def _failures(schema: pa.DataFrameSchema, checked: pd.DataFrame) -> pd.DataFrame:
    """(index, column, check) of every failing cell, one row per (row, rule)."""
    try:
        schema.validate(checked, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        if cases["index"].isna().any() or not cases["check"].isin(MESSAGES).all():
            # A check that raised, or a schema-level failure: a bug here, not a row problem.
            raise RuntimeError(f"lead validation failed unexpectedly: {exc}") from exc
        return cases[["index", "column", "check"]].drop_duplicates()
    return pd.DataFrame({"index": [], "column": [], "check": []})


def _report_errors(report: ProblemReport, failures: pd.DataFrame, on_duplicate: str) -> None:
    for (field, code), group in failures.groupby(["column", "check"], sort=False):
        labels = pd.Index(group["index"].to_numpy())
        details = _error_details(str(field), str(code), labels, report, on_duplicate)
        report.add(str(field), str(code), labels, **details)


def _error_details(
    field: str, code: str, labels: pd.Index, report: ProblemReport, on_duplicate: str
) -> dict[str, object]:
    """Values a message needs beyond the cell: the other row of a duplicate, missing parts,
    why a value is refused."""
    frame = report.frame
    if field == "fullAddress" and report.parsed is not None:
        return {"why": report.parsed["why"].loc[labels]}
    if code == "invalid_mobile":
        typed = report.typed[field].loc[labels]
        return {"why": typed.map(phones.mobile_problem)}
    if code == "military_address":
        return {"why": _MILITARY_WHY}
    if code == "not_us_address" and field == "state":
        regions = frame[field].loc[labels].map(FOREIGN_REGIONS)
        return {"why": "is " + regions + ", not the United States"}
    if code == "not_us_address":
        return {"why": _CANADIAN_WHY if field == "zip" else _COUNTRY_WHY}
    if code == "duplicate_record_id":
        ids = frame[RECORD_ID]
        keep = "first" if on_duplicate == "reject" else "last"
        shared = ids[ids.isin(ids.loc[labels].unique())]
        kept = shared[~shared.duplicated(keep=keep)]
        kept_row = pd.Series(kept.index, index=kept.to_numpy())
        return {"other": ids.loc[labels].map(kept_row).astype(str), "kept": keep}
    if code == "missing_address":
        rows = frame.index.get_indexer(labels)
        lacks = 4 * (_column(frame, "address")[rows] == "")
        lacks += 2 * (_column(frame, "state")[rows] == "")
        no_zip = (_column(frame, "city")[rows] == "") & (_column(frame, "zip")[rows] == "")
        return {"parts": _MISSING_PARTS[lacks + no_zip]}
    return {}


def _report_repairs(report: ProblemReport, repaired: dict[str, nz.Normalized]) -> None:
    for field, result in repaired.items():
        for code, labels in result.warnings.items():
            report.add(field, code, labels)


def _report_suspicions(report: ProblemReport, skip: np.ndarray) -> None:
    """Sendable but suspicious: a zip of no state or of another state, a PO box, a
    browser-only option."""
    frame = report.frame
    if "zip" in frame:
        states = frame.get("state")
        _report_zip_place(report, "zip", frame["zip"], states, skip)
    if "address" in frame:
        boxes = ad.is_po_box(frame["address"]) & ~skip
        report.add("address", "po_box", frame.index[boxes])
    if report.parsed is not None:
        _report_full_address(report, report.parsed, skip)
    if "browser_redirect" in frame:
        redirects = frame["browser_redirect"]
        ignored = frame.index[nz.per_distinct(nz.is_browser_redirect, redirects) & ~skip]
        report.add("browser_redirect", "browser_redirect_ignored", ignored)


def _report_zip_place(
    report: ProblemReport,
    field: str,
    zips: pd.Series,
    states: pd.Series | None,
    skip: np.ndarray,
) -> None:
    """zip_unknown_prefix and zip_state_mismatch for valid zips (of a column or addresses)."""
    valid_zip, known, elsewhere_mask = zip_places(zips, states)
    unknown = zips.index[valid_zip & ~known & ~skip]
    report.add(field, "zip_unknown_prefix", unknown, new=zips[unknown])
    if states is None:
        return
    elsewhere = zips.index[elsewhere_mask & ~skip]
    owner = zips.loc[elsewhere].str.slice(0, 3).map(PREFIX_OWNER_TEXT)
    report.add(
        field,
        "zip_state_mismatch",
        elsewhere,
        owner=owner,
        state=states[elsewhere],
        new=zips[elsewhere],
    )


def zip_places(
    zips: pd.Series, states: pd.Series | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: a valid zip; its prefix known; a valid zip of a known prefix beside a valid
    state it is not in (False for all without `states`).

    Each distinct zip, state and (zip, state) pair is judged once: a sheet has few, and
    the prefix tables would otherwise be looked up five times per row.
    """
    if not len(zips):
        return (np.zeros(0, dtype=bool),) * 3
    codes, distinct = pd.factorize(zips.to_numpy(dtype=object))
    zip_values = pd.Series(distinct, dtype=object)
    valid_zip = nz.is_zip(zip_values).to_numpy(dtype=bool)[codes]
    known = zip_prefix_known(zip_values)[codes]
    if states is None:
        return valid_zip, known, np.zeros(len(zips), dtype=bool)
    state_codes, state_distinct = pd.factorize(states.to_numpy(dtype=object))
    state_values = pd.Series(state_distinct, dtype=object)
    checkable = known & nz.is_state(state_values).to_numpy(dtype=bool)[state_codes]
    pairs, pair_rows = np.unique(codes * len(state_distinct) + state_codes, return_inverse=True)
    pair_zips = zip_values.iloc[pairs // len(state_distinct)].reset_index(drop=True)
    pair_states = state_values.iloc[pairs % len(state_distinct)].reset_index(drop=True)
    in_state = zip_in_state(pair_zips, pair_states)[pair_rows]
    return valid_zip, known, checkable & ~in_state


def _report_full_address(report: ProblemReport, parsed: pd.DataFrame, skip: np.ndarray) -> None:
    """The zip repaired inside an address, its zip's place, and a PO box street."""
    good = (parsed["code"] == "").to_numpy() & ~skip
    padded = parsed.index[good & (parsed["zip_typed"] != "").to_numpy()]
    report.add(
        "fullAddress",
        "zip_zero_padded",
        padded,
        value=quoted(parsed["zip_typed"].loc[padded].to_numpy(dtype=object)),
        new=parsed["zip"].loc[padded],
    )
    zips = pd.Series(np.where(good, _zip5(parsed["zip"]), ""), index=parsed.index, dtype=object)
    states = parsed["state"].where(good, "")
    _report_zip_place(report, "fullAddress", zips, states, skip)
    boxes = ad.is_po_box(parsed["street"]) & good
    report.add("fullAddress", "po_box", parsed.index[boxes])


def _zip5(zips: pd.Series) -> np.ndarray:
    """The first five characters of each zip (ZIP+4 cut to its zip), as `.str.slice(0, 5)`.

    Cut once per distinct zip and spread back by code: a column holds few distinct zips,
    and one Python slice per row cost 0.12 s of 1M rows (benchmarks/run.py dry_heavy).
    """
    codes, distinct = pd.factorize(zips.to_numpy(dtype=object))
    return np.array([zip_code[:5] for zip_code in distinct.tolist()], dtype=object)[codes]
