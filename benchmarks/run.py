"""`make bench`: each figure is a ratio to a baseline measured in the same run, never a timed test.

Usage: python benchmarks/run.py [--quick] [--only NAME ...]
  dry_xlsx   dry run of a 100,000-row xlsx vs calamine read + a write of the same cells
             (+8 status columns) with XlsxWriter, and with openpyxl write-only (issue 7's floor)
  dry_csv    dry run of a 1,000,000-row csv vs pandas read_csv + to_csv (time and peak memory)
  dry_heavy  the same csv with a mapping of templates, defaults and a hash id
  send       per-row cost of `send` vs a bare requests.Session loop, same payloads, same sandbox
  pacing     achieved rate as a share of --rate-limit, and the number of 429s
  latency    achieved rate as a share of --rate-limit 300 at sandbox latencies of 0, 200, 600
             and 1,000 ms, one request at a time and with --concurrency 4 and 8
  ledger     list A (2,000 rows), then list B (A's rows shuffled, 10 edited, 50 new, as xlsx)
             to the same destination: rows B posts, and its time vs B with --resend
  startup    `enerflo-import --version` and `--help` vs `python -c pass`
--quick divides the sizes by 10 (a smoke run; the targets are for the full sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
PY = sys.executable
SCALE = 1
ROUNDS = 3  # the dry runs alternate with their baseline this many times, best of each kept


def main() -> None:
    global SCALE
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    SCALE = 10 if args.quick else 1
    DATA.mkdir(parents=True, exist_ok=True)
    benches = {
        "startup": bench_startup,
        "dry_xlsx": bench_dry_xlsx,
        "dry_csv": bench_dry_csv,
        "dry_heavy": bench_dry_heavy,
        "send": bench_send,
        "pacing": bench_pacing,
        "latency": bench_latency,
        "ledger": bench_ledger,
    }
    for name, bench in benches.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        bench()


def report(label: str, value: float, baseline: float, target: float, unit: str = "s") -> None:
    ratio = value / baseline if baseline else float("inf")
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(
        f"  {label}: {value:.3f}{unit} vs baseline {baseline:.3f}{unit} -> {ratio:.2f}x "
        f"(target <= {target}x) {verdict}",
        flush=True,
    )


def timed_child(code: str) -> tuple[float, int]:
    """Run `code` in a fresh interpreter; return (wall seconds of the measured part, peak RSS KiB)."""
    wrapper = (
        "import time, resource, json, sys\n"
        "t0 = time.perf_counter()\n"
        f"{code}\n"
        "t = time.perf_counter() - t0\n"
        "print(json.dumps({'t': t, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))\n"
    )
    out = subprocess.run([PY, "-c", wrapper], capture_output=True, text=True, cwd=ROOT, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["t"], data["rss"]


# --- data --------------------------------------------------------------------------------

# The sample sheet's columns and mapping: the benchmark measures what users run.
sys.path.insert(0, str(ROOT / "sample_data"))
from make_samples import HEADER as COLUMNS  # noqa: E402

MAPPING = ROOT / "mappings" / "sample.yaml"


def rows(n: int) -> list[list[str]]:
    states = [
        ("UT", "84045", "Saratoga Springs"),
        ("MA", "02134", "Boston"),
        ("AZ", "85003", "Phoenix"),
        ("CO", "80202", "Denver"),
    ]
    out = []
    for i in range(n):
        state, zip_code, city = states[i % 4]
        phone = f"(801) 555-{i % 10000:04d}"
        if i % 50 == 0:
            zip_code = "ABCDE"  # some invalid rows, as in real lists
        out.append(
            [
                f"L{i:07d}",
                f"First{i}",
                f"Last{i}",
                f"lead{i}@example.com",
                phone,
                f"{i} Main St",
                city,
                state,
                zip_code,
                "",
                "Facebook",
                "",
            ]
        )
    return out


def xlsx_file(n: int) -> Path:
    path = DATA / f"leads_{n}.xlsx"
    if not path.exists():
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = book.add_worksheet("Leads")
        sheet.write_row(0, 0, COLUMNS)
        for r, values in enumerate(rows(n), start=1):
            for c, value in enumerate(values):
                sheet.write_string(r, c, value)
        book.close()
    return path


def csv_file(n: int) -> Path:
    path = DATA / f"leads_{n}.csv"
    if not path.exists():
        import csv

        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(rows(n))
    return path


def validate_code(src: Path, mapping: Path, out: Path) -> str:
    """Child-process code for one `enerflo-import validate` run (exit 4 is expected)."""
    return f"""
from importer.cli import main
import sys
sys.argv = ['enerflo-import', 'validate', {str(src)!r}, '-m', {str(mapping)!r}, '-o', {str(out)!r}, '--quiet']
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, 4), exc.code
"""


def bare_post_loop(box, bodies: list[dict]) -> float:
    """Seconds for the baseline: a plain keep-alive requests.Session posting each body."""
    import requests

    url = f"{box.base_url}/api/v1/partner/action/lead/add"
    with requests.Session() as session:
        t0 = time.perf_counter()
        for body in bodies:
            session.post(url, json=body, headers={"api-key": box.api_key}, timeout=(5, 30)).json()
        return time.perf_counter() - t0


# --- benches -----------------------------------------------------------------------------


def bench_startup() -> None:
    def best(cmd: list[str], n: int = 5) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
        return min(times)

    base = best([PY, "-c", "pass"])
    report("--version", best([PY, "-m", "importer", "--version"]), base, 6.0)
    report("--help", best([PY, "-m", "importer", "--help"]), base, 6.0)
    probe = subprocess.run(
        [
            PY,
            "-c",
            "import sys, importer.cli; print('pandas' in sys.modules, 'pandera' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    print(f"  pandas imported at start-up: {probe[0]}, pandera: {probe[1]} (target: False, False)")


def bench_dry_xlsx() -> None:
    n = 100_000 // SCALE
    src, mapping = xlsx_file(n), MAPPING
    with tempfile.TemporaryDirectory() as tmp:
        floor_code = f"""
from python_calamine import CalamineWorkbook
import xlsxwriter
rows = CalamineWorkbook.from_path({str(src)!r}).get_sheet_by_index(0).to_python()
book = xlsxwriter.Workbook({tmp + "/floor.xlsx"!r}, {{'constant_memory': True, 'strings_to_numbers': False, 'strings_to_formulas': False, 'strings_to_urls': False}})
sheet = book.add_worksheet('Leads')
extra = ['valid', '', '', 'L', '', '', '', '']
for r, values in enumerate(rows):
    for c, value in enumerate(list(values) + extra):
        sheet.write_string(r, c, str(value))
book.close()
"""
        floor, _ = timed_child(floor_code)
        # Issue 7's own floor: the same cells written with openpyxl's write-only mode.
        openpyxl_code = f"""
from python_calamine import CalamineWorkbook
from openpyxl import Workbook
rows = CalamineWorkbook.from_path({str(src)!r}).get_sheet_by_index(0).to_python()
book = Workbook(write_only=True)
sheet = book.create_sheet('Leads')
extra = ['valid', '', '', 'L', '', '', '', '']
for values in rows:
    sheet.append([str(v) for v in values] + extra)
book.save({tmp + "/floor_openpyxl.xlsx"!r})
"""
        openpyxl_floor, _ = timed_child(openpyxl_code)
        run, _ = timed_child(validate_code(src, mapping, Path(tmp) / "out.xlsx"))
    report(f"validate {n:,}-row xlsx -> xlsx (floor: XlsxWriter)", run, floor, 1.5)
    report(
        f"validate {n:,}-row xlsx -> xlsx (floor: openpyxl write-only)", run, openpyxl_floor, 1.5
    )


HEAVY_MAPPING = """version: 1
lead:
  integration_record_id: {hash: [Email, Phone]}
  full_name: {template: "{First Name} {Last Name}"}
  email: Email
  mobile: Phone
  fullAddress: {template: "{Street}, {City}, {State} {Zip}"}
  office_name: {column: Office, default: Utah Office}
  lead_source: {column: Lead Source, default: Unknown}
  lead_status: {value: Needs Contact}
  add_note: {template: "Lead {Lead ID}: {Notes}", default: no note}
"""


def bench_dry_heavy() -> None:
    """The 1M-row dry run with templates, defaults and a hash id (target <= 2.5x)."""
    mapping = DATA / "heavy.yaml"
    mapping.write_text(HEAVY_MAPPING)
    _dry_csv(mapping, "templates, defaults, hash ids", 2.5)


def bench_dry_csv() -> None:
    _dry_csv(MAPPING, "the sample mapping", 2.0)


def _dry_csv(mapping: Path, what: str, target: float) -> None:
    n = 1_000_000 // SCALE
    src = csv_file(n)
    with tempfile.TemporaryDirectory() as tmp:
        floor_code = f"""
import pandas as pd
df = pd.read_csv({str(src)!r}, dtype=str, keep_default_na=False)
df.to_csv({tmp + "/floor.csv"!r}, index=False)
"""
        floors, runs = [], []
        for _round in range(ROUNDS):  # alternate; the best time of each side, the largest peak
            floors.append(timed_child(floor_code))
            runs.append(timed_child(validate_code(src, mapping, Path(tmp) / "out.csv")))
        floor, floor_rss = min(t for t, _ in floors), max(m for _, m in floors)
        run, run_rss = min(t for t, _ in runs), max(m for _, m in runs)
    report(f"validate {n:,}-row csv -> csv, {what}", run, floor, target)
    report("peak memory", run_rss / 1024, floor_rss / 1024, 3.0, unit=" MiB")


def _payloads(n: int) -> list[dict]:
    return [
        {
            "lead": {
                "integration_record_id": f"B{i}",
                "first_name": "Ada",
                "last_name": "L",
                "address": f"{i} Main St",
                "city": "Provo",
                "state": "UT",
                "zip": "84601",
                "mobile": "8015550000",
                "email": f"b{i}@example.com",
            }
        }
        for i in range(n)
    ]


def bench_send() -> None:

    from importer.sandbox import running_sandbox
    from importer.sending.sender import LeadSender, SenderConfig

    n = 2000 // SCALE
    payloads = _payloads(n)
    with running_sandbox(port=0, rate_limit=0) as box:
        for _round in range(2):  # second round counts: warmed up, both on an empty sandbox
            box.reset()
            bare = bare_post_loop(box, payloads)
            box.reset()
            sender = LeadSender(SenderConfig(box.base_url, "partner", box.api_key, rate_limit=0))
            t0 = time.perf_counter()
            for body in payloads:
                sender.send(body)
            ours = time.perf_counter() - t0
            sender.close()
    report(
        f"LeadSender.send per row ({n} rows)", ours / n * 1000, bare / n * 1000, 1.25, unit=" ms"
    )
    _bench_send_pipeline(n)


def _bench_send_pipeline(n: int) -> None:
    """Per-row cost of a whole `send` (read, validate, send, journal fsync, write the
    results), end to end, against a bare requests loop posting the same bodies."""

    import importer
    from importer.mapping.load import load_mapping
    from importer.reading.sheet import read_sheet
    from importer.run.rows import prepare_rows
    from importer.sandbox import running_sandbox
    from importer.sending.payload import PayloadBuilder

    src = csv_file(n)
    prepared = prepare_rows(read_sheet(src), load_mapping(MAPPING), src.parent)
    builder = PayloadBuilder(prepared.records.refs())
    table = prepared.records.table(prepared.valid_rows)
    bodies = [builder.build_values(values) for _, *values in table.itertuples(name=None)]
    bare_times, our_times = [], []
    with tempfile.TemporaryDirectory() as tmp, running_sandbox(port=0, rate_limit=0) as box:
        for _round in range(3):  # alternate, each on an empty sandbox; keep the best of each
            box.reset()
            bare_times.append(bare_post_loop(box, bodies))
            box.reset()
            t0 = time.perf_counter()
            importer.send(
                src, MAPPING, api_key=box.api_key, base_url=box.base_url, rate_limit=0,
                out=Path(tmp) / "out.xlsx", fresh=True, ledger=False,
            )  # fmt: skip
            our_times.append(time.perf_counter() - t0)
    bare, ours = min(bare_times), min(our_times)
    rows = len(bodies)
    report(
        f"whole send per row, end to end ({rows} rows)",
        ours / rows * 1000,
        bare / rows * 1000,
        1.25,
        unit=" ms",
    )


def bench_pacing() -> None:
    from importer.sandbox import running_sandbox
    from importer.sending.sender import LeadSender, SenderConfig

    limit = 600
    seconds = 20 if SCALE == 1 else 6
    n = limit * seconds // 60
    payloads = _payloads(n)
    with running_sandbox(port=0, rate_limit=limit) as box:
        sender = LeadSender(SenderConfig(box.base_url, "partner", box.api_key, rate_limit=limit))
        t0 = time.perf_counter()
        for body in payloads:
            sender.send(body)
        elapsed = time.perf_counter() - t0
        sender.close()
        too_many = sum(1 for r in box.requests() if r["status_code"] == 429)
    achieved = n / elapsed * 60
    share = achieved / limit
    verdict = "ok" if share >= 0.95 and too_many == 0 else "UNDER TARGET"
    print(
        f"  paced {n} rows at --rate-limit {limit}/min: {achieved:.0f}/min = {share:.1%} of the "
        f"limit, {too_many} x 429 (target >= 95%, no 429) {verdict}",
        flush=True,
    )


def bench_latency() -> None:
    """Achieved rate at real answer times: one request at a time, and several in flight."""
    import importer
    from importer.sandbox import running_sandbox

    limit = 300
    seconds = 30 if SCALE == 1 else 8
    src = csv_file(2000)
    print(f"  {seconds} s of sending per cell; --rate-limit {limit}; sandbox limit {limit}/min")
    print("  latency   concurrency 1        concurrency 4        concurrency 8")
    for latency in (0, 200, 600, 1000):
        cells = []
        for concurrency in (1, 4, 8):
            with (
                tempfile.TemporaryDirectory() as tmp,
                running_sandbox(port=0, rate_limit=limit, latency_ms=latency) as box,
            ):
                clock = _Stopwatch(seconds)
                report = importer.send(
                    src, MAPPING, api_key=box.api_key, base_url=box.base_url,
                    rate_limit=limit, concurrency=concurrency, out=Path(tmp) / "out.xlsx",
                    ledger=False, progress=clock,
                )  # fmt: skip
                requests = box.requests()
                too_many = sum(1 for r in requests if r["status_code"] == 429)
                stored = {lead["integration_record_id"] for lead in box.leads()}
                claimed = set(report.results.loc[report.results["import_status"] == "created",
                                                 "import_record_id"])  # fmt: skip
            rate = clock.rate()
            once = (
                "ok" if stored == claimed and len(requests) - too_many == len(stored) else "DOUBLED"
            )
            cells.append(f"{rate:4.0f}/min {rate / limit:4.0%} {too_many}x429 {once}")
        print(f"  {latency:4d} ms  " + "  ".join(cells), flush=True)
    print("  target: concurrency 4 reaches >= 95% of the limit at 600 ms, no 429, each row once")


class _Stopwatch:
    """A progress object that stops a send after `seconds` and times the rows done."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.first: float | None = None
        self.last = 0.0
        self.rows = 0

    def row_done(self, row: int, status: object) -> None:
        if str(status) not in ("created", "updated"):
            return  # rows a stop released from the pacer's queue were never sent
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        else:
            self.rows += 1  # rows after the first, over the time since it
        self.last = now

    def should_stop(self) -> bool:
        return self.first is not None and time.perf_counter() - self.first >= self.seconds

    def rate(self) -> float:
        if self.first is None or self.last <= self.first:
            return 0.0
        return self.rows / (self.last - self.first) * 60


def bench_ledger() -> None:
    """Re-uploading a cumulative list: B posts only its new and edited rows (issue 16)."""
    import random

    import xlsxwriter

    import importer
    from importer.sandbox import running_sandbox

    n = 2000 // SCALE
    a_rows = rows(n)
    new = rows(n + 50)[n:]
    valid = [r for r in a_rows if r[8] != "ABCDE"]  # rows(): every 50th zip is invalid
    edited = {r[0] for r in random.Random(7).sample(valid, 10)}
    b_rows = [[*r[:5], "9 Changed Ave", *r[6:]] if r[0] in edited else r for r in a_rows]
    b_rows += new
    random.Random(1).shuffle(b_rows)
    expected = len(edited) + sum(1 for r in new if r[8] != "ABCDE")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        a_path, b_path = tmp / "week46.csv", tmp / "week47.xlsx"
        import csv

        with a_path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([COLUMNS, *a_rows])
        book = xlsxwriter.Workbook(str(b_path))
        sheet = book.add_worksheet("Leads")
        for r, values in enumerate([COLUMNS, *b_rows]):
            sheet.write_row(r, 0, values)
        book.close()
        with running_sandbox(port=0, rate_limit=0) as box:

            def send(src: Path, out: str, **options: object) -> tuple[float, int]:
                before = len(box.requests())
                t0 = time.perf_counter()
                importer.send(
                    src, MAPPING, api_key=box.api_key, base_url=box.base_url, rate_limit=0,
                    out=tmp / out, ledger=tmp / "ledger.sqlite", **options,
                )  # fmt: skip
                return time.perf_counter() - t0, len(box.requests()) - before

            _, posted_a = send(a_path, "a.xlsx")
            b_time, posted_b = send(b_path, "b.xlsx")
            resend_time, posted_resend = send(b_path, "b-resend.xlsx", resend=True)
    verdict = "ok" if posted_b == expected else "WRONG"
    print(
        f"  A posted {posted_a} rows; B posted {posted_b} (expected {expected}: the new valid "
        f"rows and the {len(edited)} edited) {verdict}; B with --resend posted {posted_resend}",
        flush=True,
    )
    report("send of B vs B with --resend", b_time, resend_time, 0.5)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
