"""Regenerate the sample lead sheets (leads.xlsx, leads.csv): `python sample_data/make_samples.py`.

The rows mimic a real marketing export, including what real lists get wrong: zips that
Excel stored as numbers (leading zero lost), phones stored as numbers, state names instead
of codes, a duplicate lead id, a missing address, a malformed email, a formula-looking cell.
"""

from __future__ import annotations

import csv
import struct
import zlib
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
HEADER = [
    "Lead ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Street",
    "City",
    "State",
    "Zip",
    "Office",
    "Lead Source",
    "Notes",
]
# (values...) -- a number in Phone or Zip is written as a numeric cell in the xlsx.
ROWS: list[list[object]] = [
    [
        "FB-1001",
        "Ferris",
        "Bueller",
        "custy@enerflo.io",
        "(801) 555-4444",
        "2214 N Honeydew Dr",
        "Saratoga Springs",
        "UT",
        "84045",
        "Utah Office",
        "Facebook",
        "",
    ],
    [
        "FB-1002",
        "Sloane",
        "Peterson",
        "sloane.p@example.com",
        8015550101,
        "1180 W 400 N",
        "Orem",
        "UT",
        84057,
        "Utah Office",
        "Facebook",
        "Prefers evenings",
    ],
    [
        "FB-1003",
        "Cameron",
        "Frye",
        "CFrye@Example.com ",
        "+1 801 555 0102",
        "77 E Canyon Rd",
        "Provo",
        "Utah",
        "84604",
        "",
        "Facebook",
        "",
    ],
    [
        "FB-1004",
        "Jeanie",
        "Bueller",
        "jeanie@example.com",
        "801.555.0103",
        "420 S State St",
        "Salt Lake City",
        "utah",
        "84111-2301",
        "Utah Office",
        "Facebook",
        "",
    ],
    [
        "FB-1005",
        "Edward",
        "Rooney",
        "ed.rooney@example.com",
        "8015550104",
        "9 Pine Ln",
        "Boston",
        "MA",
        2134,
        "",
        "Google Ads",
        "Zip lost its leading zero in Excel",
    ],
    [
        "FB-1006",
        "Grace",
        "NA",
        "grace@example.com",
        "(617) 555-0105",
        "15 Beacon St",
        "Boston",
        "Massachusetts",
        "02108",
        "",
        "Google Ads",
        "Last name really is NA",
    ],
    [
        "FB-1007",
        "Charlie",
        "None",
        "charlie.none@example.com",
        "617-555-0106",
        "200 Tremont St",
        "Boston",
        "MA",
        "02116",
        "",
        "Google Ads",
        "",
    ],
    [
        "FB-1008",
        "Ana",
        "Lopez",
        "ana.lopez@example",
        "(602) 555-0107",
        "3401 N Central Ave",
        "Phoenix",
        "AZ",
        "85012",
        "",
        "Google Ads",
        "",
    ],
    [
        "FB-1009",
        "Ben",
        "Okafor",
        "ben.okafor@example.com",
        "555-1234",
        "18 Sunset Blvd",
        "Phoenix",
        "AZ",
        "85003",
        "",
        "Google Ads",
        "Phone is missing the area code",
    ],
    [
        "FB-1010",
        "Priya",
        "Shah",
        "priya.shah@example.com",
        "(480) 555-0109",
        "",
        "",
        "AZ",
        "",
        "",
        "Referral",
        "No address given",
    ],
    [
        "FB-1011",
        "Tom",
        "Nguyen",
        "tom.nguyen@example.com",
        "(702) 555-0110",
        "4500 W Flamingo Rd",
        "Las Vegas",
        "NV",
        "ABCDE",
        "",
        "Referral",
        "",
    ],
    [
        "FB-1012",
        "Maria",
        "Garcia",
        "maria.garcia@example.com",
        "(303) 555-0111",
        "1600 Glenarm Pl",
        "Denver",
        "CO",
        "80202",
        "",
        "Website",
        "",
    ],
    [
        "FB-1013",
        "Luke",
        "Skywalker",
        "luke@example.com",
        "(303) 555-0112",
        "2 Larimer St",
        "Denver",
        "CO",
        "84045",
        "",
        "Website",
        "Zip is a Utah zip",
    ],
    [
        "FB-1012",
        "Maria",
        "Garcia",
        "maria.g@example.com",
        "(303) 555-0113",
        "1600 Glenarm Pl",
        "Denver",
        "CO",
        "80202",
        "",
        "Website",
        "Same lead id as row 13",
    ],
    [
        "FB-1015",
        "Olivia",
        "Brown",
        "olivia.brown@example.com",
        "(208) 555-0114",
        "800 W Main St",
        "Boise",
        "ID",
        "83702",
        "",
        "Website",
        '=HYPERLINK("http://example.com")',
    ],
    [
        "FB-1016",
        "Noah",
        "Wilson",
        "noah.wilson@example.com",
        "(208) 555-0115",
        "",
        "",
        "",
        "",
        "",
        "Door knock",
        "ignore: address coming later",
    ],
    [
        "FB-1017",
        "Emma",
        "Davis",
        "emma.davis@example.com",
        "(916) 555-0116",
        "1315 10th St",
        "Sacramento",
        "CA",
        "95814",
        "",
        "Door knock",
        "",
    ],
    [
        "FB-1018",
        "Liam",
        "Martinez",
        "liam.martinez@example.com",
        "(916) 555-0117",
        "915 I St",
        "Sacramento",
        "California",
        "95814",
        "",
        "Door knock",
        "",
    ],
    [
        "FB-1019",
        "Ava",
        "Anderson",
        "ava.anderson@example.com",
        "(512) 555-0118",
        "1100 Congress Ave",
        "Austin",
        "TX",
        "78701",
        "",
        "Facebook",
        "",
    ],
    [
        "FB-1020",
        "Ethan",
        "Thomas",
        "ethan.thomas@example.com",
        "(512) 555-0119",
        "301 W 2nd St",
        "Austin",
        "TX",
        "78701",
        "",
        "Facebook",
        "",
    ],
    [
        "FB-1021",
        "Mia",
        "Jackson",
        "mia.jackson@example.com",
        "(602) 555-0120",
        "200 W Washington St",
        "Phoenix",
        "AZ",
        "85003",
        "",
        "Facebook",
        "",
    ],
    [
        "FB-1022",
        "Lucas",
        "White",
        "lucas.white@example.com",
        "(801) 555-0121",
        "451 S State St",
        "Salt Lake City",
        "UT",
        "84111",
        "Utah Office",
        "Facebook",
        "",
    ],
    [
        "FB-1023",
        "Sofia",
        "Harris",
        "sofia.harris@example.com",
        "(801) 555-0122",
        "50 N Main St",
        "Lehi",
        "UT",
        "84043",
        "Utah Office",
        "Facebook",
        "",
    ],
    [
        "FB-1024",
        "Mason",
        "Clark",
        "mason.clark@example.com",
        "(385) 555-0123",
        "1 Center St",
        "American Fork",
        "UT",
        "84003",
        "Utah Office",
        "Facebook",
        "",
    ],
    [
        "FB-1025",
        "Isabella",
        "Lewis",
        "isabella.lewis@example.com",
        "(435) 555-0124",
        "86 S Main St",
        "St. George",
        "UT",
        "84770",
        "",
        "Google Ads",
        "",
    ],
    [
        "FB-1026",
        "James",
        "Walker",
        "james.walker@example.com",
        "(702) 555-0125",
        "495 S Main St",
        "Las Vegas",
        "NV",
        "89101",
        "",
        "Google Ads",
        "",
    ],
    [
        "FB-1027",
        "Harper",
        "Hall",
        "harper.hall@example.com",
        "(775) 555-0126",
        "1 E 1st St",
        "Reno",
        "NV",
        "89501",
        "",
        "Google Ads",
        "",
    ],
    [
        "FB-1028",
        "Benjamin",
        "Allen",
        "benjamin.allen@example.com",
        "(208) 555-0127",
        "150 N Capitol Blvd",
        "Boise",
        "ID",
        "83702",
        "",
        "Referral",
        "",
    ],
    [
        "FB-1029",
        "Evelyn",
        "Young",
        "evelyn.young@example.com",
        "(619) 555-0128",
        "1600 Pacific Hwy",
        "San Diego",
        "CA",
        "92101",
        "",
        "Referral",
        "",
    ],
    [
        "FB-1030",
        "Henry",
        "King",
        "henry.king@example.com",
        "(619) 555-0129",
        "202 C St",
        "San Diego",
        "CA",
        "92101",
        "",
        "Referral",
        "",
    ],
    [
        "FB-1031",
        "Amelia",
        "Wright",
        "amelia.wright@example.com",
        "(720) 555-0130",
        "1437 Bannock St",
        "Denver",
        "CO",
        "80202",
        "",
        "Website",
        "",
    ],
    [
        "FB-1032",
        "Alexander",
        "Scott",
        "alex.scott@example.com",
        "(720) 555-0131",
        "201 W Colfax Ave",
        "Denver",
        "CO",
        "80202",
        "",
        "Website",
        "",
    ],
    [
        "FB-1033",
        "Ella",
        "Green",
        "ella.green@example.com",
        "(480) 555-0132",
        "20 E Main St",
        "Mesa",
        "AZ",
        "85201",
        "",
        "Website",
        "",
    ],
    [
        "FB-1034",
        "Daniel",
        "Baker",
        "daniel.baker@example.com",
        "(480) 555-0133",
        "31 E 5th St",
        "Tempe",
        "AZ",
        "85281",
        "",
        "Website",
        "",
    ],
    [
        "FB-1035",
        "Chloe",
        "Adams",
        "chloe.adams@example.com",
        "(801) 555-0134",
        "351 W Center St",
        "Provo",
        "UT",
        "84601",
        "Utah Office",
        "Facebook",
        "",
    ],
    [
        "FB-1036",
        "Jack",
        "Nelson",
        "jack.nelson@example.com",
        "(801) 555-0135",
        "56 N 500 W",
        "Provo",
        "UT",
        "84601",
        "Utah Office",
        "Facebook",
        "",
    ],
]


def write_xlsx(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(HEADER)
    for row in ROWS:
        ws.append(row)
        # Keep text cells text (no formula from the "=HYPERLINK" note).
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    wb.save(path)


def write_csv(path: Path) -> None:
    # An ad platform export: numbers written the way Excel "Save as CSV" writes them.
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in ROWS:
            writer.writerow([f"{v}.0" if isinstance(v, int) and v < 10**6 else v for v in row])


# A setter's sheet for mappings/appointments.yaml: bookings in local time, photo paths.
APPOINTMENT_HEADER = [*HEADER[:9], "Appointment", "Photo"]
APPOINTMENT_ROWS = [
    [*ROWS[0][:9], "2026-03-12 14:30", "photos/house-1001.png"],
    [
        *ROWS[1][:4],
        "(801) 555-0101",
        *ROWS[1][5:8],
        "84057",
        "3/13/2026 9:00 AM",
        "photos/house-1002.png",
    ],
    [*ROWS[2][:9], "", "photos/house-1003.png"],  # no appointment: only the photo is sent
    [*ROWS[3][:9], "2026-03-08 02:30", ""],  # does not exist in Denver (DST starts): invalid
    [*ROWS[21][:9], "2026-03-14T16:00:00Z", "photos/notes.png"],  # not an image: invalid
]


def tiny_png(rgb: tuple[int, int, int]) -> bytes:
    """A real 8x8 PNG of one colour, built by hand so the samples need no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(rgb) * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def write_appointments(path: Path) -> None:
    photos = path.parent / "photos"
    photos.mkdir(exist_ok=True)
    for name, rgb in (
        ("house-1001", (200, 80, 40)),
        ("house-1002", (40, 120, 200)),
        ("house-1003", (90, 160, 60)),
    ):
        (photos / f"{name}.png").write_bytes(tiny_png(rgb))
    (photos / "notes.png").write_text("not a picture, just a file named .png\n")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(APPOINTMENT_HEADER)
        writer.writerows(APPOINTMENT_ROWS)


if __name__ == "__main__":
    write_xlsx(HERE / "leads.xlsx")
    write_csv(HERE / "leads.csv")
    write_appointments(HERE / "appointments.csv")
    print("wrote leads.xlsx, leads.csv, appointments.csv and photos/ in", HERE)
