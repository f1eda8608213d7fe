"""Wire: the bytes of SSE fields (WHATWG HTML 9.2), built once per event.

Frames end with a blank line; every ``data`` line is one line of the payload, so a
payload with newlines still round-trips.  Ids and types must not hold CR, LF or NUL
(a NUL in an id makes a conforming client ignore it), which is checked here once.
"""

from __future__ import annotations

_FORBIDDEN = ("\r", "\n", "\0")


def _check_field(name: str, value: str) -> None:
    if any(ch in value for ch in _FORBIDDEN):
        raise ValueError(f"SSE {name} must not contain CR, LF or NUL: {value!r}")


def event_frame(type_: str, data: str, id_: str | None = None) -> bytes:
    """``id`` (if any), ``event`` (unless "message"), ``data`` lines, blank line."""
    _check_field("event type", type_)
    parts: list[str] = []
    if id_ is not None:
        _check_field("id", id_)
        parts.append(f"id: {id_}\n")
    if type_ != "message":
        parts.append(f"event: {type_}\n")
    if "\n" in data or "\r" in data:
        # WHATWG 9.2.6: CRLF, CR and LF all end a line: each is its own data line.
        lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        parts.extend(f"data: {line}\n" for line in lines)
    else:
        parts.append(f"data: {data}\n")
    parts.append("\n")
    return "".join(parts).encode()


def comment_frame(text: str) -> bytes:
    """A comment a client ignores (keep-alives, shutdown notes), and a blank line."""
    _check_field("comment", text)
    return f": {text}\n\n".encode()


def retry_frame(ms: int, unit: str = "") -> bytes:
    """``retry:`` alone; WHATWG: only ASCII digits count, so it must be >= 0.

    ``unit`` (the lab's spec trap only) follows the number, as in ``retry: 5s``,
    which every conforming client ignores.
    """
    if ms < 0:
        raise ValueError("retry must be >= 0 ms")
    _check_field("retry unit", unit)
    return f"retry: {ms}{unit}\n\n".encode()
