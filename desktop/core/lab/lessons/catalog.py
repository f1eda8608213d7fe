"""The guided lessons of the reconnect lab: one-click experiments, in one list.

Each lesson sets the bundled server up through `/api/lab`, runs our engine, and
returns an expected-versus-observed checklist computed from what the client and
the server recorded (see run.py for the run and its cleanup, connection.py,
status.py, stream.py and pool.py for the lessons).  The explanations cite the
WHATWG HTML standard, section 9.2 "Server-sent events".

A lesson is known by its key; its number is its place in `LESSONS`, so adding
one is one entry in the list, where it should be shown.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from desktop.core.lab.lessons import connection, pool, status, stream, workers
from desktop.core.lab.lessons.base import (
    Check,
    LabContext,
    Lesson,
    LessonResult,
    Timing,
)
from desktop.core.lab.lessons.run import lesson_runner

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from desktop.core.lab.lessons.run import LessonRun


def _lesson(
    key: str,
    title: str,
    summary: str,
    explanation: str,
    body: Callable[[LessonRun], Awaitable[None]],
) -> Lesson:
    return Lesson(key, title, summary, explanation, lesson_runner(key, body))


def numbered(*lessons: Lesson) -> tuple[Lesson, ...]:
    """The lessons in the order given, numbered 1, 2, … by that order."""
    return tuple(replace(item, number=n) for n, item in enumerate(lessons, 1))


LESSONS: tuple[Lesson, ...] = numbered(
    _lesson(
        "drop",
        "The server drops you",
        "Reconnect after retry:, resume with Last-Event-ID, nothing lost.",
        "WHATWG HTML 9.2.3 Processing model: when the connection closes, the user "
        "agent must reestablish the connection after the reconnection time.\n"
        "9.2.4 The Last-Event-ID header: the request carries the last event ID, so "
        "the server resumes right after it and nothing published meanwhile is lost.",
        connection.drop,
    ),
    _lesson(
        "restart",
        "The server restarts",
        "Reconnect to the new process; its empty log answers replay-gap.",
        "WHATWG HTML 9.2.3 Processing model: a closed connection is reestablished; "
        "the spec says nothing of what the server remembers.\n"
        "An in-memory log dies with the process, so the id is unknown (replay-gap); "
        "a persistent log (e.g. Redis Streams) would resume with nothing lost.",
        connection.restart,
    ),
    _lesson(
        "stall",
        "The server stalls, no keep-alive",
        "Silence until the client's read timeout fires, then a reconnect.",
        "WHATWG HTML 9.2.7 Authoring notes: proxies drop idle connections, so send a "
        "comment line every 15 s or so; a silent stream looks alive to TCP.\n"
        "Only a client read timeout notices; then 9.2.3 reestablish the connection "
        "resumes with Last-Event-ID.",
        connection.stall,
    ),
    _lesson(
        "retry",
        "retry: sets the reconnection time",
        "Announce a short then a long retry:, drop twice: the gaps follow.",
        "WHATWG HTML 9.2.6 Interpreting an event stream: a retry field of ASCII "
        "digits sets the event stream's reconnection time.\n"
        "9.2.3 Processing model: reestablish the connection waits that reconnection "
        "time before the next request.",
        status.retry,
    ),
    _lesson(
        "503",
        "503 stops a browser for good",
        "A conforming client gives up on 503; an opt-in policy retries later.",
        "WHATWG HTML 9.2.3 Processing model: any status other than 200 (and 204) "
        "must fail the connection: readyState CLOSED, no reconnect.\n"
        "Reconnecting on 502/503/504 is a policy beyond the spec (here opt-in), "
        "waiting at least the Retry-After the server asked.",
        status.status_503,
    ),
    _lesson(
        "204",
        "204 No Content: stop reconnecting",
        "The server answers 204 to a reconnect; the client stops for good.",
        "WHATWG HTML 9.2.3 Processing model: clients reconnect when the connection "
        "closes; a server tells one to stop with 204 No Content.\n"
        "It is the only clean way to end an EventSource from the server side.",
        status.status_204,
    ),
    _lesson(
        "end",
        "A job stream needs its end event",
        "Without `end` a finished job's stream looks like a drop: reconnects.",
        "WHATWG HTML 9.2.3 Processing model: a closed connection is reestablished; "
        "SSE has no 'finished' signal of its own.\n"
        "So the application sends one (`end`) and the client closes on it; without "
        "it the client reconnects, replaying the job unless the server answers 204.",
        stream.end_event,
    ),
    _lesson(
        "id-reset",
        "An empty id: resets the last event ID",
        "After `id:` with no value the reconnect carries no Last-Event-ID.",
        "WHATWG HTML 9.2.6 Interpreting an event stream: an id field sets the last "
        "event ID buffer, an empty value too (it resets it).\n"
        "9.2.4 The Last-Event-ID header is only sent when the last event ID string "
        "is not empty: the server cannot resume, history is skipped.",
        stream.id_reset,
    ),
    _lesson(
        "cut",
        "Half an event, then FIN",
        "The unfinished event is discarded; reconnect, nothing lost.",
        "WHATWG HTML 9.2.6 Interpreting an event stream: once the end of the file is "
        "reached, any pending data must be discarded (an unfinished event).\n"
        "9.2.3 reestablish the connection with Last-Event-ID: the server re-sends "
        "that event whole.",
        connection.cut,
    ),
    _lesson(
        "bursts",
        "Compression or a buffering proxy",
        "Events arrive in bursts; the app's warning names the cause.",
        "WHATWG HTML 9.2.7 Authoring notes: HTTP chunking or buffering by a layer "
        "unaware of the timing requirements hurts the protocol's reliability.\n"
        "Compression and proxies that buffer hold events back and release them in "
        "bursts; X-Accel-Buffering: no and Cache-Control: no-cache, no-transform ask "
        "them not to.",
        stream.bursts,
    ),
    _lesson(
        "six",
        "Six connections per host",
        "7 EventSources in a browser over HTTP/1.1: the 7th waits; HTTP/2: all open.",
        "WHATWG HTML 9.2.7 Authoring notes: clients that support HTTP's "
        "per-server connection limitation might run into trouble when opening "
        "multiple pages from a site if each page has an EventSource to the same "
        "domain. Browsers keep 6 HTTP/1.1 connections per host, across tabs; WHATWG "
        "Fetch queues every request to that host behind them, a fetch too.\n"
        "RFC 9113 §5.1.2: over HTTP/2 the streams share one connection, up to the "
        "peer's SETTINGS_MAX_CONCURRENT_STREAMS (100 here); browsers speak HTTP/2 "
        "only over TLS. Remedies: serve HTTP/2; carry several topics on one stream; "
        "share one EventSource between tabs (9.2.7: a shared worker; or a "
        "BroadcastChannel fed by one leader tab). "
        "Your browser opens the lesson's page, over https too: trust the local CA "
        '(README, "Trusting the local CA"), or its certificate warning stops the '
        "page, and accepting it for localhost does not cover 127.0.0.1, where the "
        "page's streams go.",
        pool.six_connections,
    ),
    _lesson(
        "worker-dies",
        "A worker dies",
        "Two workers on one port: the client resumes on the survivor, or not.",
        "WHATWG HTML 9.2.4 The Last-Event-ID header: the reconnection carries the "
        "last event ID, whichever server process receives it.\n"
        "Only a log every worker shares (Redis Streams) knows that id; with a log "
        "per worker the survivor answers replay-gap and what followed is lost.",
        workers.worker_dies,
    ),
)

_BY_KEY = {item.key: item for item in LESSONS}  # keys are unique (test_lessons)


def lesson(key: str) -> Lesson | None:
    """The lesson known by ``key``, if there is one."""
    return _BY_KEY.get(key)


__all__ = [
    "LESSONS",
    "Check",
    "LabContext",
    "Lesson",
    "LessonResult",
    "Timing",
    "lesson",
    "numbered",
]
