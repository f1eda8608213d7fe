"""A row's payload made readable: pretty JSON when it parses, raw text otherwise."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from desktop.core.engine.records import Comment, Event, Notice
from desktop.core.insight.advice import explain
from desktop.ui import row_text

if TYPE_CHECKING:
    from desktop.core.engine.records import ErrorResponse
    from desktop.core.store import Row

PARSE_LIMIT = 8 << 20  # characters; bigger payloads are shown raw
SHOW_LIMIT = 1 << 20  # characters put in the detail pane; Copy still gets everything
# Qt's text layout crashes (SIGSEGV, Qt 6.11) on a single line of ~0.5M characters:
# longer lines are broken for display only.
LINE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str  # what the detail pane shows (maybe cut at SHOW_LIMIT)
    is_json: bool
    note: str  # e.g. "showing the first 1.0 MB of 10.0 MB"


def payload(row: Row) -> str:
    """The text a row carries: event data, comment text, the body of a response
    that was not a stream, or its summary."""
    response = getattr(row, "response", None)
    if response is not None:
        return str(response.body)
    if isinstance(row, Event):
        return row.data
    if isinstance(row, Comment):
        return row.text
    if isinstance(row, Notice):  # what the spec ignored, then why it matters
        return f"{row_text.summary(row)}\n\n{explain(row.kind)}"
    return row_text.summary(row)


def pretty(text: str) -> str | None:
    """Indented JSON if ``text`` is a JSON object or array, else None."""
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "[{" or len(text) > PARSE_LIMIT:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:  # orjson refuses integers beyond 64 bits; json does not
            value = json.loads(text)
        except ValueError:
            return None
        return json.dumps(value, indent=2, ensure_ascii=False)
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")


def response_note(response: ErrorResponse) -> str:
    """The head of a response that was not a stream, in one line."""
    head = f"{response.http_version} {response.status} {response.reason}".rstrip()
    ctype = response.content_type or "no Content-Type"
    size = row_text.human_bytes(response.size)
    if len(response.raw) < response.size:
        size += f", first {row_text.human_bytes(len(response.raw))} kept"
    if not response.complete:
        size = f"at least {size} (stopped reading)"
    via = (
        f" · after {len(response.redirects)} redirect(s)" if response.redirects else ""
    )
    return f"{head} · {ctype} · body {size}{via}"


def render(row: Row) -> Rendered:
    text = payload(row)
    formatted = pretty(text)
    shown = text if formatted is None else formatted
    notes = []
    response = getattr(row, "response", None)
    if response is not None:
        notes.append(response_note(response))
        if not text:
            shown = "(the response had no body)"
    if len(shown) > SHOW_LIMIT:
        notes.append(
            f"showing the first {row_text.human_bytes(SHOW_LIMIT)} of "
            f"{row_text.human_bytes(row_text.data_size(text))}; Copy takes it all"
        )
        shown = shown[:SHOW_LIMIT]
    if len(shown) > LINE_LIMIT and any(
        len(line) > LINE_LIMIT for line in shown.split("\n")
    ):
        shown = "\n".join(_broken(shown.split("\n")))
        notes.append(f"lines over {LINE_LIMIT:,} characters are broken for display")
    return Rendered(shown, formatted is not None, "\n".join(notes))


def _broken(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(
            line[i : i + LINE_LIMIT] for i in range(0, len(line) or 1, LINE_LIMIT)
        )
    return out


def as_json(row: Row) -> str:
    """The row as one JSON object (what "Copy as JSON" puts on the clipboard)."""
    fields: dict[str, object] = {"record": type(row).__name__.lower()}
    for name in type(row).__slots__:
        value = getattr(row, name)
        if name == "headers":
            value = [list(pair) for pair in value]
        elif name == "response" and value is not None:
            value = _response_json(value)
        elif hasattr(value, "value"):
            value = value.value
        fields[name] = value
    return json.dumps(fields, indent=2, ensure_ascii=False, default=str)


def _response_json(response: ErrorResponse) -> dict[str, object]:
    """The response as JSON holds it: its body as text, the raw bytes left out."""
    fields = dataclasses.asdict(response)
    del fields["raw"]
    fields["headers"] = [list(pair) for pair in response.headers]
    return fields
