"""How a timeline row reads: its kind label, one-line summary, size and times."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    Error,
    Event,
    Notice,
    Open,
    Reconnecting,
    RetryField,
)

if TYPE_CHECKING:
    from desktop.core.store import Row

_BIG = 1 << 16
_size_cache: dict[int, tuple[str, int]] = {}


def kind(row: Row) -> str:
    """The Type column: the event type, or what kind of record this is."""
    if row.__class__ is Event:
        return row.type
    return _KINDS.get(row.__class__) or type(row).__name__.lower()


_KINDS: dict[type, str] = {
    Comment: "comment",
    RetryField: "retry",
    Connecting: "connecting",
    Open: "open",
    Reconnecting: "reconnecting",
    Closed: "closed",
    Error: "error",
    Notice: "notice",
}


def connection(row: Row) -> int | None:
    """The connection of a row; a Connecting row opens connection ``attempt``."""
    if isinstance(row, Connecting | Reconnecting):
        return row.attempt
    return getattr(row, "connection", None)


def summary(row: Row) -> str:
    """What the Data column shows: the event data, or a sentence for other rows."""
    if isinstance(row, Event):
        return row.data
    if isinstance(row, Comment):
        return row.text
    if isinstance(row, RetryField):
        return f"retry: {row.ms} — the server sets the reconnection time"
    if isinstance(row, Connecting):
        sent = f" · Last-Event-ID: {row.last_event_id}" if row.last_event_id else ""
        return f"attempt {row.attempt} → {row.url}{sent}"
    if isinstance(row, Open):
        ctype = next((v for k, v in row.headers if k.lower() == "content-type"), "")
        return f"HTTP {row.status} {ctype}".rstrip()
    if isinstance(row, Reconnecting):
        return (
            f"{row.reason} — next attempt in {seconds(row.delay_ms / 1000)}"
            f" ({row.delay_source.value} retry)"
        )
    if isinstance(row, Closed):
        said = f"{row.reason}{' (failed)' if row.failed else ''}"
        if row.response is not None and row.response.body.strip():
            # the first words of why: the detail pane has the body whole
            said += " — " + " ".join(row.response.body.split())[:160]
        return said
    if isinstance(row, Notice):
        return f"{row.kind.value} — {row.detail}"
    return getattr(row, "message", "")


def data_size(text: str) -> int:
    """UTF-8 size of ``text``; cached for big non-ASCII payloads (paints repeat)."""
    if text.isascii():  # O(1) in CPython
        return len(text)
    if len(text) < _BIG:
        return len(text.encode("utf-8", "surrogatepass"))
    key = id(text)
    hit = _size_cache.get(key)
    if hit is not None and hit[0] is text:
        return hit[1]
    size = len(text.encode("utf-8", "surrogatepass"))
    if len(_size_cache) > 64:
        _size_cache.clear()
    _size_cache[key] = (text, size)
    return size


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1 << 20:
        return f"{n / 1024:.1f} KB"
    if n < 1 << 30:
        return f"{n / (1 << 20):.1f} MB"
    return f"{n / (1 << 30):.2f} GB"


def clock(wall: float) -> str:
    """Wall-clock receive time with milliseconds."""
    return (
        time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall % 1 * 1000):03d}"
    )


def seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(int(s), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
