"""Lane text: the one-sentence hovers and short labels of the lab's lanes.

Shared by the live view and the HTML export, so both explain a mark the same way.
"""

from __future__ import annotations

from desktop.core.lab.lanes import ConnectionEnd, Evidence, Lane, Segment, Tick


def _clock(wall: float) -> str:
    seconds = wall % 60
    minutes = int(wall // 60) % 60
    hours = int(wall // 3600) % 24
    return f"{hours:02d}:{minutes:02d}:{seconds:06.3f} UTC"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value < 10_000 else f"{value / 1000:.1f} s"


def lane_label(lane: Lane) -> str:
    """A lane's heading: its title and how many connections it drew ("1 attempt")."""
    count = len(lane.segments)
    noun = "subscription" if lane.key == "server" else "attempt"
    return f"{lane.title} · {count} {noun}{'' if count == 1 else 's'}"


def segment_text(lane: Lane, segment: Segment) -> str:
    """One sentence for the hover of a connection bar."""
    who = lane.title
    status = f"HTTP {segment.status}" if segment.status is not None else "no response"
    if segment.worker:
        status += f" from worker {segment.worker}"
    if segment.opened is not None and segment.ended is not None:
        held = f"open {_ms((segment.ended - segment.opened) * 1000)}"
    elif segment.opened is not None:
        held = "open now"
    else:
        held = "never opened"
    resume = (
        f"resuming after Last-Event-ID {segment.last_event_id!r}"
        if segment.last_event_id
        else "without Last-Event-ID"
    )
    end = "" if segment.ended is None else f"; ended: {segment.ending_text}"
    if segment.reason and segment.ending not in (ConnectionEnd.OPEN,):
        end += f" ({segment.reason})"
    if segment.final:
        end += "; no reconnect after it"
    return (
        f"{who}, attempt {segment.attempt} at {_clock(segment.started)}: {status}, "
        f"{resume}, {held}, {len(segment.ticks)} events{end}."
    )


def segment_label(lane: Lane, index: int) -> str:
    """The text over connection ``index``: the Last-Event-ID it carried ("" none)
    and, when the lane's connections were served by several workers, which one."""
    segment = lane.segments[index]
    if segment.last_event_id:
        label = f"{'▶' if index == 0 else '⟲'} {segment.last_event_id}"
    else:
        label = "⟲ no id" if index > 0 else ""
    if segment.worker and len({s.worker for s in lane.segments}) > 1:
        label = f"{label} · {segment.worker}" if label else segment.worker
    return label


def gap_text(segment: Segment) -> str:
    """One sentence for the hover of the gap before ``segment``."""
    waited = segment.delay_waited_ms
    asked = segment.delay_asked_ms
    if asked is None:
        if waited is None:
            return "The wait before this attempt is unknown."
        return f"The client waited {_ms(waited)} before reconnecting."
    source = f" (from {segment.delay_source})" if segment.delay_source else ""
    late = (waited or 0.0) - asked
    return (
        f"Asked to wait {_ms(asked)}{source}, waited {_ms(waited or 0.0)} "
        f"({late:+.0f} ms) before attempt {segment.attempt}, which carried "
        + (
            f"Last-Event-ID {segment.last_event_id!r}."
            if segment.last_event_id
            else "no Last-Event-ID."
        )
    )


def gap_label(segment: Segment) -> str:
    """The short text drawn in a gap: "asked 200 ms · waited 212 ms"."""
    waited = segment.delay_waited_ms
    if segment.delay_asked_ms is None:
        return "" if waited is None else f"waited {_ms(waited)}"
    return f"asked {_ms(segment.delay_asked_ms)} · waited {_ms(waited or 0.0)}"


def tick_text(tick: Tick) -> str:
    """One sentence for the hover of an event tick."""
    what = f"Event {tick.type!r}" + (f" id {tick.id!r}" if tick.id else " without id")
    when = f" received {_clock(tick.at)}"
    if tick.evidence is Evidence.PUBLISHED and tick.published is not None:
        return (
            f"{what}{when}: replayed — the server's log says it was published "
            f"{_ms((tick.at - tick.published) * 1000)} earlier, before this "
            "connection was requested."
        )
    if tick.evidence is Evidence.BURST:
        return (
            f"{what}{when}: probably replayed — it came in the first read after a "
            "resume with Last-Event-ID (no publish log to prove it)."
        )
    if tick.published is not None:
        latency = (tick.at - tick.published) * 1000
        return f"{what}{when}: live, {latency:.0f} ms after it was published."
    return f"{what}{when}: live."
