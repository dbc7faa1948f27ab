"""Survey photos: safe paths, image sniffing, size cap, base64 in and out, payload entries."""

from __future__ import annotations

import base64
import os
import random
import struct
import zlib
from pathlib import Path

import pandas as pd
import pytest
import requests

from importer.sending.payload import build_payload
from importer.validation.appointment import normalize_appointments
from importer.validation.survey import (
    CHUNK_BYTES,
    MAX_BYTES,
    FileCheckError,
    check_survey_files,
    encode_file,
    image_kind,
    inline_files,
    resolve_file,
)
from tests.helpers import ROOT

DATA = "survey_data.files[0].data"
NAME = "survey_data.files[0].name"
TYPE = "survey_data.files[0].type"
FROM_FILE = [True]  # the one survey file's data is a path
BASE64 = [False]  # ... or base64 text


def png_bytes(width: int = 1, height: int = 1, seed: int | None = None) -> bytes:
    """A valid RGB PNG; random pixels when `seed` is given (so it does not compress)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rng = random.Random(seed)
    rows = b"".join(
        b"\x00" + (rng.randbytes(width * 3) if seed is not None else b"\xff\x80\x00" * width)
        for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A baseline 1x1 grey JPEG: one quantisation table, one-code Huffman tables, one block."""

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    one_code = bytes([1] + [0] * 15) + b"\x00"  # a single 1-bit code for symbol 0
    return (
        b"\xff\xd8"
        + segment(0xDB, b"\x00" + bytes([1] * 64))
        + segment(0xC0, struct.pack(">BHHB", 8, 1, 1, 1) + b"\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code)
        + segment(0xC4, b"\x10" + one_code)
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"  # DC difference 0, end of block, padded with 1 bits
        + b"\xff\xd9"
    )


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """The sheet's folder: photos/house.png, photos/roof.jpg, notes.png (text), an outside file."""
    base = tmp_path / "sheet"
    (base / "photos").mkdir(parents=True)
    (base / "photos" / "house.png").write_bytes(png_bytes())
    (base / "photos" / "roof.jpg").write_bytes(jpeg_bytes())
    (base / "notes.png").write_text("this is not a picture\n")
    (tmp_path / "outside.png").write_bytes(png_bytes())
    return base


def files_frame(
    *cells: str, name: str | list[str] = "", kind: str | list[str] = "img"
) -> pd.DataFrame:
    rows = range(2, 2 + len(cells))
    return pd.DataFrame({"name": name, "data": list(cells), "type": kind}, index=rows)


def codes(problems) -> list[tuple[int, str, str]]:
    return [(p.row, p.field, p.code) for p in problems]


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (png_bytes(), "png"),
        (jpeg_bytes(), "jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "heic"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),  # an MP4 video
        (b"%PDF-1.7\n", None),
        (b"", None),
    ],
)
def test_image_kind_is_read_from_the_first_bytes(head, kind):
    assert image_kind(head) == kind


def test_real_png_and_jpeg_files_pass_and_round_trip_through_base64(photos):
    frame = files_frame("photos/house.png", "photos/roof.jpg")
    assert check_survey_files([frame], photos, FROM_FILE) == []
    for cell in frame["data"]:
        path = photos / cell
        assert base64.b64decode(encode_file(path), validate=True) == path.read_bytes()


def test_encoding_in_chunks_matches_encoding_the_whole_file(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_bytes(800, 800, seed=1))
    assert path.stat().st_size > 2 * CHUNK_BYTES  # several chunks, the last one partial
    assert encode_file(path) == base64.b64encode(path.read_bytes()).decode("ascii")


def test_a_text_file_named_png_is_not_an_image(photos):
    problems = check_survey_files([files_frame("notes.png")], photos, FROM_FILE)
    assert codes(problems) == [(2, DATA, "not_an_image")]
    assert problems[0].message == (
        f'{DATA}: "notes.png" is not a JPEG, PNG, GIF, WebP or HEIC image'
    )


def test_a_missing_file_is_invalid(photos):
    problems = check_survey_files([files_frame("photos/gone.jpg")], photos, FROM_FILE)
    assert codes(problems) == [(2, DATA, "missing_file")]
    assert problems[0].message == f'{DATA}: "photos/gone.jpg" does not exist in {photos}'


def test_a_folder_is_not_a_file(photos):
    problems = check_survey_files([files_frame("photos")], photos, FROM_FILE)
    assert codes(problems) == [(2, DATA, "missing_file")]


@pytest.mark.parametrize("cell", ["../outside.png", "photos/../../outside.png", "..\\outside.png"])
def test_paths_leading_out_of_the_folder_are_refused(photos, cell):
    problems = check_survey_files([files_frame(cell)], photos, FROM_FILE)
    assert codes(problems) == [(2, DATA, "unsafe_file_path")]
    assert problems[0].message == f'{DATA}: "{cell}" leads outside {photos}'


def test_absolute_paths_are_refused_even_inside_the_folder(photos):
    inside = str(photos / "photos" / "house.png")
    problems = check_survey_files([files_frame(inside, "C:\\photos\\house.png")], photos, FROM_FILE)
    assert codes(problems) == [(2, DATA, "unsafe_file_path"), (3, DATA, "unsafe_file_path")]
    assert problems[0].message.endswith(f"is an absolute path; give a path relative to {photos}")


def test_a_symlink_out_of_the_folder_is_refused_and_one_within_it_is_followed(photos):
    (photos / "escape.png").symlink_to(photos.parent / "outside.png")
    (photos / "linked").symlink_to(photos.parent)
    (photos / "alias.png").symlink_to(photos / "photos" / "house.png")
    frame = files_frame("escape.png", "linked/outside.png", "alias.png")
    assert codes(check_survey_files([frame], photos, FROM_FILE)) == [
        (2, DATA, "unsafe_file_path"),
        (3, DATA, "unsafe_file_path"),
    ]


def test_paths_that_wander_but_stay_inside_and_windows_separators_are_fine(photos):
    frame = files_frame("photos/../photos/house.png", "photos\\roof.jpg", " photos/house.png ")
    assert check_survey_files([frame], photos, FROM_FILE) == []


def test_a_file_over_10_mb_is_too_large(photos):
    path = photos / "huge.png"
    path.write_bytes(png_bytes())
    os.truncate(path, MAX_BYTES + 1)  # sparse: no 10 MB written to disk
    problems = check_survey_files([files_frame("huge.png")], photos, FROM_FILE)
    assert codes(problems) == [(2, DATA, "file_too_large")]
    assert problems[0].message == f'{DATA}: "huge.png" is 10.0 MB, over the 10 MB limit'


def test_a_file_of_exactly_10_mb_is_allowed(photos):
    path = photos / "limit.png"
    path.write_bytes(png_bytes())
    os.truncate(path, MAX_BYTES)
    assert check_survey_files([files_frame("limit.png")], photos, FROM_FILE) == []


def test_rows_without_data_have_no_file_and_no_problem(photos):
    frame = files_frame("", "photos/house.png", name=["", "x"], kind="img_exterior_house")
    assert check_survey_files([frame], photos, FROM_FILE) == []


def test_a_file_needs_a_type_but_takes_its_name_from_the_file(photos):
    frame = files_frame("photos/house.png", name="", kind="")
    problems = check_survey_files([frame], photos, FROM_FILE)
    assert codes(problems) == [(2, TYPE, "missing_survey_field")]
    assert problems[0].message == f"{TYPE}: is missing; a survey file with data needs a type"


def test_the_same_bad_path_on_several_rows_is_reported_on_each(photos):
    problems = check_survey_files([files_frame("nope.png", "nope.png")], photos, FROM_FILE)
    assert codes(problems) == [(2, DATA, "missing_file"), (3, DATA, "missing_file")]


def test_base64_in_the_sheet_must_decode_to_an_image(photos):
    good = base64.b64encode(png_bytes()).decode()
    wrapped = "\n".join(good[i : i + 20] for i in range(0, len(good), 20))
    text = base64.b64encode(b"just some text, not a picture").decode()
    frame = files_frame(good, wrapped, "not base64!", good[:-1], text, name="house.png")
    problems = check_survey_files([frame], photos, BASE64)
    assert codes(problems) == [
        (4, DATA, "invalid_base64"),
        (5, DATA, "invalid_base64"),
        (6, DATA, "not_an_image"),
    ]
    assert problems[0].message == f'{DATA}: "not base64!" is not base64 text'


def test_base64_in_the_sheet_needs_a_name(photos):
    frame = files_frame(base64.b64encode(jpeg_bytes()).decode(), name="", kind="img")
    assert codes(check_survey_files([frame], photos, BASE64)) == [(2, NAME, "missing_survey_field")]


def test_long_cells_are_shortened_in_messages(photos):
    problems = check_survey_files([files_frame("A" * 500 + "!")], photos, BASE64)
    assert problems[0].message == f'{DATA}: "{"A" * 57}..." is not base64 text'


def test_resolve_file_explains_why_with_a_value_error(photos):
    assert resolve_file(photos, "photos/house.png") == photos / "photos" / "house.png"
    with pytest.raises(ValueError, match="leads outside"):
        resolve_file(photos, "../outside.png")
    with pytest.raises(FileCheckError) as caught:
        resolve_file(photos, "missing.png")
    assert caught.value.code == "missing_file"


def test_inline_files_puts_base64_in_place_of_the_path_and_names_the_file(photos):
    entry = {"name": "photos/house.png", "data": "photos/house.png", "type": "img"}
    (inlined,) = inline_files([entry], photos, FROM_FILE)
    assert base64.b64decode(inlined["data"]) == (photos / "photos" / "house.png").read_bytes()
    assert (inlined["name"], inlined["type"]) == ("house.png", "img")
    assert entry["data"] == "photos/house.png"  # the caller's row is left alone


def test_inline_files_drops_name_and_type_of_an_entry_without_data(photos):
    inlined = inline_files([{"data": "", "name": "front", "type": "img"}], photos, FROM_FILE)
    assert "survey_data" not in build_payload({"integration_record_id": "a"}, files=inlined)


def test_inline_files_leaves_base64_columns_as_they_are(photos):
    data = base64.b64encode(png_bytes()).decode()
    entry = {"data": data, "name": "house.png", "type": "img"}
    assert inline_files([entry], photos, BASE64) == [entry]


def test_inline_files_refuses_a_file_that_changed_since_validation(photos):
    path = photos / "later.png"
    path.write_bytes(png_bytes())
    assert check_survey_files([files_frame("later.png")], photos, FROM_FILE) == []
    path.write_text("replaced by text")
    with pytest.raises(FileCheckError) as caught:
        inline_files([{"data": "later.png", "name": "", "type": "img"}], photos, FROM_FILE)
    assert caught.value.code == "not_an_image"


def test_several_photo_columns_become_several_files_in_the_payload(photos):
    entries = [
        {"name": "photos/house.png", "data": "photos/house.png", "type": "img_exterior_house"},
        {"name": "photos/roof.jpg", "data": "photos/roof.jpg", "type": "img_roof"},
        {"name": "", "data": "", "type": "img_meter"},
    ]
    inlined = inline_files(entries, photos, [True, True, True])
    files = build_payload({"integration_record_id": "a"}, files=inlined)["survey_data"]["files"]
    assert [(f["name"], f["type"]) for f in files] == [
        ("house.png", "img_exterior_house"),
        ("roof.jpg", "img_roof"),
    ]
    assert base64.b64decode(files[1]["data"]) == jpeg_bytes()


def test_sandbox_stores_an_appointment_and_a_photo_sent_by_the_importer(photos):
    from importer.sandbox import running_sandbox

    appointment = pd.DataFrame(
        {
            "apt_type_id": ["12"],
            "date_time": ["3/12/2026 2:30 PM"],
            "name": ["Solar Consultation"],
            "minutes": [""],
        },
        index=[2],
    )
    photo = files_frame("photos/house.png", name="photos/house.png", kind="img_exterior_house")
    appointment, problems = normalize_appointments(
        appointment, "America/Denver", None, column_format="%m/%d/%Y %I:%M %p"
    )
    assert problems == [] and check_survey_files([photo], photos, FROM_FILE) == []
    lead = {
        "integration_record_id": "S1",
        "first_name": "Ferris",
        "fullAddress": "2214 N Honeydew Dr, Saratoga Springs, UT 84045",
    }
    files = inline_files([photo.loc[2].to_dict()], photos, FROM_FILE)
    payload = build_payload(lead, appointment.loc[2].to_dict(), files)
    with running_sandbox() as sandbox:
        answer = requests.post(
            f"{sandbox.base_url}/api/v1/partner/action/lead/add",
            json=payload,
            headers={"api-key": sandbox.api_key},
            timeout=10,
        )
        assert answer.json()["result"] == "success", answer.text
        stored = requests.get(f"{sandbox.base_url}/_sandbox/leads", timeout=10).json()
    (lead,) = stored
    assert lead["appointment"]["date_time"] == "2026-03-12 20:30:00"
    assert (lead["appointment"]["apt_type_id"], lead["appointment"]["minutes"]) == (12, 60)
    (photo,) = lead["survey_data"]
    assert (photo["name"], photo["type"]) == ("house.png", "img_exterior_house")
    assert photo["bytes"] == len(png_bytes())


def test_the_example_mapping_carries_appointment_and_photo_into_the_payload(photos):
    from importer.mapping.apply import apply_mapping
    from importer.mapping.load import load_mapping
    from importer.mapping.model import check_columns

    mapping = load_mapping(ROOT / "mappings" / "appointments.yaml")
    header = ["Lead ID", "First Name", "Last Name", "Email", "Phone", "Street", "City"]
    header += ["State", "Zip", "Appointment", "Photo"]
    check_columns(mapping, header, "file leads.csv")
    sheet = pd.DataFrame(
        [
            ["A1", "Ann", "Lee", "a@x.io", "8015550001", "1 Main", "Provo", "UT", "84601"]
            + ["3/13/2026 9:00 AM", "photos/house.png"],
            ["A2", "Bo", "Ng", "b@x.io", "8015550002", "2 Main", "Provo", "UT", "84601"] + ["", ""],
        ],
        columns=header,
        index=[2, 3],
    )
    records = apply_mapping(sheet, mapping)
    appointment, problems = normalize_appointments(
        records.appointment, mapping.appointment_timezone, mapping.appointment_date_format
    )
    assert problems == []
    assert check_survey_files(records.files, photos, mapping.file_entries()) == []

    def payload(row: int) -> dict:
        files = [frame.loc[row].to_dict() for frame in records.files]
        inlined = inline_files(files, photos, mapping.file_entries())
        return build_payload(
            records.lead.loc[row].to_dict(), appointment.loc[row].to_dict(), inlined
        )

    first, second = payload(2), payload(3)
    assert first["appointment"] == {
        "apt_type_id": 12,
        "name": "Solar Consultation",
        "minutes": 60,
        "date_time": "2026-03-13 15:00:00",
    }
    assert [(f["name"], f["type"]) for f in first["survey_data"]["files"]] == [
        ("house.png", "img_exterior_house")
    ]
    assert "appointment" not in second and "survey_data" not in second
