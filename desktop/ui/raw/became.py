"""What some raw bytes became, in a sentence (and the timeline row, if kept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop.core.engine.records import Comment, Event, RetryField
from desktop.core.raw.target import event_of
from desktop.ui import row_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.core.engine.records import Record
    from desktop.core.raw.index import RawIndex
    from desktop.core.raw.log import RawLog
    from desktop.core.raw.map import RawMap
    from desktop.core.raw.target import Target

_PREVIEW = 60


@dataclass(frozen=True, slots=True)
class Became:
    """A sentence for the info line, and the row (an index into rows) to select."""

    text: str
    row: int | None = None

    def __str__(self) -> str:
        return self.text


def _short(text: str) -> str:
    text = text.replace("\n", "⏎")
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def describe(
    target: Target,
    raw: RawMap,
    index: RawIndex,
    rows: Sequence[Record],
    connection: int,
    ended: bool,
) -> Became:
    """Say what ``target``'s bytes became, and find its row when it is kept."""
    where = f"Bytes {target.start:,} to {max(target.start, target.end - 1):,}"
    row = None
    if target.output >= 0:
        row = index.row_of(rows, connection, target.output)
    record = rows[row] if row is not None else None
    gone = " (its row is no longer in the timeline)" if row is None else ""
    what = target.what
    if what in ("event", "unknown") and isinstance(record, Event):
        number = _event_number(raw, target.output)
        ident = f", id {record.id!r}" if record.id else ""
        text = (
            f"{where} became {number} of connection {connection}: "
            f"{record.type!r}{ident}, data {_short(record.data)!r}"
        )
    elif what == "event":
        event = event_of(raw, target.block)
        number = _event_number(raw, target.output)
        text = (
            f"{where} became {number} of connection {connection}: "
            f"{event.type!r}, data {_short(event.data)!r}{gone}"
        )
    elif what == "comment":
        shown = record.text if isinstance(record, Comment) else raw.comment(target.line)
        text = f"{where} are a comment: {_short(shown)!r}{gone}"
    elif what == "retry":
        ms = f"{record.ms} ms" if isinstance(record, RetryField) else "a new time"
        text = f"{where} are a retry field: the reconnection time became {ms}{gone}"
    elif what == "fields":
        text = (
            f"{where} are fields without data: the blank line dispatched nothing "
            "(WHATWG: no data, no event)"
        )
    elif what == "comments":
        text = f"{where} are comments only: nothing to dispatch"
    elif what == "blank":
        text = f"{where} are an extra blank line: nothing to dispatch"
    elif what in ("unknown", "truncated"):
        if isinstance(record, Comment | RetryField):
            kind = "a comment" if isinstance(record, Comment) else "a retry field"
            text = f"{where} began in dropped bytes and were {kind}"
        else:
            text = f"{where} began in bytes no longer kept: what they became is unknown"
    elif what == "oversized":
        text = (
            f"{where} were skipped: over the size limit of "
            f"{raw.limit:,} bytes per line or event (the timeline shows the error)"
        )
    elif what == "open":
        text = f"{where} are the event being received: it waits for its blank line"
    elif what == "discarded":
        text = (
            f"{where} are a partial event, discarded: the connection ended "
            "before its blank line (WHATWG)"
        )
    elif what == "cut":
        text = f"{where} are unfinished fields the end of the stream cut: no data lost"
    elif what == "bom":
        text = "Bytes 0 to 2 are a byte order mark: skipped, once, at the start"
    else:
        text = "These bytes are no longer kept."
    if target.note:
        text += f" · this line: {target.note}"
    return Became(text + ".", row)


def _event_number(raw: RawMap, output: int) -> str:
    """ "event 12"; counted in the kept bytes when older ones were dropped."""
    number = raw.event_number(output)
    return f"kept event {number:,}" if raw.truncated else f"event {number:,}"


def no_bytes(record: Record, connection: int | None, log: RawLog) -> str:
    """Why a timeline row has no bytes to highlight."""
    if not isinstance(record, Event | Comment | RetryField) or connection is None:
        kind = row_text.kind(record)  # type: ignore[arg-type]
        return f"A {kind} row is the client's own record: no bytes of the body made it."
    if log.connection(connection) is None:
        keep = row_text.human_bytes(log.limit)
        return (
            f"The bytes of connection {connection} are no longer kept "
            f"(the raw buffer keeps the newest {keep})."
        )
    return "The bytes of this row are no longer kept (older reads were dropped)."


__all__ = ["Became", "describe", "no_bytes"]
