"""What the byte at an offset of a connection became, read off its raw map.

Kept apart from the map (map.py builds; this module answers one question
for the view): the answer is a :class:`Target`, the bytes that made the same
thing and, where a record was made, the map's output number for it, which
index.py turns into a timeline row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop.core.raw.kinds import Fate, LineKind, Output

if TYPE_CHECKING:
    from desktop.core.raw.map import RawMap


@dataclass(frozen=True, slots=True)
class Target:
    """What some bytes became.

    ``output`` is the index of the record among the map's outputs (-1: none);
    ``start``/``end`` the bytes that made it (a block for an event, a line for a
    comment or retry).  ``note`` explains a line that was ignored, if one was hit.
    """

    what: str  # "event", "comment", "retry", "fields", "blank", "comments",
    # "unknown", "truncated", "oversized", "open", "discarded", "cut", "bom",
    # "outside"
    start: int
    end: int
    line: int = -1
    block: int = -1
    output: int = -1
    note: str = ""


@dataclass(frozen=True, slots=True)
class MappedEvent:
    """An event as the map reads it (compared with the decoder's in the tests)."""

    type: str
    data: str
    id: str
    retry: int | None


def event_of(raw: RawMap, block: int) -> MappedEvent:
    """The event block ``block`` dispatched, read from its bytes again."""
    data: list[str] = []
    etype = ""
    retry: int | None = None
    for index in raw.block_lines(block):
        kind = raw.line(index)[4]
        if kind not in (LineKind.DATA, LineKind.EVENT, LineKind.RETRY):
            continue
        _name, _colon, value = raw.line_text(index).partition(":")
        value = value[1:] if value[:1] == " " else value
        if kind == LineKind.DATA:
            data.append(value)
        elif kind == LineKind.EVENT:
            etype = value
        else:
            retry = int(value)
    return MappedEvent(etype or "message", "\n".join(data), raw.block_id(block), retry)


def events_of(raw: RawMap) -> list[MappedEvent]:
    """Every event the connection dispatched, in order."""
    outputs = (raw.output(i) for i in range(raw.outputs))
    return [
        event_of(raw, raw.block_of(line))
        for kind, _read, line in outputs
        if kind is Output.EVENT
    ]


def target(raw: RawMap, offset: int, *, ended: bool) -> Target:
    """What the byte at ``offset`` became (``ended``: the connection is over)."""
    if not raw.base <= offset < raw.end:
        return Target("outside", offset, offset)
    if raw.bom and offset < 3:
        return Target(
            "bom", 0, 3, note="a byte order mark: skipped, once, at the start"
        )
    line = raw.line_at(offset)
    if line < 0:
        return _open_target(raw, ended, -1)
    block = raw.block_of(line)
    start, _stop, end, _ending, kind = raw.line(line)
    out = raw.line_output(line)
    if kind == LineKind.COMMENT:
        return Target("comment", start, end, line, block, out)
    if kind == LineKind.RETRY:
        return Target("retry", start, end, line, block, out)
    if kind == LineKind.TRUNCATED and out >= 0:  # records may say more
        return Target("truncated", start, end, line, block, out, _NOTES[kind])
    note = _NOTES.get(kind, "")
    if block >= raw.blocks:
        return _open_target(raw, ended, line, note)
    first, last = raw.block_span(block)
    fate = raw.fate(block)
    return Target(
        _FATE_WORDS[fate], first, last, line, block, raw.block_output(block), note
    )


def _open_target(raw: RawMap, ended: bool, line: int, note: str = "") -> Target:
    """The block after the last blank line: still open, or cut by the end.

    "discarded" is an unfinished event the end of the stream threw away;
    "cut" an unfinished block that held no data, so nothing was lost;
    "oversized" one the decoder is skipping for its size.
    """
    start, end = raw.block_span(raw.blocks)
    what = "open"
    if raw.skipping:
        what = "oversized"
    elif ended:
        what = "discarded" if raw.discards() else "cut"
    return Target(what, start, end, line, raw.blocks, -1, note)


_FATE_WORDS = {
    Fate.EVENT: "event",
    Fate.COMMENTS: "comments",
    Fate.FIELDS: "fields",
    Fate.BLANK: "blank",
    Fate.UNKNOWN: "unknown",
    Fate.OVERSIZED: "oversized",
}
_NOTES = {
    LineKind.ID_IGNORED: "this id contains NUL: ignored (WHATWG)",
    LineKind.RETRY_IGNORED: "this retry is not all ASCII digits: ignored",
    LineKind.OTHER: "an unknown field name: ignored",
    LineKind.TRUNCATED: "this line began in bytes no longer kept",
    LineKind.OVERSIZED: "longer than the size limit: skipped with its event",
    LineKind.SKIPPED: "after the size limit was passed: skipped with its event",
}

__all__ = ["MappedEvent", "Target", "event_of", "events_of", "target"]
