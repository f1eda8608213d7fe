"""Stream warnings: what a stream's records say about proxies, timeouts and spec traps.

An :class:`Advisor` watches one stream and keeps a short list of :class:`Advice`,
each a title, one sentence on why it matters and one on what to do.  It judges
from records only, so the app feeds it live batches and the lessons feed it
recorded ones (``feed``).  The app's hot loop calls the cheaper ``read`` once per
network read and ``record`` for the rare state records and Notices.

Bursts are judged against the stream's median gap *per event*: a read of ``k``
events after ``s`` seconds of silence counts ``s / k``.  Read to read, a stream
that a proxy always buffers has a steady gap (every read is a burst), but its
events are close together: a silence five times their median gap, with many
events in the read, is what buffering looks like.  A steady fast stream never
falls silent long (``min_silence_s``), so it cannot trigger it.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop.core.engine.records import (
    Closed,
    Connecting,
    Event,
    Notice,
    NoticeKind,
    Open,
    Reconnecting,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from desktop.core.engine.records import Record

DEFAULT_IDLE_AFTER_S = 30.0  # a common proxy idle timeout (nginx 60 s, AWS ALB 60 s)
BURST_RATIO = 5.0  # a silence this many times the median per-event gap …
BURST_MIN_EVENTS = 5  # … then at least this many events in one read …
BURSTS_TO_WARN = 3  # … this many times: a burst
MIN_SILENCE_S = 0.5  # shorter silences are scheduling noise, not buffering
_GAP_SAMPLES = 64
_KNOWN_IDS = 50_000  # ids remembered to spot a resume that repeats them


@dataclass(slots=True)
class Advice:
    """One warning.  ``detail`` names the latest case (a header, a line)."""

    key: str
    title: str
    why: str
    action: str
    count: int
    first_wall: float
    detail: str = ""


@dataclass(slots=True)
class _Seen:
    count: int
    first_wall: float
    detail: str


# Fixed texts per key: (title, why, action).  Bursts, idle, compressed and
# unnamed-mixed fill in figures; see ``Advisor.warnings``.
_TEXTS: dict[str, tuple[str, str, str]] = {
    NoticeKind.ID_RESET: (
        "Last event ID reset by an empty id:",
        "After an empty id: a reconnect sends no Last-Event-ID, so the server "
        "cannot resume where the stream left off.",
        "Send id: only with a value, unless forgetting the position is meant.",
    ),
    NoticeKind.RETRY_IGNORED: (
        "retry: ignored, not all digits",
        "Clients ignore a retry: value with anything but ASCII digits (no units, "
        "signs or spaces), so the reconnection time stays as it was.",
        "Send whole milliseconds, e.g. retry: 5000.",
    ),
    NoticeKind.ID_NUL: (
        "id with NUL ignored",
        "Clients ignore an id: that contains U+0000, so the last event ID stays "
        "the previous one and a resume may repeat events.",
        "Keep NUL out of event ids.",
    ),
    NoticeKind.DISCARDED: (
        "Unfinished event discarded",
        "The connection ended before the blank line that completes an event, "
        "so every client drops that event.",
        "End each event with a blank line and flush it before closing.",
    ),
    NoticeKind.RECONNECT_STORM: (
        "Reconnect storm",
        "The client reconnects many times a second: the server ends each "
        "connection at once (or refuses it) and the reconnection time is short "
        "or 0, so every client of this server hammers it in the same way.",
        "Send a retry: of a few seconds, keep the stream open, or answer 204 to "
        "stop clients; here, a backoff cap (beyond the spec) spaces attempts.",
    ),
    NoticeKind.PINNED_OUT_OF_DATES: (
        "Pinned certificate out of its dates",
        "The server's certificate is expired (or not valid yet); it was accepted "
        "only because its fingerprint is trusted for this host and port. Any "
        "other client refuses it.",
        "Renew the server's certificate, then trust the new one; or remove the "
        "pin in the TLS tab to have the expiry refused.",
    ),
    NoticeKind.NO_DATA: (
        "Events without data not dispatched",
        "A block with event: or id: but no data: line fires nothing in a browser, "
        "although some other parsers deliver it as an empty event.",
        "Add a data: line (an empty data: will do) to every event meant to fire.",
    ),
}


_IDS_REPEATED = (
    "Resumed connection repeats ids",
    "After a reconnect with Last-Event-ID the server sent ids this stream had "
    "already received: it ignores the header and starts over, so every client "
    "gets events twice after each drop.",
    "Read Last-Event-ID on connect and send only the events after it (or send "
    "no id: if the stream cannot resume).",
)


def texts(kind: str) -> tuple[str, str, str] | None:
    """The title, why and action of a Notice of ``kind`` (doctor's spec checks)."""
    return _TEXTS.get(kind)


def explain(kind: str) -> str:
    """Why a Notice of ``kind`` matters and what to do, for a record's detail view."""
    texts = _TEXTS.get(kind)
    return "" if texts is None else f"{texts[1]} {texts[2]}"


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def buffering_hints(headers: Sequence[tuple[str, str]]) -> list[str]:
    """The response headers that point to compression or buffering on the way."""
    hints = []
    encoding = _header(headers, "content-encoding")
    if encoding and encoding.strip().lower() != "identity":
        hints.append(f"Content-Encoding: {encoding}")
    accel = _header(headers, "x-accel-buffering")
    if accel is None or accel.strip().lower() != "no":
        hints.append("no X-Accel-Buffering: no")
    cache = _header(headers, "cache-control")
    if cache is None:
        hints.append("no Cache-Control: no-transform")
    elif "no-transform" not in cache.lower():
        hints.append(f"Cache-Control: {cache} without no-transform")
    return hints


class Advisor:
    """Warnings for one stream (``idle_after_s`` may change at any time)."""

    def __init__(
        self,
        idle_after_s: float = DEFAULT_IDLE_AFTER_S,
        *,
        min_silence_s: float = MIN_SILENCE_S,
    ) -> None:
        self.idle_after_s = idle_after_s
        self.min_silence_s = min_silence_s
        self._headers: tuple[tuple[str, str], ...] = ()
        self._open = False
        self._last_at: float | None = None  # the latest read (or the Open)
        self._last_wall = 0.0
        self.reset()

    def reset(self) -> None:
        """Forget warnings and figures (Clear, a new connect), not the connection."""
        self._seen: dict[str, _Seen] = {}
        self._gaps: deque[float] = deque(maxlen=_GAP_SAMPLES)
        self._idle = False  # inside a silence already counted
        self._named = 0  # named types seen beside "message"
        self._burst = (0, 0.0, 0.0)  # the latest burst: events, silence, ratio
        self._types: set[str] = set()  # feed's own; the session passes its set
        # Ids received (the app passes the last of each read and every id of a
        # connection's first read, see ``ids``); the Last-Event-ID of the latest
        # Connecting, and whether that connection's first ids are still to come.
        self._ids: set[str] = set()
        self._resumed_from = ""
        self.wants_ids = False

    # -- input ----------

    def feed(self, batch: Sequence[Record]) -> None:
        """Judge one network read's records (the general entry, e.g. recordings)."""
        events = 0
        ids: list[str] = []
        for record in batch:
            if record.__class__ is Event:
                events += 1
                self._types.add(record.type)
                ids.append(record.id)
            elif isinstance(record, Open | Connecting | Reconnecting | Closed | Notice):
                self.record(record)
        if ids:
            self.ids(ids, batch[-1].wall)
        if batch:
            last = batch[-1]
            self.read(last.at, last.wall, events, self._types)

    def ids(self, ids: Sequence[str], wall: float) -> None:
        """Ids of events received in one read: every one while :attr:`wants_ids`
        (a connection's first read), else any sample (the app: the read's last).

        A connection that resumed with Last-Event-ID and whose first read
        repeats an id received before does not resume: counted once per
        connection.
        """
        known = self._ids
        if self.wants_ids:
            self.wants_ids = False
            if self._resumed_from:
                again = next((i for i in ids if i and i in known), None)
                if again is not None:
                    detail = f"sent {self._resumed_from!r}, got {again!r} again"
                    self._add("ids-repeated", wall, detail)
        if len(known) > _KNOWN_IDS:
            known.clear()  # bounded; a repeat of older ids goes unseen
        known.update(ids)

    def record(self, record: Record) -> None:
        """A state record or a Notice (rare: no cost on the per-event path)."""
        if isinstance(record, Notice):
            self._add(record.kind.value, record.wall, record.detail)
        elif isinstance(record, Open):
            self._open = True
            self._headers = record.headers
            self._last_at, self._last_wall = record.at, record.wall
            self._idle = False
            encoding = _header(record.headers, "content-encoding")
            if encoding and encoding.strip().lower() != "identity":
                self._add("compressed", record.wall, f"Content-Encoding: {encoding}")
        elif isinstance(record, Connecting | Reconnecting | Closed):
            self._open = False
            self._idle = False
            if isinstance(record, Connecting):
                self._resumed_from = record.last_event_id
                self.wants_ids = True
                if record.last_event_id:
                    self._ids.add(record.last_event_id)

    def read(self, at: float, wall: float, events: int, types: Collection[str]) -> None:
        """One network read at ``at`` that gave ``events`` events.

        ``types`` is every event type seen so far (the session's set).  Reads not
        after the latest one (a state-only batch) are ignored.
        """
        last = self._last_at
        if last is None or at <= last:
            return
        self._last_at, self._last_wall = at, wall
        self._idle = False
        if not events:
            return
        silence = at - last
        gaps = self._gaps
        if (
            events >= BURST_MIN_EVENTS
            and silence >= self.min_silence_s
            and len(gaps) >= 1
        ):
            median = statistics.median(gaps)
            if silence >= BURST_RATIO * median:
                ratio = silence / median if median > 0 else float("inf")
                self._burst = (events, silence, ratio)
                self._add("bursts", wall, "; ".join(buffering_hints(self._headers)))
        gaps.append(silence / events)
        if "message" in types and len(types) - 1 != self._named:
            self._named = len(types) - 1
            if self._named:
                named = sorted(t for t in types if t != "message")
                self._add("unnamed-mixed", wall, ", ".join(named), count=self._named)

    def check_idle(self, now: float) -> None:
        """Count a silence once it passes ``idle_after_s`` while open (call often)."""
        last = self._last_at
        if not self._open or self._idle or last is None:
            return
        if now - last >= self.idle_after_s:
            self._idle = True
            self._add("idle", self._last_wall + self.idle_after_s, "")

    def _add(self, key: str, wall: float, detail: str, count: int = 0) -> None:
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = _Seen(count or 1, wall, detail)
        else:
            seen.count = count or seen.count + 1
            seen.detail = detail

    # -- output ----------

    @property
    def bursts(self) -> tuple[int, int, float, float]:
        """Bursts so far: how many, and the latest's events, silence and ratio."""
        seen = self._seen.get("bursts")
        events, silence, ratio = self._burst
        return (0 if seen is None else seen.count), events, silence, ratio

    @property
    def idle(self) -> bool:
        """Open and silent for longer than ``idle_after_s`` right now."""
        return self._idle

    def warnings(self) -> list[Advice]:
        """The warnings so far, oldest first; bursts only once repeated."""
        out = []
        for key, seen in self._seen.items():
            if key == "bursts" and seen.count < BURSTS_TO_WARN:
                continue
            title, why, action = self._texts(key, seen)
            out.append(
                Advice(
                    key, title, why, action, seen.count, seen.first_wall, seen.detail
                )
            )
        return out

    def _texts(self, key: str, seen: _Seen) -> tuple[str, str, str]:
        if key in _TEXTS:
            return _TEXTS[key]
        if key == "compressed":
            return (
                f"Compressed response ({seen.detail})",
                "A compressor holds bytes until its block fills unless the server "
                "flushes after every event, so events can arrive late and in bursts.",
                "Turn compression off for text/event-stream responses, in the app "
                "and in any proxy on the way.",
            )
        if key == "bursts":
            events, silence, ratio = self._burst
            hints = seen.detail or "no header gives it away"
            return (
                "Events arrive in bursts",
                f"{seen.count} times many events came in one read after a silence "
                f"(last: {events} after {silence:.1f} s, {ratio:.0f} times the usual "
                "gap): a proxy or compression is likely holding them back.",
                f"Check: {hints}. Send X-Accel-Buffering: no and Cache-Control: "
                "no-cache, no-transform, and turn off proxy buffering for the route.",
            )
        if key == "ids-repeated":
            return _IDS_REPEATED
        if key == "idle":
            return (
                f"No byte for over {self.idle_after_s:g} s",
                "Proxies and load balancers often cut connections that carry "
                "nothing for 30 to 60 s, and nobody notices until the next read fails.",
                "Have the server send a comment line (: ping) every 15 s or so.",
            )
        return (
            "Unnamed events beside named ones",
            "A browser's onmessage sees only unnamed message events; the named "
            f"ones ({seen.detail}) reach only addEventListener for their type.",
            "Name every event, or listen for each type with addEventListener.",
        )
