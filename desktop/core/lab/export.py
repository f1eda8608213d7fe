"""Lab export: one self-contained HTML page of a lab run, records as NDJSON beside it.

The page is for handing out: inline CSS, the lanes drawn as inline SVG (one
``<g class="attempt">`` per connection attempt, hovers as ``<title>``, then the
lane's labels laid out so none covers another: desktop/core/lab/label_layout.py), the
sent-versus-received comparison and the lesson checklist when a lesson ran.  It
is well-formed XML (no named entities, every tag closed), so a teacher's tooling
can parse it.  Every piece of text goes through ``html.escape``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from dataclasses import dataclass, field
from enum import Enum
from html import escape
from typing import TYPE_CHECKING, Protocol

from desktop.core.files.redact import redact_headers, redact_url
from desktop.core.lab.label_layout import Label, place
from desktop.core.lab.lane_style import (
    ENDING_COLOURS,
    INK_COLOURS,
    LEGEND,
    REPLAYED_COLOURS,
)
from desktop.core.lab.lane_text import (
    gap_label,
    gap_text,
    lane_label,
    segment_text,
    tick_text,
)
from desktop.core.lab.lanes import ConnectionEnd, lanes_span

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from desktop.core.engine.records import Record
    from desktop.core.lab.lanes import Lane, Segment


class CheckLike(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def expected(self) -> str: ...
    @property
    def observed(self) -> str: ...
    @property
    def ok(self) -> bool: ...


class ResultLike(Protocol):
    """desktop.core.lab.lessons.catalog.LessonResult, as far as the export reads it."""

    @property
    def key(self) -> str: ...
    @property
    def checks(self) -> Sequence[CheckLike]: ...


class ContinuityLike(Protocol):
    """desktop.core.lab.continuity.Continuity, as far as the export reads it."""

    @property
    def published(self) -> int: ...
    @property
    def received(self) -> int: ...
    @property
    def lost(self) -> list[str]: ...
    @property
    def repeated(self) -> list[str]: ...
    @property
    def reordered(self) -> list[str]: ...
    @property
    def latency_ms(self) -> list[float]: ...


@dataclass(slots=True)
class LabRun:
    """Everything one export holds."""

    title: str
    url: str
    lanes: list[Lane]
    app: ContinuityLike | None = None
    naive: ContinuityLike | None = None
    note: str = ""
    lesson: ResultLike | None = None
    records: Mapping[str, Sequence[Record]] = field(default_factory=dict)
    created: float = field(default_factory=time.time)


# The export is a light page: the light fill of each ending.
COLOURS: dict[ConnectionEnd, str] = {
    e: light for e, (light, _) in ENDING_COLOURS.items()
}
WIDTH = 1100
LEFT = 10
BAND = 70
BAR_Y = 30
BAR_H = 16
TITLE_Y = 14  # baselines in a lane: its title, the ids over the bars, gap labels
ID_Y = BAR_Y - 4
GAP_Y = BAR_Y + BAR_H + 12

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2937;max-width:1160px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #d1d5db;padding:4px 8px;
text-align:left}th{background:#f3f4f6}.ok{color:#15803d}.bad{color:#b91c1c}
svg{border:1px solid #d1d5db;background:#fff}.legend span{margin-right:14px}
.sw{display:inline-block;width:14px;height:9px;margin-right:4px}
.muted{color:#6b7280}code{background:#f3f4f6;padding:0 3px}
"""


def render(run: LabRun) -> str:
    """The whole page as a string."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!DOCTYPE html>",
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">',
        f'<head><meta charset="utf-8" /><title>{escape(run.title)}</title>',
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(run.title)}</h1>",
        f'<p class="muted">Stream <code>{escape(redact_url(run.url))}</code>'
        " · exported "
        f"{escape(time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(run.created)))}"
        "</p>",
        "<h2>Connections in time</h2>",
        _legend(),
        svg(run.lanes),
        '<p class="muted">Hover a bar, gap or tick for its explanation.</p>',
        _comparison(run),
        _checklist(run.lesson),
        _attempts(run.lanes),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def _legend() -> str:
    spans = "".join(
        f'<span><i class="sw" style="background:{COLOURS[e]}"></i>{escape(t)}</span>'
        for e, t in LEGEND
    )
    spans += (
        f'<span><i class="sw" style="background:{REPLAYED_COLOURS[0]};width:3px"></i>'
        "replayed from the log</span><span>hatched: the gap, asked · waited</span>"
    )
    return f'<p class="legend">{spans}</p>'


def svg(lanes: Sequence[Lane]) -> str:
    """The lanes as inline SVG: ``<g class="lane">`` of ``<g class="attempt">``."""
    span = lanes_span(lanes)
    height = BAND * max(1, len(lanes)) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-size="11" font-family="sans-serif">',
        '<defs><pattern id="hatch" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9ca3af" stroke-width="2" />'
        "</pattern></defs>",
    ]
    if span is not None:
        t0, t1 = span
        scale = (WIDTH - 2 * LEFT - 120) / max(t1 - t0, 1e-3)

        def x(wall: float) -> float:
            return LEFT + (wall - t0) * scale

        for row, lane in enumerate(lanes):
            top = row * BAND
            out.append(f'<g class="lane" data-lane="{escape(lane.key)}">')
            out.append(
                f'<text x="{LEFT}" y="{top + TITLE_Y}" font-weight="bold">'
                f"{escape(lane_label(lane))}</text>"
            )
            ids: list[Label] = []
            gaps: list[Label] = []
            for index, segment in enumerate(lane.segments):
                end = segment.ended or (segment.ticks[-1].at if segment.ticks else t1)
                out.append(_attempt(lane, index, segment, top, x, end))
                ids.extend(_id_label(index, segment, x))
                gaps.extend(_gap_label(lane, index, segment, x))
            out.append(_labels("id", ids, top + ID_Y, ' class="id"'))
            out.append(_labels("gap", gaps, top + GAP_Y, ' fill="#6b7280"'))
            out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _attempt(
    lane: Lane,
    index: int,
    segment: Segment,
    top: float,
    x: object,
    end: float,
) -> str:
    at = x  # a callable from svg(): wall -> x
    assert callable(at)
    start = segment.opened if segment.opened is not None else segment.started
    x0, x1 = at(start), at(max(end, start))
    width = max(2.0, x1 - x0)
    colour = COLOURS[segment.ending]
    opacity = "1" if segment.opened is not None else "0.45"
    parts = [
        f'<g class="attempt" data-lane="{escape(lane.key)}" '
        f'data-attempt="{segment.attempt}" data-ending="{segment.ending.value}" '
        f'data-last-event-id="{escape(segment.last_event_id, quote=True)}">'
    ]
    if index > 0:
        previous = lane.segments[index - 1]
        if previous.ended is not None and previous.ended < segment.started:
            g0, g1 = at(previous.ended), at(segment.started)
            parts.append(
                f'<rect class="gap" x="{g0:.1f}" y="{top + BAR_Y}" '
                f'width="{max(1.0, g1 - g0):.1f}" height="{BAR_H}" fill="url(#hatch)">'
                f"<title>{escape(gap_text(segment))}</title></rect>"
            )
    parts.append(
        f'<rect class="segment" x="{x0:.1f}" y="{top + BAR_Y}" width="{width:.1f}" '
        f'height="{BAR_H}" fill="{colour}" fill-opacity="{opacity}">'
        f"<title>{escape(segment_text(lane, segment))}</title></rect>"
    )
    for tick in segment.ticks[:2000]:
        tx = at(tick.at)
        colour = REPLAYED_COLOURS[0] if tick.replayed else INK_COLOURS[0]
        y0 = top + BAR_Y - (6 if tick.replayed else 3)
        parts.append(
            f'<line class="{"replayed" if tick.replayed else "tick"}" '
            f'x1="{tx:.1f}" x2="{tx:.1f}" y1="{y0}" y2="{top + BAR_Y + BAR_H + 3}" '
            f'stroke="{colour}" stroke-width="{2 if tick.replayed else 1}">'
            f"<title>{escape(tick_text(tick))}</title></line>"
        )
    parts.append("</g>")
    return "".join(parts)


def _id_label(
    index: int, segment: Segment, at: Callable[[float], float]
) -> list[Label]:
    """The Last-Event-ID a reconnect carried, over its bar."""
    if not (segment.last_event_id or index > 0):
        return []
    return [
        Label(
            at(segment.started),
            f"⟲ {segment.last_event_id or 'no id'}",
            f"Last-Event-ID sent: {segment.last_event_id or 'none'}",
        )
    ]


def _gap_label(
    lane: Lane, index: int, segment: Segment, at: Callable[[float], float]
) -> list[Label]:
    """The delay asked and waited, under the gap before ``segment``."""
    previous = lane.segments[index - 1] if index > 0 else None
    text = gap_label(segment)
    if previous is None or previous.ended is None or not text:
        return []
    if previous.ended >= segment.started:
        return []
    return [Label(at(previous.ended), text, gap_text(segment))]


def _labels(kind: str, labels: list[Label], baseline: float, attributes: str) -> str:
    """One row of labels, laid out so that none covers another
    (desktop/core/lab/label_layout.py): a crowded one is folded into its left
    neighbour, whose hover lists them all."""
    return "".join(
        f'<text data-label="{kind}" x="{label.x:.1f}" y="{baseline}"{attributes}>'
        f"{escape(label.text)}<title>{escape(chr(10).join(label.titles))}</title>"
        "</text>"
        for label in place(labels, left=LEFT, right=WIDTH - LEFT)
    )


def _comparison(run: LabRun) -> str:
    rows = []
    for name, result in (("our client", run.app), ("naive client", run.naive)):
        if result is None:
            continue
        latency = sorted(result.latency_ms)
        median = f"{latency[len(latency) // 2]:.0f} ms" if latency else "—"
        css = (
            "ok" if not (result.lost or result.repeated or result.reordered) else "bad"
        )
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{result.published}</td>"
            f"<td>{result.received}</td>"
            f'<td class="{css}">lost {len(result.lost)} · repeated '
            f"{len(result.repeated)} · reordered {len(result.reordered)}</td>"
            f"<td>{median}</td><td>{escape(', '.join(result.lost[:20]))}</td></tr>"
        )
    if not rows and not run.note:
        return ""
    table = (
        "<table><tr><th>client</th><th>published</th><th>received</th>"
        "<th>continuity</th><th>median latency</th><th>lost ids</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else ""
    )
    note = f'<p class="muted">{escape(run.note)}</p>' if run.note else ""
    return f"<h2>Sent versus received</h2>{table}{note}"


def _checklist(result: ResultLike | None) -> str:
    if result is None:
        return ""
    rows = "".join(
        f'<tr><td class="{"ok" if c.ok else "bad"}">{"✓" if c.ok else "✗"}</td>'
        f"<td>{escape(c.label)}</td><td>{escape(c.expected)}</td>"
        f"<td>{escape(c.observed)}</td></tr>"
        for c in result.checks
    )
    return (
        f"<h2>Lesson {escape(result.key)}: expected versus observed</h2>"
        "<table><tr><th></th><th>check</th><th>expected</th><th>observed</th></tr>"
        f"{rows}</table>"
    )


def _attempts(lanes: Sequence[Lane]) -> str:
    rows = "".join(
        f"<tr><td>{escape(lane.title)}</td><td>{s.attempt}</td>"
        f"<td>{escape(segment_text(lane, s))}</td>"
        f"<td>{escape(gap_label(s))}</td></tr>"
        for lane in lanes
        for s in lane.segments
    )
    if not rows:
        return ""
    return (
        "<h2>Every attempt</h2><table><tr><th>lane</th><th>#</th><th>what happened"
        f"</th><th>gap before it</th></tr>{rows}</table>"
    )


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple | list | frozenset):
        return [_plain(v) for v in value]
    return value


def record_line(lane: str, record: Record) -> str:
    """One NDJSON line: the lane, the record kind, every field of the record."""
    fields = {
        f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)
    }
    # The file is meant for handing out: secrets masked as a recording masks them.
    url = getattr(record, "url", None)
    if isinstance(url, str):
        fields["url"] = redact_url(url)
    headers = getattr(record, "headers", None)
    if isinstance(headers, tuple):
        fields["headers"] = [list(pair) for pair in redact_headers(headers)]
    return json.dumps(
        {"lane": lane, "record": type(record).__name__, **fields}, ensure_ascii=False
    )


def write_lab_run(run: LabRun, path: Path) -> tuple[Path, Path]:
    """Write ``path`` (HTML) and ``path`` with ``.ndjson`` (the raw records)."""
    html_path = path if path.suffix == ".html" else path.with_suffix(".html")
    ndjson_path = html_path.with_suffix(".ndjson")
    html_path.write_text(render(run), encoding="utf-8")
    with ndjson_path.open("w", encoding="utf-8") as out:
        header = {
            "format": "sse-viewer-lab-run",
            "version": 1,
            "url": redact_url(run.url),
        }
        out.write(json.dumps(header) + "\n")
        for lane, records in run.records.items():
            for record in records:
                out.write(record_line(lane, record) + "\n")
    return html_path, ndjson_path
