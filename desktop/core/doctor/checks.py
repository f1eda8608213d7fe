"""A doctor check: one verdict on a server, with its evidence, why and fix.

``CATALOG`` lists every check doctor makes, in the card's order, with stable
ids that scripts may rely on (``--check ID`` takes a prefix of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """A check's verdict."""

    PASS = "pass"  # the server does it right
    WARN = "warn"  # works, but breaks somewhere real (a proxy, a browser)
    FAIL = "fail"  # clients lose events, stop, or never start
    NOT_APPLICABLE = "not-applicable"  # nothing to judge on this stream
    SKIPPED = "skipped"  # not run: asked not to, or nothing to run it on


# How a status reads on a card, worst first (the order of ``worst``).
SEVERITY = (
    Status.FAIL,
    Status.WARN,
    Status.PASS,
    Status.SKIPPED,
    Status.NOT_APPLICABLE,
)


@dataclass(frozen=True, slots=True)
class Check:
    """One verdict.  ``evidence`` is what doctor saw (server text included,
    escaped by the report), ``why`` why it matters, ``fix`` the header or setting
    to change, ``source`` the spec section or document it rests on, and
    ``unjudged`` what the watch was too short to tell."""

    id: str
    title: str
    status: Status
    evidence: str
    why: str = ""
    fix: str = ""
    source: str = ""
    unjudged: str = ""

    def to_json(self) -> dict[str, str]:
        out = {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "evidence": self.evidence,
            "why": self.why,
            "fix": self.fix,
            "source": self.source,
        }
        if self.unjudged:
            out["unjudged"] = self.unjudged
        return out


# id -> title, in the card's order.
CATALOG: dict[str, str] = {
    "response.status": "HTTP status",
    "response.content-type": "Content-Type: text/event-stream",
    "response.cache-control": "Cache-Control",
    "response.x-accel-buffering": "X-Accel-Buffering",
    "response.content-encoding": "No compression",
    "response.content-length": "No Content-Length",
    "timing.first-event": "Time to headers, first byte, first event",
    "delivery.bursts": "Events arrive as sent, not in bursts",
    "delivery.keepalive": "Keep-alive against proxy idle time-outs",
    "reconnect.retry": "retry: announced",
    "reconnect.ids": "Event ids present, unique, increasing",
    "reconnect.resume": "Resumes right after Last-Event-ID",
    "reconnect.bad-id": "Survives a malformed Last-Event-ID",
    "reconnect.end": "A finite stream ends cleanly (end event, then 204)",
    "spec.id-reset": "No empty id: resets",
    "spec.retry-ignored": "retry: is whole milliseconds",
    "spec.id-nul": "No NUL in ids",
    "spec.no-data": "Every event has data",
    "spec.discarded": "No unfinished event at close",
    "spec.named-events": "Named events and onmessage",
    "browser.cors": "CORS for an EventSource on another origin",
    "browser.cors-credentials": "CORS with credentials (withCredentials)",
    "browser.http-version": "HTTP version and the per-host connection limit",
}


def selected(check_id: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``--check`` asks for ``check_id`` (no prefixes: every check)."""
    return not prefixes or any(check_id.startswith(p) for p in prefixes)


def unknown_prefixes(prefixes: tuple[str, ...]) -> list[str]:
    """The ``--check`` values that match no check (a usage error)."""
    return [p for p in prefixes if not any(selected(c, (p,)) for c in CATALOG)]


def worst(checks: list[Check]) -> Status | None:
    """The worst status among ``checks`` (None for none)."""
    statuses = {c.status for c in checks}
    return next((s for s in SEVERITY if s in statuses), None)
