"""The "Reconnect & limits" options of a stream: text as typed, checked for the engine.

The connection bar keeps them as the user typed them (an empty field means the
engine's default), so a half-typed value is never lost; :func:`parse_limits`
checks them at connect time and raises :class:`~desktop.ui.form_error.RequestError`
with a sentence that names the field.  :func:`limits_of` goes the other way, for
a recording's options.  Backoff and reconnect-on-status are beyond the WHATWG
spec (a browser has neither); the others are client choices the spec leaves open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop.core.engine.options import DEFAULT_HEADERS_TIMEOUT_S
from desktop.ui.form_error import RequestError

if TYPE_CHECKING:
    from desktop.core.engine.options import StreamOptions

APP_MAX_EVENT_BYTES = 64 << 20  # the app's default: a 10 MB event is shown whole
MAX_EVENT_SIZE_CAP = 1 << 30  # one event held in memory: 1 GB is plenty
_MAX_INT = 2**31 - 1
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


@dataclass(frozen=True, slots=True)
class LimitsForm:
    """The group's fields as typed; "" is the default (none / unlimited / off)."""

    read_timeout: str = ""  # seconds
    headers_timeout: str = ""  # seconds; "" is the engine's 30, "0" none
    max_attempts: str = ""
    max_backoff_ms: str = ""
    reconnect_on_status: str = ""  # e.g. "502,503,504"
    close_on: str = ""  # event types, e.g. "end"
    count: str = ""
    max_event_size: str = ""  # bytes, or "512 KB", "8 MB"
    send_last_event_id: bool = True

    def is_default(self) -> bool:
        return self == LimitsForm()


@dataclass(frozen=True, slots=True)
class Limits:
    """The checked values, as :class:`StreamOptions` takes them."""

    read_timeout: float | None = None
    headers_timeout: float | None = DEFAULT_HEADERS_TIMEOUT_S
    max_attempts: int | None = None
    max_backoff_ms: int | None = None
    reconnect_on_status: frozenset[int] = field(default_factory=frozenset)
    close_on: frozenset[str] = field(default_factory=frozenset)
    count: int | None = None
    max_event_bytes: int = APP_MAX_EVENT_BYTES
    send_last_event_id: bool = True


def parse_limits(form: LimitsForm) -> Limits:
    """Check every field; raise ``RequestError(field, message)`` at a bad one."""
    return Limits(
        read_timeout=_seconds(form.read_timeout),
        headers_timeout=_headers_seconds(form.headers_timeout),
        max_attempts=_integer("max_attempts", form.max_attempts, "Max attempts", 0),
        max_backoff_ms=_integer(
            "max_backoff_ms", form.max_backoff_ms, "The backoff cap (ms)", 1
        ),
        reconnect_on_status=statuses(form.reconnect_on_status),
        close_on=event_types(form.close_on),
        count=_integer("count", form.count, "Stop after (events)", 1),
        max_event_bytes=size(form.max_event_size),
        send_last_event_id=form.send_last_event_id,
    )


def limits_of(options: StreamOptions) -> LimitsForm:
    """The form that gives ``options`` back (a recording's stream, opened live)."""
    return LimitsForm(
        read_timeout=_number_text(options.read_timeout),
        headers_timeout=""
        if options.headers_timeout == DEFAULT_HEADERS_TIMEOUT_S
        else _number_text(options.headers_timeout) or "0",
        max_attempts=_number_text(options.max_attempts),
        max_backoff_ms=_number_text(options.max_backoff_ms),
        reconnect_on_status=",".join(
            str(s) for s in sorted(options.reconnect_on_status)
        ),
        close_on=", ".join(sorted(options.close_on)),
        count=_number_text(options.count),
        max_event_size=""
        if options.max_event_bytes == APP_MAX_EVENT_BYTES
        else size_text(options.max_event_bytes),
        send_last_event_id=options.send_last_event_id,
    )


def normalized(form: LimitsForm) -> LimitsForm:
    """Each field kept if it checks, else the default: how a profile is read
    back (a value edited by hand in the settings file must not stop a load)."""
    checks = (
        ("read_timeout", _seconds),
        ("headers_timeout", _headers_seconds),
        ("max_attempts", lambda t: _integer("", t, "", 0)),
        ("max_backoff_ms", lambda t: _integer("", t, "", 1)),
        ("reconnect_on_status", statuses),
        ("close_on", event_types),
        ("count", lambda t: _integer("", t, "", 1)),
        ("max_event_size", size),
    )
    values: dict[str, object] = {"send_last_event_id": form.send_last_event_id}
    for name, check in checks:
        text: str = getattr(form, name).strip()
        try:
            check(text)
        except ValueError:
            text = ""
        values[name] = text
    return LimitsForm(**values)  # type: ignore[arg-type]


# -- one field each ----------


def _error(field_name: str, message: str) -> ValueError:
    return RequestError(field_name, message)


def _seconds(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text.removesuffix("s").strip())
    except ValueError:
        raise _error(
            "read_timeout", f"Read timeout: {text!r} is not a number of seconds."
        ) from None
    if not 0 < value <= 86_400:
        raise _error(
            "read_timeout",
            "Read timeout: enter seconds above 0 (at most a day), or leave it "
            "empty for none.",
        )
    return value


def _headers_seconds(text: str) -> float | None:
    """``""`` → the engine's default; ``"0"`` → none (wait for ever)."""
    text = text.strip()
    if not text:
        return DEFAULT_HEADERS_TIMEOUT_S
    try:
        value = float(text.removesuffix("s").strip())
    except ValueError:
        raise _error(
            "headers_timeout",
            f"Headers timeout: {text!r} is not a number of seconds.",
        ) from None
    if not 0 <= value <= 86_400:
        raise _error(
            "headers_timeout",
            "Headers timeout: enter seconds (at most a day), 0 for none, or "
            f"leave it empty for {DEFAULT_HEADERS_TIMEOUT_S:g}.",
        )
    return value or None


def _integer(field_name: str, text: str, label: str, least: int) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise _error(field_name, f"{label}: {text!r} is not a whole number.") from None
    if not least <= value <= _MAX_INT:
        raise _error(
            field_name,
            f"{label}: enter a whole number from {least}, or leave it empty.",
        )
    return value


def statuses(text: str) -> frozenset[int]:
    """``"502, 503 504"`` → {502, 503, 504}; each an HTTP status 100-599."""
    codes: set[int] = set()
    for part in re.split(r"[\s,;]+", text.strip()):
        if not part:
            continue
        if not part.isdigit() or not 100 <= int(part) <= 599:
            raise _error(
                "reconnect_on_status",
                f"Reconnect on status: {part!r} is not an HTTP status (100-599); "
                "enter codes like 502,503,504.",
            )
        codes.add(int(part))
    return frozenset(codes)


def event_types(text: str) -> frozenset[str]:
    """``"end, done"`` → {"end", "done"}; commas separate the types."""
    types = {part.strip() for part in text.split(",")}
    types.discard("")
    if any(re.search(r"[\x00-\x1f\x7f]", t) for t in types):
        raise _error(
            "close_on", "Close on: an event type cannot hold a control character."
        )
    return frozenset(types)


def size(text: str) -> int:
    """``""`` → the app's default; ``"4096"``, ``"512 KB"``, ``"8 MB"`` (KB = 1024)."""
    text = text.strip()
    if not text:
        return APP_MAX_EVENT_BYTES
    match = _SIZE.fullmatch(text)
    if match is None:
        raise _error(
            "max_event_size",
            f"Max event size: {text!r} is not a size; enter bytes, or e.g. 8 MB.",
        )
    unit = (match.group(2) or "").lower()[:1]
    value = int(float(match.group(1)) * _UNITS[unit])
    if not 1 <= value <= MAX_EVENT_SIZE_CAP:
        raise _error(
            "max_event_size", "Max event size: enter a size from 1 byte to 1 GB."
        )
    return value


def size_text(value: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if value >= scale and value % scale == 0:
            return f"{value // scale} {unit}"
    return str(value)


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)
