"""Doctor's rules for the stream over time: timing, delivery, reconnects, spec traps.

Pure functions of ``Observations``; texts the app already has for its
warnings come from desktop/core/insight/advice.py.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

from desktop.core.doctor.checks import Status
from desktop.core.doctor.rules import AUTHORING, INTERPRETING, PROCESSING, check
from desktop.core.engine.records import NoticeKind
from desktop.core.insight.advice import BURSTS_TO_WARN, buffering_hints, texts

if TYPE_CHECKING:
    from desktop.core.doctor.checks import Check
    from desktop.core.doctor.probe import Attempt, Observations
    from desktop.core.engine.records import Event

HEADERS_SLOW_S = 2.0  # headers later than this: the server or a proxy holds them
FIRST_BYTE_SLOW_S = 1.0  # a first byte this long after the headers: held back
IDLE_TIMEOUTS_S = (30, 60, 100)  # common proxy idle time-outs (nginx, ALB, Cloudflare)
KEEPALIVE_SILENCE_S = 15.0  # a ping every 15 s or so (WHATWG HTML 9.2.7)
CLOSING_TYPES = frozenset(
    {
        "end",
        "done",
        "complete",
        "completed",
        "close",
        "finish",
        "finished",
        "eof",
        "stop",
        "error",
    }
)
LAST_EVENT_ID = "WHATWG HTML 9.2.4 The Last-Event-ID header"
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _events(obs: Observations) -> list[Event]:
    return [e for a in obs.watch for e in a.events]


# -- timing and delivery -------------------------------------------------------------


def timing(obs: Observations) -> Check:
    head = obs.head
    assert head is not None and head.open is not None
    headers_s = head.open.at - head.connecting_at
    parts = [f"headers {_s(headers_s)}"]
    problems = []
    if head.first_byte_at is None:
        parts.append(f"no byte in {_s(obs.watched_s)}")
        problems.append("no byte after the headers")
    else:
        byte_s = head.first_byte_at - head.open.at
        parts.append(f"first byte {_s(byte_s)} after them")
        if byte_s > FIRST_BYTE_SLOW_S:
            problems.append("the first byte came late")
    if head.events:
        parts.append(f"first event at {_s(head.events[0].at - head.connecting_at)}")
    else:
        parts.append(f"no event in {_s(obs.watched_s)}")
    if headers_s > HEADERS_SLOW_S:
        problems.insert(0, "the headers came late")
    evidence = ", ".join(parts)
    if not problems:
        return check("timing.first-event", Status.PASS, evidence)
    return check(
        "timing.first-event",
        Status.WARN,
        f"{evidence} ({'; '.join(problems)})",
        "Until its first bytes arrive, a client (and every proxy on the way) "
        "cannot tell a slow stream from a dead one, and a buffering proxy or "
        "compressor is the usual reason bytes wait.",
        "Write the retry: line or a comment (: ok) as soon as the stream opens, "
        "and turn off buffering on the way (X-Accel-Buffering: no).",
        AUTHORING,
    )


def bursts(obs: Observations) -> Check:
    head = obs.head
    assert head is not None and head.open is not None
    count, events, silence, ratio = obs.advisor.bursts
    reads = sum(len(a.reads) for a in obs.watch)
    total = len(_events(obs))
    if count >= BURSTS_TO_WARN:
        hints = (
            "; ".join(buffering_hints(head.open.headers)) or "no header gives it away"
        )
        return check(
            "delivery.bursts",
            Status.WARN,
            f"{count} bursts in {_s(obs.watched_s)} (last: {events} events after "
            f"{_s(silence)} of silence, {ratio:.0f} times the usual gap); {hints}",
            "Many events in one read after a silence is what a buffering proxy or "
            "a compressor looks like: clients see events late and all at once.",
            "Send X-Accel-Buffering: no and Cache-Control: no-cache, no-transform, "
            "turn off compression and proxy buffering for the route, and flush "
            "after every event.",
            AUTHORING,
        )
    unjudged = ""
    if total < 10:
        unjudged = f"only {total} events in {_s(obs.watched_s)}: too few to see bursts"
    return check(
        "delivery.bursts",
        Status.PASS,
        f"{total} events in {reads} reads; {count} bursts",
        unjudged=unjudged,
    )


def _pings(attempt: Attempt) -> int:
    named = sum(
        1 for e in attempt.events if e.type in ("ping", "heartbeat", "keepalive")
    )
    return len(attempt.comments) + named


def keepalive(obs: Observations) -> Check:
    longest = 0.0
    pings = 0
    for attempt in obs.watch:
        if attempt.open is None:
            continue
        pings += _pings(attempt)
        times = [attempt.open.at, *(at for at, _ in attempt.reads), attempt.ended_at]
        longest = max(longest, *(b - a for a, b in itertools.pairwise(times)))
    watched = obs.watched_s
    against = ", ".join(
        f"{'over' if longest >= t else 'under'} {t} s" for t in IDLE_TIMEOUTS_S
    )
    evidence = f"longest silence {_s(longest)} ({against}); {pings} keep-alives"
    why = (
        "Proxies and load balancers cut connections that carry nothing for a "
        "while (30 s to 100 s is common: nginx proxy_read_timeout 60 s, AWS ALB "
        "60 s, Cloudflare 100 s), and nobody notices until the next read fails."
    )
    fix = "Send a comment line (: ping) every 15 s or so while there is no news."
    unjudged = ""
    if watched < IDLE_TIMEOUTS_S[0]:
        unjudged = (
            f"a {_s(watched)} watch cannot show a silence of "
            f"{IDLE_TIMEOUTS_S[0]} s or more"
        )
    if longest >= IDLE_TIMEOUTS_S[1]:
        return check("delivery.keepalive", Status.FAIL, evidence, why, fix, AUTHORING)
    if longest >= IDLE_TIMEOUTS_S[0]:
        return check("delivery.keepalive", Status.WARN, evidence, why, fix, AUTHORING)
    quiet = min(KEEPALIVE_SILENCE_S, max(1.0, obs.plan.duration_s / 2))
    if not pings and longest >= quiet:
        return check(
            "delivery.keepalive",
            Status.WARN,
            f"{evidence}: silent for {_s(longest)} without a keep-alive",
            why,
            fix,
            AUTHORING,
            unjudged,
        )
    if not pings:
        unjudged = (
            f"no keep-alive seen, and never silent for {_s(quiet)}: a quieter "
            "period was not observed"
        )
    return check("delivery.keepalive", Status.PASS, evidence, unjudged=unjudged)


# -- reconnects --------------------------------------------------------------------


def retry(obs: Observations) -> Check:
    retries = [r for a in obs.watch for r in a.retries]
    ignored = [
        n for a in obs.watch for n in a.notices if n.kind is NoticeKind.RETRY_IGNORED
    ]
    source = f"{INTERPRETING} (retry); {PROCESSING}"
    if retries:
        status = Status.WARN if ignored else Status.PASS
        evidence = f"retry: {retries[-1].ms} ms"
        if ignored:
            evidence += f"; also ignored: {ignored[0].detail}"
        return check("reconnect.retry", status, evidence, source=source)
    why = (
        "Without a valid retry: every client waits its own default before a "
        "reconnect (3 s in Chrome, 5 s in Firefox), and the server cannot slow "
        "clients down when it is busy."
    )
    fix = "Send retry: <milliseconds> (digits only) when the stream opens."
    if ignored:
        return check(
            "reconnect.retry",
            Status.WARN,
            f"ignored: {ignored[0].detail}",
            why,
            fix,
            source,
        )
    return check("reconnect.retry", Status.WARN, "no retry: field", why, fix, source)


def id_runs(events: list[Event]) -> list[str]:
    """The ids in force, with repeats of the one before left out (events without
    an id: of their own keep the id before), empty ones too."""
    out: list[str] = []
    for event in events:
        if event.id and (not out or out[-1] != event.id):
            out.append(event.id)
    return out


def numbered(ids: list[str]) -> list[int] | None:
    """The numbers of ids like ``7`` or ``run-events-7`` sharing one prefix."""
    matches = [_NUMBERED.match(i) for i in ids]
    if not ids or any(m is None for m in matches):
        return None
    prefixes = {m.group(1) for m in matches if m is not None}
    if len(prefixes) != 1:
        return None
    return [int(m.group(2)) for m in matches if m is not None]


def ids(obs: Observations) -> Check:
    events = _events(obs)
    if not events:
        return check("reconnect.ids", Status.NOT_APPLICABLE, "no events")
    why = (
        "A reconnect sends the last id as Last-Event-ID; without ids, or with "
        "ids that repeat, a server cannot resume where the client left off."
    )
    fix = "Give every event a unique id that grows (a sequence number)."
    if not any(e.id for e in events):
        return check(
            "reconnect.ids",
            Status.WARN,
            f"none of {len(events)} events has an id",
            why,
            fix,
            LAST_EVENT_ID,
        )
    resets = [n for a in obs.watch for n in a.notices if n.kind is NoticeKind.ID_RESET]
    problems = []
    if resets:
        problems.append(f"{len(resets)} empty id: reset it")
    for attempt in obs.watch:
        runs = id_runs(attempt.events)
        if len(set(runs)) != len(runs):
            again = next(i for n, i in enumerate(runs) if i in runs[:n])
            problems.append(f"{again!r} came twice")
            break
        numbers = numbered(runs)
        if numbers is not None and numbers != sorted(numbers):
            problems.append("numbered ids do not increase")
            break
    runs = id_runs(events)
    span = f"{runs[0]!r} … {runs[-1]!r}" if runs else "none"
    evidence = f"{len(events)} events, {len(set(runs))} ids ({span})"
    if problems:
        return check(
            "reconnect.ids",
            Status.WARN,
            f"{evidence}: {'; '.join(problems)}",
            why,
            fix,
            LAST_EVENT_ID,
        )
    return check("reconnect.ids", Status.PASS, evidence)


# -- spec traps --------------------------------------------------------------------

SPEC_KINDS = {
    "spec.id-reset": NoticeKind.ID_RESET,
    "spec.retry-ignored": NoticeKind.RETRY_IGNORED,
    "spec.id-nul": NoticeKind.ID_NUL,
    "spec.no-data": NoticeKind.NO_DATA,
    "spec.discarded": NoticeKind.DISCARDED,
}


def spec(obs: Observations) -> list[Check]:
    """One check per trap the decoder reports, and the named-events one."""
    attempts = [a for a in (*obs.watch, obs.resume_drop, obs.resume) if a is not None]
    notices = [n for a in attempts for n in a.notices]
    out = []
    for check_id, kind in SPEC_KINDS.items():
        seen = [n for n in notices if n.kind is kind]
        if not seen:
            out.append(check(check_id, Status.PASS, "not seen"))
            continue
        title, why, action = texts(kind) or ("", "", "")
        times = "once" if len(seen) == 1 else f"{len(seen)} times"
        out.append(
            check(
                check_id,
                Status.WARN,
                f"{title}, {times}: {seen[0].detail}",
                why,
                action,
                INTERPRETING,
            )
        )
    out.append(_named(obs))
    return out


def _named(obs: Observations) -> Check:
    types = sorted({e.type for e in _events(obs)})
    named = [t for t in types if t != "message"]
    if not types:
        return check("spec.named-events", Status.NOT_APPLICABLE, "no events")
    mixed = next((w for w in obs.advisor.warnings() if w.key == "unnamed-mixed"), None)
    if mixed is not None:
        return check(
            "spec.named-events",
            Status.WARN,
            f"unnamed message events beside {', '.join(named)}",
            mixed.why,
            mixed.action,
            INTERPRETING,
        )
    if named:
        return check(
            "spec.named-events",
            Status.PASS,
            f"every event is named ({', '.join(named[:8])}): a browser's onmessage "
            "sees none of them; a page needs addEventListener for each type",
        )
    return check("spec.named-events", Status.PASS, "every event is unnamed (message)")
