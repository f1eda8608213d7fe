"""Redis stream replies read as plain values: ids, entries, XINFO positions.

redis-py types its replies loosely; these helpers say what a reply holds (RESP2).
"""

from __future__ import annotations

from typing import Any, cast


def parse_id(text: str) -> tuple[int, int] | None:
    """A stream id ``<ms>-<seq>`` as numbers; None if ``text`` is not one."""
    ms, dash, seq = text.partition("-")
    if not dash or not all(
        p.isascii() and p.isdigit() and len(p) <= 20 for p in (ms, seq)
    ):
        return None
    return int(ms), int(seq)


def as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)


Field = bytes | bytearray | memoryview | str | int | float
Entry = tuple[bytes, dict[bytes, bytes]]


def entries(raw: Any) -> list[Entry]:  # redis-py types its replies loosely
    """XRANGE's or one XREAD stream's entries: (id, fields), all bytes."""
    return cast("list[Entry]", raw or [])


def streams(raw: Any) -> list[tuple[bytes, Any]]:
    """XREAD's reply (RESP2): one (key, entries) per stream with news."""
    return cast("list[tuple[bytes, Any]]", raw or [])


def positions(
    info: dict[str, object] | None,
) -> tuple[tuple[int, int], tuple[int, int] | None, tuple[int, int]]:
    """From XINFO STREAM: the last id made; the first id kept if older ones were
    trimmed (else None; (ms+1, 0) past the end when all were); the newest XDEL'd id.

    Trimming does not move ``max-deleted-entry-id`` (Redis 7.0): an id missing from
    the stream and older than its first kept entry was trimmed; one missing and not
    older was never in it (a Redis emptied by a restart, or another log).
    """
    if info is None:
        return (0, 0), None, (0, 0)
    end = parse_id(as_text(info.get("last-generated-id"))) or (0, 0)
    deleted = parse_id(as_text(info.get("max-deleted-entry-id"))) or (0, 0)
    added = int(str(info.get("entries-added", 0)))
    length = int(str(info.get("length", 0)))
    if added <= length:
        return end, None, deleted
    first = info.get("first-entry")
    if isinstance(first, list | tuple) and first:
        return end, parse_id(as_text(first[0])) or end, deleted
    return end, (end[0] + 1, 0), deleted
