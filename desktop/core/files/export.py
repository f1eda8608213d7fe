"""Export of events as NDJSON or CSV, for spreadsheets, jq and bug reports.

The caller says which rows and how each reads (:class:`ExportRow`); this module
owns the two formats.  CSV goes through the ``csv`` module, so data holding
commas, quotes or line breaks stays one field, and text a spreadsheet would run
as a formula is quoted with a leading ``'`` (NDJSON keeps the data as it came).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

COLUMNS = ("received", "connection", "id", "type", "data", "size")


class ExportFormat(Enum):
    """The two export formats; the value is the usual file extension."""

    NDJSON = "ndjson"  # one JSON object per line, keys as the CSV columns
    CSV = "csv"  # RFC 4180, a header row, UTF-8


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One exported row.  ``size`` is the UTF-8 size of ``data`` for events."""

    wall: float
    connection: int | None
    id: str
    type: str
    data: str
    size: int | None

    def values(self) -> tuple[str, int | None, str, str, str, int | None]:
        return (
            iso_time(self.wall),
            self.connection,
            self.id,
            self.type,
            self.data,
            self.size,
        )


def iso_time(wall: float) -> str:
    """ISO 8601 local time with milliseconds and the UTC offset."""
    return datetime.fromtimestamp(wall).astimezone().isoformat(timespec="milliseconds")


def format_for(path: str | os.PathLike[str]) -> ExportFormat:
    """CSV for ``.csv``, NDJSON for anything else (``.ndjson``, ``.jsonl``, …)."""
    return (
        ExportFormat.CSV if Path(path).suffix.lower() == ".csv" else ExportFormat.NDJSON
    )


def write_rows(file: IO[str], rows: Iterable[ExportRow], fmt: ExportFormat) -> int:
    """Write ``rows`` to a text file opened with ``newline=""``; the count."""
    count = 0
    if fmt is ExportFormat.CSV:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_cell(v) for v in row.values()])
            count += 1
        return count
    for row in rows:
        file.write(
            json.dumps(
                dict(zip(COLUMNS, row.values(), strict=True)), ensure_ascii=False
            )
        )
        file.write("\n")
        count += 1
    return count


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP,
# "CSV Injection"): such text gets a leading ' that shows it as typed.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | int | None) -> str | int:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_rows(
    path: str | os.PathLike[str],
    rows: Iterable[ExportRow],
    fmt: ExportFormat | None = None,
) -> int:
    """Write ``rows`` to ``path`` (format from its extension unless given).

    Raises OSError for the caller to show; lone surrogates are written as U+FFFD
    rather than failing the whole export.
    """
    chosen = fmt or format_for(path)
    with open(path, "w", encoding="utf-8", errors="replace", newline="") as file:
        return write_rows(file, rows, chosen)
