"""Read a column-mapping YAML file into a ColumnMapping, refusing every fault; no sheet data."""

from __future__ import annotations

import difflib
import zoneinfo
from pathlib import Path
from typing import Any, NoReturn

import yaml

from importer.errors import MappingError
from importer.mapping.model import (
    APPOINTMENT_FIELDS,
    APPOINTMENT_REQUIRED,
    CHECK_FIELDS,
    LEAD_FIELDS,
    ON_DUPLICATE,
    OPTION_KEYS,
    SOURCE_KEYS,
    SOURCE_KINDS,
    SURVEY_FILE_FIELDS,
    TOP_KEYS,
    ColumnMapping,
    FieldSource,
    parse_template,
)
from importer.syntax import compact

# Names people type for lead fields (the API page itself says "office name"), compacted.
_FIELD_ALIASES = {"phone": "mobile", "phonenumber": "mobile", "cell": "mobile", "zipcode": "zip"}


# ---------------------------------------------------------------- YAML reading


class _Keyed(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line of each key, for messages."""

    lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    """Safe loader that keeps scalars as typed (02134 stays "02134", yes stays "yes")."""


def _construct_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


def _construct_keyed(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Keyed:
    loader.flatten_mapping(node)
    result = _Keyed()
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mark = key_node.start_mark
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(None, None, "a key must be text", mark)
        if key in result:
            first = result.lines[key]
            problem = f'key "{key}" appears twice (first at line {first})'
            raise yaml.constructor.ConstructorError(None, None, problem, mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = mark.line + 1
    return result


for _tag in ("bool", "int", "float", "timestamp"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _construct_text)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_keyed)


def _read_yaml(text: str, origin: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = (exc.problem or exc.context or "unreadable").replace("'\\t'", "a tab")
        hint = None
        if not isinstance(exc, yaml.constructor.ConstructorError):
            hint = "check the indentation (spaces, not tabs) and quote text containing ': ' or '#'"
        raise MappingError(f"{origin}: not valid YAML{at}: {problem}", hint) from exc
    except yaml.YAMLError as exc:
        first_line = (str(exc).splitlines() or ["unreadable"])[0]  # e.g. a control character
        raise MappingError(f"{origin}: not valid YAML: {first_line}") from exc


# ---------------------------------------------------------------- parsing


class _Parser:
    """Turns the loaded YAML into a ColumnMapping, failing on the first problem found."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.warnings: list[str] = []

    def fail(self, what: str, line: int | None = None, hint: str | None = None) -> NoReturn:
        at = f" (line {line})" if line else ""
        raise MappingError(f"{self.origin}: {what}{at}", hint)

    def section(self, doc: dict[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        raw = doc.get(key)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.fail(f'"{key}" must be a set of keys, not {_kind(raw)}', _line(doc, key))
        self.no_unknown_keys(raw, allowed, f'"{key}"')
        return raw

    def no_unknown_keys(self, raw: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in raw:
            if key not in allowed:
                near = difflib.get_close_matches(key, allowed, n=1)
                guess = f'did you mean "{near[0]}"? ' if near else ""
                self.fail(
                    f'unknown key "{key}" in {where}',
                    _line(raw, key),
                    f"{guess}allowed keys: {', '.join(allowed)}",
                )

    def text(self, raw: Any, what: str, line: int | None) -> str:
        if isinstance(raw, str):
            return raw
        if raw is None:
            self.fail(f"{what} is empty", line)
        self.fail(f"{what} must be text, not {_kind(raw)}", line)

    def column_name(self, raw: Any, what: str, line: int | None) -> str:
        name = self.text(raw, what, line).strip()
        if not name:
            self.fail(f"{what} is empty", line)
        return name

    def source(
        self, raw: Any, name: str, line: int | None, extra: tuple[str, ...] = ()
    ) -> FieldSource:
        label = f'field "{name}"'
        if isinstance(raw, str) or raw is None:
            return FieldSource(column=self.column_name(raw, f"{label}'s column name", line))
        if not isinstance(raw, dict):
            self.fail(f"{label} must be a column name or keys such as {{column: Name}}", line)
        kinds = SOURCE_KINDS + tuple(k for k in extra if k != "format")
        allowed = kinds + ("default", "map") + tuple(k for k in extra if k == "format")
        self.no_unknown_keys(raw, allowed, label)
        given = [k for k in raw if k in kinds]
        if len(given) != 1:
            what = "names no source" if not given else f'has both "{given[0]}" and "{given[1]}"'
            self.fail(f"{label} {what}", line, f"give exactly one of {', '.join(kinds)}")
        kind = given[0]
        if kind == "value" and "default" in raw:
            self.fail(f"{label} has a default, which a constant value never uses", line)
        if "map" in raw and kind != "column":
            self.fail(
                f"{label} has a map, which only translates a column's cells",
                _line(raw, "map") or line,
                "write {column: Region, map: {North: Provo Office}}",
            )
        default = (
            self.text(raw["default"], f"{label}'s default", line) if "default" in raw else None
        )
        fmt = self.text(raw["format"], f"{label}'s format", line) if "format" in raw else None
        given_source: dict[str, Any] = {"default": default, "format": fmt}
        if kind == "value":
            given_source[kind] = self.text(raw[kind], f"{label}'s value", line)
        elif kind == "template":
            given_source[kind] = self.template(raw[kind], label, line)
        elif kind == "hash":
            given_source[kind] = self.hash_columns(raw[kind], label, line)
        elif kind == "column" and isinstance(raw[kind], list):
            first, *rest = self.column_list(raw[kind], label, _line(raw, kind) or line)
            given_source.update(column=first, fallbacks=tuple(rest))
        else:
            given_source[kind] = self.column_name(raw[kind], f"{label}'s {kind}", line)
        if "map" in raw:
            given_source["value_map"] = self.value_map(raw["map"], label, _line(raw, "map") or line)
        return FieldSource(**given_source)

    def column_list(self, raw: list[Any], label: str, line: int | None) -> list[str]:
        """`{column: [Mobile, Phone]}`: the columns to take the first non-empty cell of."""
        if not raw:
            self.fail(f"{label}'s column list is empty", line, "e.g. {column: [Mobile, Phone]}")
        names = [self.column_name(c, f"a column in {label}'s list", line) for c in raw]
        for i, name in enumerate(names):
            if name in names[:i]:
                self.fail(f'{label}\'s column list names "{name}" twice', line)
        return names

    def value_map(self, raw: Any, label: str, line: int | None) -> tuple[tuple[str, str], ...]:
        """`map: {North: Provo Office}`: cells to match (case and surrounding spaces
        ignored, so two keys may not differ only in those) and the values they become."""
        if not isinstance(raw, dict) or not raw:
            given = _kind(raw) if raw else "empty"
            self.fail(
                f"{label}'s map must be a table of cell: value, not {given}",
                line,
                "e.g. map: {North: Provo Office, South: St George Office}",
            )
        seen: dict[str, str] = {}
        pairs = []
        for key, value in raw.items():
            at = _line(raw, key) or line
            cell = key.strip()
            if not cell:
                self.fail(f"{label}'s map has an empty cell to match", at)
            folded = cell.casefold()
            if folded in seen:
                self.fail(
                    f'{label}\'s map has "{cell}" and "{seen[folded]}", which match the same '
                    "cells (case and surrounding spaces are ignored)",
                    at,
                )
            seen[folded] = cell
            pairs.append((cell, self.text(value, f'{label}\'s map value for "{cell}"', at)))
        return tuple(pairs)

    def template(self, raw: Any, label: str, line: int | None) -> str:
        template = self.text(raw, f"{label}'s template", line)
        try:
            parse_template(template)
        except ValueError as exc:
            self.fail(
                f'{label}\'s template "{template}" {exc}',
                line,
                'put column names in braces, "{Street}, {City}"; write "{{" or "}}" for a brace',
            )
        return template

    def hash_columns(self, raw: Any, label: str, line: int | None) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail(f"{label}'s hash must be a list of columns, e.g. [Email, Phone]", line)
        return tuple(self.column_name(c, f"a column in {label}'s hash", line) for c in raw)


def _line(raw: Any, key: str) -> int | None:
    return raw.lines.get(key) if isinstance(raw, _Keyed) else None


def _first_line(raw: Any) -> int | None:
    return min(raw.lines.values(), default=None) if isinstance(raw, _Keyed) else None


def _kind(raw: Any) -> str:
    return (
        "a list" if isinstance(raw, list) else "a set of keys" if isinstance(raw, dict) else "text"
    )


def _parse_document(doc: Any, parser: _Parser) -> dict[str, Any]:
    if doc is None:
        parser.fail("is empty", hint="a mapping needs at least `version: 1` and a `lead:` section")
    if not isinstance(doc, dict):
        parser.fail(f"must be a set of keys (version, lead, ...), not {_kind(doc)}")
    parser.no_unknown_keys(doc, TOP_KEYS, "the mapping")
    if "version" not in doc:
        parser.fail('has no "version"', hint="start the file with `version: 1`")
    if doc["version"] != "1":
        version = doc["version"]
        parser.fail(
            f'version "{version}" is not supported',
            _line(doc, "version"),
            "this importer reads `version: 1`",
        )
    return doc


def _parse_source(doc: dict[str, Any], parser: _Parser) -> tuple[str | None, int]:
    source = parser.section(doc, "source", SOURCE_KEYS)
    sheet = None
    if source.get("sheet") is not None:
        sheet = parser.column_name(source["sheet"], "source.sheet", _line(source, "sheet"))
    header_row = source.get("header_row")
    if header_row is None:
        return sheet, 1
    if not (isinstance(header_row, str) and header_row.isdigit() and int(header_row) >= 1):
        parser.fail(
            f'source.header_row must be a row number (1 or more), not "{header_row}"',
            _line(source, "header_row"),
        )
    return sheet, int(header_row)


def _parse_lead(
    doc: dict[str, Any], parser: _Parser
) -> tuple[dict[str, FieldSource], dict[str, FieldSource]]:
    """The lead fields, and the check-only fields (country) also written under `lead:`."""
    lead = doc.get("lead")
    hint = "map at least the id: `lead: {integration_record_id: Lead ID}`"
    if lead is None:
        parser.fail('has no "lead" section', _line(doc, "lead"), hint)
    if not isinstance(lead, dict) or not lead:
        parser.fail(
            f'"lead" must be a set of lead fields, not {_kind(lead)}', _line(doc, "lead"), hint
        )
    if "integration_record_id" not in lead:
        parser.fail(
            '"lead" does not map integration_record_id',
            _line(doc, "lead"),
            "map it from an id column, or derive a stable one: "
            "`integration_record_id: {hash: [Email, Phone]}`",
        )
    fields, checks = {}, {}
    for name, raw in lead.items():
        if name in CHECK_FIELDS:
            checks[name] = parser.source(raw, name, _line(lead, name))
            continue
        if name not in LEAD_FIELDS:
            parser.warnings.append(_unknown_lead_field_warning(name))
        fields[name] = parser.source(raw, name, _line(lead, name))
    return fields, checks


def _unknown_lead_field_warning(name: str) -> str:
    warning = f'lead field "{name}" is not in the Leads API; it is sent as text'
    short = compact(name)
    known = {compact(f): f for f in LEAD_FIELDS}
    guess = known.get(short) or _FIELD_ALIASES.get(short)
    return f'{warning} (did you mean "{guess}"?)' if guess else warning


def _parse_appointment(
    doc: dict[str, Any], parser: _Parser
) -> tuple[dict[str, FieldSource], str | None, str | None]:
    raw = parser.section(doc, "appointment", APPOINTMENT_FIELDS + ("timezone", "date_format"))
    if not raw:
        return {}, None, None
    for name in APPOINTMENT_REQUIRED:
        if name not in raw:
            parser.fail(
                f'"appointment" does not map {name}',
                _line(doc, "appointment"),
                f"an appointment needs {', '.join(APPOINTMENT_REQUIRED)}",
            )
    fields = {}
    for name, value in raw.items():
        if name in APPOINTMENT_FIELDS:
            extra = ("format",) if name == "date_time" else ()
            fields[name] = parser.source(value, f"appointment.{name}", _line(raw, name), extra)
    timezone = _parse_timezone(raw, parser)
    date_format = None
    if "date_format" in raw:
        date_format = parser.text(
            raw["date_format"], "appointment.date_format", _line(raw, "date_format")
        )
        if date_format != "U":
            parser.fail(
                f'appointment.date_format must be "U" (unix seconds), not "{date_format}"',
                _line(raw, "date_format"),
            )
    return fields, timezone, date_format


def _parse_timezone(raw: dict[str, Any], parser: _Parser) -> str | None:
    if raw.get("timezone") is None:
        return None
    line = _line(raw, "timezone")
    zone = parser.text(raw["timezone"], "appointment.timezone", line).strip()
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingError(
            f'{parser.origin}: appointment.timezone "{zone}" is not a known zone (line {line})',
            hint="use an IANA name such as America/Denver, America/New_York or UTC",
        ) from exc
    return zone


def _parse_survey(doc: dict[str, Any], parser: _Parser) -> list[dict[str, FieldSource]]:
    raw = parser.section(doc, "survey_data", ("files",))
    if not raw:
        return []
    files = raw.get("files")
    if not isinstance(files, list) or not files:
        parser.fail(
            "survey_data.files must be a list of files (name, data, type)", _line(raw, "files")
        )
    return [
        _parse_survey_file(entry, i, parser, _line(raw, "files")) for i, entry in enumerate(files)
    ]


def _parse_survey_file(
    entry: Any, i: int, parser: _Parser, line: int | None
) -> dict[str, FieldSource]:
    where = f"survey_data.files[{i}]"
    if not isinstance(entry, dict):
        parser.fail(f"{where} must have keys name, data and type, not {_kind(entry)}", line)
    parser.no_unknown_keys(entry, SURVEY_FILE_FIELDS, where)
    for name in SURVEY_FILE_FIELDS:
        if name not in entry:
            parser.fail(
                f"{where} does not map {name}",
                _first_line(entry) or line,
                "each file needs name, data and type",
            )
    result = {}
    for name in SURVEY_FILE_FIELDS:
        extra = ("file",) if name == "data" else ()
        source = parser.source(entry[name], f"{where}.{name}", _line(entry, name), extra)
        if name == "data" and source.file is None and source.column is None:
            parser.fail(
                f'field "{where}.data" must be {{file: Column}} or {{column: Column}}',
                _line(entry, name),
            )
        result[name] = source
    return result


def _parse_options(doc: dict[str, Any], parser: _Parser) -> str:
    options = parser.section(doc, "options", OPTION_KEYS)
    if options.get("on_duplicate") is None:
        return "reject"
    line = _line(options, "on_duplicate")
    value = parser.text(options["on_duplicate"], "options.on_duplicate", line)
    if value not in ON_DUPLICATE:
        parser.fail(f'options.on_duplicate must be reject or last, not "{value}"', line)
    return value


def parse_mapping(text: str, origin: str) -> ColumnMapping:
    """Parse mapping YAML text; `origin` names it in messages. Raises MappingError on any fault.

    Unknown lead fields are kept (sent as text) and reported in `warnings`.
    """
    parser = _Parser(origin)
    doc = _parse_document(_read_yaml(text, origin), parser)
    sheet, header_row = _parse_source(doc, parser)
    lead, checks = _parse_lead(doc, parser)
    appointment, timezone, date_format = _parse_appointment(doc, parser)
    return ColumnMapping(
        path=None,
        text=text,
        sheet=sheet,
        header_row=header_row,
        lead=lead,
        appointment=appointment,
        checks=checks,
        appointment_timezone=timezone,
        appointment_date_format=date_format,
        survey_files=_parse_survey(doc, parser),
        on_duplicate=_parse_options(doc, parser),
        warnings=parser.warnings,
        origin=origin,
    )


def load_mapping(path: Path) -> ColumnMapping:
    """Read and parse a mapping file; a missing or unreadable file is a MappingError too."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise MappingError(
            f"{path}: mapping file not found",
            hint=f"write one with `enerflo-import suggest-mapping SOURCE -o {path}`",
        ) from exc
    except IsADirectoryError as exc:
        raise MappingError(f"{path}: is a folder, not a mapping file") from exc
    except UnicodeDecodeError as exc:
        raise MappingError(f"{path}: not UTF-8 text", hint="save the mapping as UTF-8") from exc
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping ({exc.strerror})") from exc
    mapping = parse_mapping(text, str(path))
    mapping.path = Path(path)
    return mapping
