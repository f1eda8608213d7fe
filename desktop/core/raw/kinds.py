"""The words of the raw map: line endings, line kinds, block fates, outputs.

Small integer enums, so the map can keep them in ``array("b")`` columns.
"""

from __future__ import annotations

from enum import IntEnum


class LineEnding(IntEnum):
    """How a line ended."""

    NONE = 0  # not ended yet (the open line at the end)
    LF = 1
    CR = 2
    CRLF = 3
    LF_PAIR = 4  # an LF whose CR was the last byte dropped from the log


class LineKind(IntEnum):
    """What a line is, by the spec's reading of it."""

    BLANK = 0  # dispatches the block
    DATA = 1
    EVENT = 2  # ``event:`` sets the type
    ID = 3
    ID_IGNORED = 4  # an id containing NUL: WHATWG ignores the field
    RETRY = 5  # a valid ``retry:`` (all ASCII digits)
    RETRY_IGNORED = 6  # not all digits: ignored
    COMMENT = 7
    OTHER = 8  # an unknown field name: ignored
    TRUNCATED = 9  # its first bytes were dropped: unknown
    OVERSIZED = 10  # longer than the decoder's limit: dropped with its event
    SKIPPED = 11  # after an oversized line or data, up to the blank line: dropped


class Fate(IntEnum):
    """What a finished block became."""

    EVENT = 0  # dispatched an event
    COMMENTS = 1  # comment lines only
    FIELDS = 2  # fields (id, retry, event …) but no data: dispatched nothing
    BLANK = 3  # a blank line on its own: nothing
    UNKNOWN = 4  # began before the retained bytes and showed no data line
    OVERSIZED = 5  # a line or its data went over the decoder's limit: skipped


class Output(IntEnum):
    """A record the decoder yields, in the order it yields them."""

    EVENT = 0
    COMMENT = 1
    RETRY = 2
    MAYBE_EVENT = 3  # the end of an UNKNOWN block: an event only if records say so
    MAYBE_LINE = 4  # a line that began in dropped bytes: a comment or retry, maybe


def utf8_length(lead: int) -> int:
    """Length of the UTF-8 sequence a lead byte starts (0: not a lead byte)."""
    if 0xC2 <= lead < 0xE0:
        return 2
    if 0xE0 <= lead < 0xF0:
        return 3
    if 0xF0 <= lead < 0xF5:
        return 4
    return 0


__all__ = ["Fate", "LineEnding", "LineKind", "Output", "utf8_length"]
