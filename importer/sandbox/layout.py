"""The frame of the sandbox's pages for people: style, header, footer, escaping. No data access.

Lead values are attacker-controlled, so every value goes through `html_text`; the
Content-Security-Policy below allows no script at all, as a second fence.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

# Sent with every page for people: no script, no plugins, no framing, no caching.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_NAV = (("/", "Leads and requests"), ("/docs", "How to post"))

_STYLE = """
:root { --ink: #1d2433; --muted: #5b6476; --line: #e2e6ee; --bg: #f4f6f9; --panel: #fff;
  --brand: #14213d; --sun: #f5a623; --code: #eef1f6; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
a { color: #0b5cad; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
.top { background: var(--brand); color: #fff; }
.top .wrap { display: flex; align-items: center; gap: 14px; min-height: 56px; flex-wrap: wrap; }
.brand { font-size: 18px; font-weight: 650; display: flex; align-items: center; gap: 10px; }
.logo { width: 16px; height: 16px; border-radius: 50%; background: var(--sun);
  box-shadow: 0 0 0 4px rgba(245, 166, 35, .28); }
.badge { font-size: 11px; letter-spacing: .06em; text-transform: uppercase; color: #d7deea;
  border: 1px solid rgba(255, 255, 255, .25); border-radius: 999px; padding: 1px 8px; }
nav { margin-left: auto; display: flex; gap: 4px; }
nav a { color: #cdd5e3; text-decoration: none; padding: 6px 10px; border-radius: 6px; }
nav a[aria-current="page"] { color: #fff; background: rgba(255, 255, 255, .14); }
main.wrap { padding-top: 20px; padding-bottom: 8px; }
h1 { font-size: 20px; margin: 4px 0 14px; }
h2 { font-size: 16px; margin: 26px 0 8px; }
h2 .note { color: var(--muted); font-size: 13px; font-weight: 400; margin-left: 6px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 18px; margin-bottom: 16px; }
.panel p { margin: 6px 0; }
.label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
.endpoint .url { font-size: 14px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas,
  "Liberation Mono", monospace; font-size: 12.5px; }
code { background: var(--code); border-radius: 4px; padding: 1px 5px; }
pre { background: #0f1729; color: #e6ebf5; border-radius: 8px; padding: 12px 14px;
  overflow-x: auto; line-height: 1.5; }
.muted { color: var(--muted); }
.counts { display: grid; grid-template-columns: repeat(auto-fit, minmax(118px, 1fr));
  gap: 10px; margin-bottom: 8px; }
.count { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 9px 14px; border-top: 3px solid var(--line); }
.count .n { display: block; font-size: 22px; font-weight: 650;
  font-variant-numeric: tabular-nums; }
.count .what { color: var(--muted); font-size: 12px; }
.count.ok { border-top-color: #2da44e; } .count.info { border-top-color: #3b82f6; }
.count.warn { border-top-color: #d4a72c; } .count.bad { border-top-color: #cf222e; }
.count.fault { border-top-color: #8250df; }
table { width: 100%; border-collapse: separate; border-spacing: 0; background: var(--panel);
  border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: #f0f3f8; color: var(--muted); font-size: 12px; font-weight: 600;
  white-space: nowrap; }
td { overflow-wrap: anywhere; }
tbody tr:nth-child(even) td { background: #fafbfd; }
tbody tr:last-child td { border-bottom: 0; }
td.time, td.num, td.code, td.nowrap { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.mono { font-size: 13px; line-height: 20px; padding-top: 8px; }
.pill { display: inline-block; border-radius: 999px; padding: 0 8px; font-size: 12px;
  font-weight: 600; background: #eef1f6; color: var(--muted); white-space: nowrap; }
.pill.ok { background: #dafbe1; color: #116329; }
.pill.info { background: #ddf4ff; color: #0a4a8a; }
.pill.warn { background: #fff8c5; color: #7d4e00; }
.pill.bad { background: #ffebe9; color: #a40e26; }
.pill.fault { background: #fbefff; color: #6e40c9; }
.capped { background: #fff8c5; border: 1px solid #eed888; border-radius: 6px;
  padding: 6px 10px; margin: 0 0 8px; }
.empty { background: var(--panel); border: 1px dashed #c5ccd8; border-radius: 8px;
  padding: 16px 18px; }
.empty p { margin: 4px 0 8px; }
footer { color: var(--muted); font-size: 12px; padding: 14px 0 28px; }
"""


def html_text(value: Any) -> str:
    """Escaped text for element content and attribute values ('' for None)."""
    return "" if value is None else escape(str(value), quote=True)


def document(title: str, body: str, current: str, refresh_seconds: int | None = None) -> bytes:
    """A whole page: `body` is HTML already escaped; `current` is the nav path to mark."""
    refresh = (
        f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">\n' if refresh_seconds else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{refresh}<title>{html_text(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{_header(current)}\n"
        f'<main class="wrap">\n{body}\n</main>\n</body>\n</html>\n'
    ).encode()


def table(table_id: str, columns: Iterable[tuple[str, str]], rows: Iterable[Iterable[str]]) -> str:
    """A table: `columns` are (label, CSS class of its cells); cells are HTML already."""
    specs = list(columns)
    head = "".join(f"<th>{label}</th>" for label, _ in specs)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{css}">{cell}</td>' if css else f"<td>{cell}</td>"
            for (_, css), cell in zip(specs, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _header(current: str) -> str:
    marked = ' aria-current="page"'
    links = "".join(
        f'<a href="{path}"{marked if path == current else ""}>{label}</a>' for path, label in _NAV
    )
    return (
        '<header class="top"><div class="wrap">'
        '<div class="brand"><span class="logo" aria-hidden="true"></span>Enerflo sandbox</div>'
        '<span class="badge">local rehearsal API</span>'
        f"<nav>{links}</nav></div></header>"
    )
