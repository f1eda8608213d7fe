"""Export (NDJSON, CSV) and the request as a curl command."""

from __future__ import annotations

import csv
import json
import shlex
from datetime import datetime
from typing import TYPE_CHECKING

from desktop.core.engine.options import StreamOptions
from desktop.core.files.curl import curl_command
from desktop.core.files.export import (
    ExportFormat,
    ExportRow,
    export_rows,
    format_for,
    iso_time,
)

if TYPE_CHECKING:
    from pathlib import Path

ROWS = [
    ExportRow(1_700_000_000.25, 1, "a-1", "message", 'say "hi", then\nbye\r\n', 21),
    ExportRow(1_700_000_001.5, 2, "", "connecting", "attempt 2 → http://h/", None),
    ExportRow(1_700_000_002.0, None, "", "é", "ünïcode, comma", 16),
]


def test_csv_keeps_quotes_commas_and_line_breaks_in_one_field(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert export_rows(path, ROWS) == 3
    with path.open(newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))
    assert table[0] == ["received", "connection", "id", "type", "data", "size"]
    assert [row[4] for row in table[1:]] == [r.data for r in ROWS]
    assert table[1][:4] == [iso_time(ROWS[0].wall), "1", "a-1", "message"]
    assert table[2][5] == "" and table[3][1] == ""
    assert datetime.fromisoformat(table[1][0]).timestamp() == 1_700_000_000.25


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted(
    tmp_path: Path,
) -> None:
    risky = ["=1+2", "+CMD|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    rows = [ExportRow(1_700_000_000.0, 1, v, v, v, 3) for v in risky]
    rows.append(ExportRow(1_700_000_000.0, 1, "7", "tick", "a=b, 1-2", 8))
    path = tmp_path / "out.csv"
    export_rows(path, rows)
    with path.open(newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))[1:]
    for line, value in zip(table, risky, strict=False):
        assert line[2:5] == ["'" + value] * 3
        assert line[1] == "1" and line[5] == "3"
    assert table[-1][2:5] == ["7", "tick", "a=b, 1-2"]
    ndjson = tmp_path / "out.ndjson"
    export_rows(ndjson, rows[:1])  # NDJSON is data, not a sheet: as it came
    assert json.loads(ndjson.read_text(encoding="utf-8"))["data"] == "=1+2"


def test_ndjson_has_one_object_per_row(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    assert format_for(path) is ExportFormat.NDJSON
    export_rows(path, ROWS)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert first == {
        "received": iso_time(ROWS[0].wall),
        "connection": 1,
        "id": "a-1",
        "type": "message",
        "data": ROWS[0].data,
        "size": 21,
    }
    assert json.loads(lines[2])["connection"] is None


def test_iso_time_has_milliseconds_and_an_offset() -> None:
    text = iso_time(1_700_000_000.25)
    assert text.count(":") >= 3 and ".250" in text
    assert text[-6] in "+-"


def test_curl_for_a_get_sends_what_the_engine_sends() -> None:
    command = curl_command(StreamOptions("http://h:1/api/events?x=1&y=2"), "7-a")
    words = shlex.split(command.replace("\\\n", ""))
    assert words == [
        "curl",
        "-N",
        "-L",
        "-H",
        "Accept: text/event-stream",
        "-H",
        "Cache-Control: no-cache",
        "-H",
        "Last-Event-ID: 7-a",
        "http://h:1/api/events?x=1&y=2",
    ]
    assert "Last-Event-ID" not in curl_command(StreamOptions("http://h/"), "")


def test_curl_for_a_post_quotes_headers_and_body() -> None:
    body = '{"prompt": "it\'s $HOME `x`"}'
    options = StreamOptions(
        "http://h/chat",
        method="POST",
        headers=(
            ("Authorization", "Bearer s3cr't"),
            ("Content-Type", "application/json"),
        ),
        body=body.encode(),
    )
    words = shlex.split(curl_command(options).replace("\\\n", ""))
    assert "-X" not in words  # curl infers POST from the body
    assert words[words.index("--data-binary") + 1] == body
    assert "Authorization: Bearer s3cr't" in words
    put = StreamOptions("http://h/", method="PUT")
    assert shlex.split(curl_command(put).replace("\\\n", ""))[3:5] == ["-X", "PUT"]
    at = StreamOptions("http://h/", method="POST", body=b"@/etc/passwd")
    assert "--data-raw" in curl_command(at)  # never read a local file
