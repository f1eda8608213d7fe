"""Doctor's rules for deliberate reconnects: resume, a malformed id, the end.

Pure functions of ``Observations``: what the probe's extra connections got,
compared with what the watch received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.doctor.checks import Status
from desktop.core.doctor.probe import BAD_ID
from desktop.core.doctor.rules import AUTHORING, PROCESSING, check
from desktop.core.doctor.stream_rules import (
    CLOSING_TYPES,
    LAST_EVENT_ID,
    id_runs,
    numbered,
)
from desktop.core.engine.records import Outcome

if TYPE_CHECKING:
    from desktop.core.doctor.checks import Check
    from desktop.core.doctor.probe import Attempt, Observations
    from desktop.core.engine.records import Event


def skipped_reconnect(obs: Observations, check_id: str) -> Check:
    return check(
        check_id,
        Status.SKIPPED,
        f"a {obs.method} is not sent again on purpose: it may cost or change "
        "something (run with --reconnect-tests to allow it)",
    )


def _refused(attempt: Attempt) -> str:
    closed = attempt.closed
    return closed.reason if closed is not None else "no answer in time"


def resume(obs: Observations) -> Check:
    if not obs.reconnects:
        return skipped_reconnect(obs, "reconnect.resume")
    drop = obs.resume_drop
    if drop is None:
        return check("reconnect.resume", Status.SKIPPED, "not run")
    sent_ids = [e.id for e in drop.events if e.id]
    if not sent_ids:
        return check(
            "reconnect.resume",
            Status.NOT_APPLICABLE,
            f"no event with an id in {obs.plan.duration_s * 2 / 3:.1f} s: "
            "nothing to resume from",
        )
    sent = sent_ids[-1]
    why = (
        "After a drop a client reconnects with Last-Event-ID; a server that "
        "ignores it sends everything again (duplicates) or only what is new "
        "(events lost in between)."
    )
    fix = (
        "Read Last-Event-ID on connect and send exactly the events after it "
        "(keep a log of recent events; say so when it no longer has them)."
    )
    head = f"dropped after {len(drop.events)} events, reconnected with {sent!r}"
    attempt = obs.resume
    watched = id_runs([e for a in obs.watch for e in a.events])
    later = watched[watched.index(sent) + 1 :] if sent in watched else []
    if attempt is None or attempt.open is None:
        closed = attempt.closed if attempt is not None else None
        if closed is not None and closed.outcome is Outcome.NO_CONTENT and not later:
            return check(
                "reconnect.resume",
                Status.PASS,
                f"{head}: 204, and nothing followed {sent!r} in the watch",
            )
        return check(
            "reconnect.resume",
            Status.FAIL,
            f"{head}: {_refused(attempt) if attempt else 'not reconnected'}",
            why,
            fix,
            LAST_EVENT_ID,
        )
    new = next((e.id for e in attempt.events if e.id and e.id != sent), None)
    if new is None:
        return check(
            "reconnect.resume",
            Status.NOT_APPLICABLE,
            f"{head}: no new id in {attempt.ended_at - attempt.connecting_at:.1f} s",
            unjudged="whether the server resumes: nothing followed in time",
        )
    if sent in watched and new in watched:
        at, got = watched.index(sent), watched.index(new)
        if got == at + 1:
            # The rest of what came after the reconnect, in the watch's order.
            resumed = [i for i in id_runs(attempt.events) if i != sent]
            expected = watched[got : got + len(resumed)]
            if resumed[: len(expected)] != expected:
                odd = next(
                    (r, e) for r, e in zip(resumed, expected, strict=False) if r != e
                )
                return check(
                    "reconnect.resume",
                    Status.FAIL,
                    f"{head}: continued with {new!r}, then {odd[0]!r} where the "
                    f"watch had {odd[1]!r}",
                    why,
                    fix,
                    LAST_EVENT_ID,
                )
            return check(
                "reconnect.resume",
                Status.PASS,
                f"{head}: continued with {new!r}"
                + (
                    f" and {len(resumed) - 1} more in order" if len(resumed) > 1 else ""
                ),
            )
        if got <= at:
            return check(
                "reconnect.resume",
                Status.FAIL,
                f"{head}: got {new!r} again ({at - got + 1} events repeated)",
                why,
                fix,
                LAST_EVENT_ID,
            )
        return check(
            "reconnect.resume",
            Status.FAIL,
            f"{head}: continued with {new!r}, {got - at - 1} events after the "
            f"one expected ({watched[at + 1]!r} lost)",
            why,
            fix,
            LAST_EVENT_ID,
        )
    numbers = numbered([sent, new])
    if numbers is not None:
        if numbers[1] == numbers[0] + 1:
            return check(
                "reconnect.resume", Status.PASS, f"{head}: continued with {new!r}"
            )
        if numbers[1] <= numbers[0]:
            return check(
                "reconnect.resume",
                Status.FAIL,
                f"{head}: went back to {new!r}",
                why,
                fix,
                LAST_EVENT_ID,
            )
    return check(
        "reconnect.resume",
        Status.WARN,
        f"{head}: continued with {new!r}, which the watch never saw",
        why,
        fix,
        LAST_EVENT_ID,
        unjudged="whether events were lost: the ids cannot be matched",
    )


def bad_id(obs: Observations) -> Check:
    if not obs.reconnects:
        return skipped_reconnect(obs, "reconnect.bad-id")
    attempt = obs.bad_id
    if attempt is None:
        return check("reconnect.bad-id", Status.SKIPPED, "not run")
    sent = f"Last-Event-ID: {BAD_ID}"
    why = (
        "Clients send back whatever id they last saw: after a server restart, a "
        "deploy or a change of id format it is unknown. A server that chokes on "
        "it (5xx, no answer) or refuses it (4xx, 204) stops those browsers for "
        "good: an EventSource does not reconnect after an HTTP error."
    )
    fix = (
        "Treat an unknown or malformed Last-Event-ID as a fresh start (or replay "
        "what is kept, saying events may be missing), with 200."
    )
    if attempt.open is not None:
        return check(
            "reconnect.bad-id",
            Status.PASS,
            f"{sent}: HTTP {attempt.open.status}, a stream",
        )
    closed = attempt.closed
    if closed is not None and closed.status is not None and closed.status < 500:
        return check(
            "reconnect.bad-id",
            Status.WARN,
            f"{sent}: {closed.reason}",
            why,
            fix,
            LAST_EVENT_ID,
        )
    return check(
        "reconnect.bad-id",
        Status.FAIL,
        f"{sent}: {_refused(attempt)}",
        why,
        fix,
        LAST_EVENT_ID,
    )


def closing_event(events: list[Event]) -> Event | None:
    """The event a client can close on, when the stream's last one is such."""
    if not events:
        return None
    last = events[-1]
    if last.type.lower() in CLOSING_TYPES or last.data.strip() == "[DONE]":
        return last
    if last.type != "message" and sum(e.type == last.type for e in events) == 1:
        return last
    return None


def end(obs: Observations) -> Check:
    first = obs.watch[0]
    if not first.server_ended:
        return check(
            "reconnect.end",
            Status.NOT_APPLICABLE,
            f"still open after {obs.watched_s:.1f} s: a live stream",
            unjudged="how the stream ends: it did not end while watched",
        )
    closed = first.closed
    assert closed is not None
    ended = f"the server ended it after {closed.at - first.connecting_at:.1f} s"
    events = first.events
    closer = closing_event(events)
    last = f"{events[-1].type!r}" if events else "none"
    why_event = (
        "Without a last event that says it is over, a client cannot tell the end "
        "from a drop: a browser reconnects, and the page cannot tell the user."
    )
    fix_event = "Send a last event the client closes on (event: end), then close."
    why_204 = (
        "After the end, a browser reconnects after retry with the last id; only "
        "HTTP 204 makes it stop. Anything else and it reconnects for ever, and a "
        "server that starts over replays everything each time."
    )
    fix_204 = "Answer a Last-Event-ID of an ended stream with 204 No Content."
    source = f"{PROCESSING}; {AUTHORING}"
    if not obs.reconnects:
        status = Status.PASS if closer else Status.WARN
        return check(
            "reconnect.end",
            status,
            f"{ended}; last event {last}; the reconnect was not tried (a "
            f"{obs.method}, see --reconnect-tests)",
            "" if closer else why_event,
            "" if closer else fix_event,
            source,
        )
    after = obs.watch[1:]
    if not after:
        return check("reconnect.end", Status.SKIPPED, f"{ended}; no time to reconnect")
    seen = set(id_runs(events))
    replayed = [e for a in after for e in a.events if e.id and e.id in seen]
    if replayed:
        return check(
            "reconnect.end",
            Status.FAIL,
            f"{ended}; the reconnect with {first.last_id!r} got {len(replayed)} "
            "events it had already",
            why_204,
            fix_204,
            source,
        )
    answer = after[0]
    if answer.open is None and answer.closed is not None:
        if answer.closed.outcome is Outcome.NO_CONTENT:
            if closer is not None:
                return check(
                    "reconnect.end",
                    Status.PASS,
                    f"{ended}; last event {last}; the reconnect got 204",
                )
            return check(
                "reconnect.end",
                Status.WARN,
                f"{ended}; the reconnect got 204, but the last event ({last}) "
                "says nothing about an end",
                why_event,
                fix_event,
                source,
            )
        return check(
            "reconnect.end",
            Status.WARN,
            f"{ended}; the reconnect got {answer.closed.reason}",
            why_204,
            fix_204,
            source,
        )
    if any(a.events for a in after):
        return check(
            "reconnect.end",
            Status.NOT_APPLICABLE,
            f"{ended}, and the reconnect went on with new events: a drop, not an end",
        )
    return check(
        "reconnect.end",
        Status.WARN,
        f"{ended}; {len(after)} reconnects got a stream again and no 204",
        why_204,
        fix_204,
        source,
    )
