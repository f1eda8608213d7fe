"""tail's output: NDJSON records and the readable text.

The NDJSON records follow the contract in ARCHITECTURE.md, "The tail --format
json contract".

Every server-controlled string in the text format and on stderr goes through
``terminal_safe`` (desktop/core/terminal.py) here, at the one place text meets
the terminal; NDJSON escapes control characters itself.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import IO, TYPE_CHECKING, cast

import orjson

from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    Error,
    Event,
    Notice,
    Open,
    Reconnecting,
)
from desktop.core.insight.notice_cap import NoticeCap, Verdict
from desktop.core.terminal import terminal_safe

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.engine.certificate import TLSFailure, TLSInfo
    from desktop.core.engine.records import ErrorResponse, Hop, Record

PROG = "sse-viewer tail"
BODY_LINES = 12  # of an error response's body, on stderr
BODY_LINE_CHARS = 240


def _hops(redirects: tuple[Hop, ...]) -> list[dict[str, object]]:
    return [
        {"status": hop.status, "url": hop.url, "location": hop.location}
        | ({"dropped": list(hop.dropped)} if hop.dropped else {})
        for hop in redirects
    ]


def _response_keys(response: ErrorResponse) -> dict[str, object]:
    """The extra keys of a ``closed`` record after a response that was not a
    stream (ARCHITECTURE.md, the tail contract)."""
    fields: dict[str, object] = {
        "content_type": response.content_type,
        "body": response.body,
        "body_bytes": response.size,
    }
    if response.redirects:
        fields["redirects"] = _hops(response.redirects)
    return fields


def body_lines(response: ErrorResponse) -> str:
    """The first lines of an error response's body, indented, terminal-safe."""
    lines = response.body.splitlines()
    shown = [
        "  "
        + terminal_safe(line[:BODY_LINE_CHARS])
        + ("…" if len(line) > BODY_LINE_CHARS else "")
        for line in lines[:BODY_LINES]
    ]
    if not lines:
        shown = ["  (no body)" if response.complete else "  (no body yet)"]
    rest = len(lines) - BODY_LINES
    more = response.size - len(response.raw)
    if rest > 0 or more > 0 or not response.complete:
        total = f"{response.size:,} bytes" + ("" if response.complete else " or more")
        shown.append(f"  … (the body has {total})")
    return "".join(f"{line}\n" for line in shown)


def _hop_lines(redirects: tuple[Hop, ...]) -> str:
    text = ""
    for hop in redirects:
        dropped = f" (not sent on: {', '.join(hop.dropped)})" if hop.dropped else ""
        line = f"redirected: HTTP {hop.status} {hop.url} -> {hop.location}{dropped}"
        text += terminal_safe(line) + "\n"
    return text


def json_record(record: Record) -> bytes:
    """The NDJSON line of one record (the contract in ARCHITECTURE.md)."""
    if type(record) is Event:
        fields: dict[str, object] = {
            "type": "event",
            "event": record.type,
            "data": record.data,
            "id": record.id,
        }
        if record.retry is not None:
            fields["retry"] = record.retry
    elif isinstance(record, Connecting):
        fields = {
            "type": "state",
            "state": "connecting",
            "attempt": record.attempt,
            "url": record.url,
            "last_event_id": record.last_event_id,
        }
        if record.proxy is not None:
            fields["proxy"] = record.proxy
    elif isinstance(record, Open):
        fields = {
            "type": "state",
            "state": "open",
            "status": record.status,
            "http_version": record.http_version,
        }
        if record.tls is not None:  # an extra key: the contract allows them
            fields["tls"] = _plain(record.tls)
        if record.redirects:
            fields["redirects"] = _hops(record.redirects)
    elif isinstance(record, Reconnecting):
        fields = {
            "type": "state",
            "state": "reconnecting",
            "delay_ms": record.delay_ms,
            "reason": record.reason,
            "delay_source": record.delay_source.value,
        }
    elif isinstance(record, Closed):
        fields = {
            "type": "state",
            "state": "closed",
            "reason": record.reason,
            "failed": record.failed,
        }
        if record.status is not None:
            fields["status"] = record.status
        if record.tls is not None:
            fields["tls"] = _plain(record.tls)
        if record.response is not None:
            fields |= _response_keys(record.response)
    elif isinstance(record, Error):
        fields = {"type": "error", "message": record.message}
    elif isinstance(record, Comment):
        fields = {"type": "comment", "text": record.text}
    else:
        return b""
    return orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)


def _plain(value: TLSInfo | TLSFailure) -> dict[str, object]:
    # Nested frozen dataclasses of str, int, tuples and enums (StrEnum is a str).
    return cast("dict[str, object]", dataclasses.asdict(value))


class _Text:
    """The readable format: events on stdout, states and errors on stderr."""

    def __init__(self, quiet: bool, color: bool, notices: bool = False) -> None:
        self.quiet = quiet
        self.color = color
        self.notices = notices
        # The app's cap on notice rows: a few of a kind per connection, then
        # one line at its end for the rest.
        self.notice_cap = NoticeCap()

    def paint(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def event(self, record: Event) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.wall))
        millis = f"{int(record.wall * 1000) % 1000:03d}"
        head = (
            self.paint("2", f"{clock}.{millis}")
            + " "
            + self.paint("1;36", terminal_safe(record.type))
        )
        if record.id:
            head += " " + self.paint("33", f"#{terminal_safe(record.id)}")
        data = terminal_safe(record.data, newlines=True).replace("\n", "\n    ")
        return f"{head} {data}\n"

    def state(self, record: Record) -> str | None:
        if self.quiet:
            return None
        clock = time.strftime("%H:%M:%S", time.localtime(getattr(record, "wall", 0)))
        before = ""  # the lines of notices held back, before a connection's end
        if isinstance(record, Connecting):
            lid = (
                f" (Last-Event-ID: {record.last_event_id})"
                if record.last_event_id
                else ""
            )
            via = f" via proxy {record.proxy}" if record.proxy else ""
            text = (
                f"connecting #{record.attempt} to "
                f"{terminal_safe(record.url + lid + via)}"
            )
        elif isinstance(record, Open):
            text = _hop_lines(record.redirects) + self.paint(
                "32", f"open, HTTP {record.status} ({record.http_version})"
            )
            if record.tls is not None:
                text += f", {record.tls.version} {record.tls.cipher}"
        elif isinstance(record, Reconnecting):
            before = self._held_notices(clock)
            text = self.paint(
                "33",
                f"{terminal_safe(record.reason)}; reconnecting in {record.delay_ms} ms "
                f"({record.delay_source.value})",
            )
        elif isinstance(record, Closed):
            before = self._held_notices(clock)
            if record.failed:  # the one error line says it
                return before or None
            text = f"closed: {terminal_safe(record.reason)}"
        elif isinstance(record, Comment):
            text = self.paint("2", f": {terminal_safe(record.text)}")
        elif isinstance(record, Notice) and self.notices:
            # Not NDJSON: the tail contract (ARCHITECTURE.md) has no notice record.
            if self.notice_cap.admit(record.kind) is Verdict.HIDE:
                return None
            detail = terminal_safe(record.detail)
            text = self.paint("35", f"note ({record.kind.value}): {detail}")
        else:
            return None
        return before + self.paint("2", f"{clock} ") + text + "\n"

    def _held_notices(self, clock: str) -> str:
        """A line per kind of notice the cap held back on the connection that
        ended; empty when none was."""
        return "".join(
            self.paint("2", f"{clock} ")
            + self.paint(
                "35", f"\N{HORIZONTAL ELLIPSIS} and {more:,} more {kind.value} notices"
            )
            + "\n"
            for kind, more in self.notice_cap.end_connection()
        )


def make_emitter(
    fmt: str,
    *,
    quiet: bool,
    color: str,
    out: IO[bytes],
    err: IO[str],
    notices: bool = False,
) -> Callable[[list[Record]], None]:
    """A function printing one read's records: NDJSON or text, flushed per read."""
    if fmt == "json":
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE

        def emit_json(batch: list[Record]) -> None:
            # One growing bytearray per read: a list of lines joined at the end
            # made glibc shrink and regrow its heap on every batch (measured: 0.6
            # page faults an event, half of tail's time).
            buffer = bytearray()
            for record in batch:
                if type(record) is Event:  # the hot path, inlined
                    buffer += dumps(
                        {
                            "type": "event",
                            "event": record.type,
                            "data": record.data,
                            "id": record.id,
                        },
                        option=newline,
                    )
                else:
                    buffer += json_record(record)
                    stderr_line(record, err)
            out.write(buffer)
            out.flush()

        return emit_json

    painted = color == "always" or (
        color == "auto" and out.isatty() and "NO_COLOR" not in os.environ
    )
    text = _Text(quiet, painted, notices)

    def emit_text(batch: list[Record]) -> None:
        lines = []
        for record in batch:
            if type(record) is Event:
                lines.append(text.event(record))
                continue
            line = text.state(record)
            if line is not None:
                err.write(line)
            stderr_line(record, err, detail=not quiet)
        if lines:
            out.write("".join(lines).encode("utf-8", "replace"))
        out.flush()
        err.flush()

    return emit_text


def _pin_hint(closed: Closed) -> str:
    """How to trust a refused certificate alone, when a pin would accept it."""
    tls = closed.tls
    cert = tls.certificate if tls is not None and tls.pinnable else None
    if cert is None:
        return ""
    return f"; to trust this certificate alone: --pin {cert.fingerprint}"


def stderr_line(record: Record, err: IO[str], *, detail: bool = False) -> None:
    """The one line of an error or a failed close.  With ``detail`` (the text
    format, not --quiet) the redirects and first body lines of a response that
    was not a stream come first, so that the verdict stays the last line (JSON
    has them in the ``closed`` record)."""
    if isinstance(record, Closed) and record.failed:
        if detail and record.response is not None:
            err.write(_hop_lines(record.response.redirects))
            err.write(body_lines(record.response))
        err.write(f"{PROG}: {terminal_safe(record.reason)}{_pin_hint(record)}\n")
    elif isinstance(record, Error):
        err.write(f"{PROG}: {terminal_safe(record.message)}\n")
