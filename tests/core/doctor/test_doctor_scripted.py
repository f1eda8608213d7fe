"""doctor against scripted servers: each misbehaviour shows in its check, and its
well-behaved twin passes (so every check here can fail both ways)."""

from __future__ import annotations

import asyncio

from desktop.core.doctor.checks import CATALOG, Status
from desktop.core.doctor.examine import examine
from desktop.core.doctor.probe import Plan
from desktop.core.engine.options import StreamOptions

from rawserver import Hang, Pause, RawServer, Send, head, respond, sse

PASS, WARN, FAIL = Status.PASS, Status.WARN, Status.FAIL


def card(
    url: str, *checks: str, duration: float = 2.0
) -> dict[str, tuple[Status, str]]:
    plan = Plan(duration_s=duration, checks=checks)
    found = asyncio.run(examine(StreamOptions(url), plan))
    return {c.id: (c.status, c.evidence) for c in found}


NUMBERED = sse(
    b"retry: 500\n\n",
    b"id: 1\ndata: a\n\n",
    b"id: 2\ndata: b\n\n",
    b"id: 3\ndata: c\n\n",
    b"id: 4\ndata: d\n\n",
    pause=0.05,
    end=Hang(5),
)


def test_a_server_that_ignores_last_event_id_fails_resume() -> None:
    with RawServer(default=NUMBERED) as server:
        found = card(server.url(), "reconnect.resume")
        sent = [r.header("last-event-id") for r in server.requests]
    status, evidence = found["reconnect.resume"]
    assert status is FAIL, evidence
    assert "got '1' again (2 events repeated)" in evidence
    assert "2" in sent  # the deliberate reconnect carried the last id


def _from(first: int, *, skip: int = 0) -> tuple[Send | Pause | Hang, ...]:
    numbers = [n for n in range(first, 9) if n != skip]
    frames = [f"id: {n}\ndata: {n}\n\n".encode() for n in numbers]
    return sse(b"retry: 500\n\n", *frames, pause=0.05, end=Hang(5))


def test_a_server_that_resumes_passes_and_one_that_skips_after_fails() -> None:
    with RawServer() as server:
        server.add(_from(1), _from(1), _from(3))  # watch, drop, resume
        status, resumed = card(server.url(), "reconnect.resume")["reconnect.resume"]
    with RawServer() as server:
        server.add(_from(1), _from(1), _from(3, skip=5))
        gap = card(server.url(), "reconnect.resume")["reconnect.resume"]
    assert status is PASS, resumed
    assert "continued with '3' and" in resumed and resumed.endswith("more in order")
    assert gap[0] is FAIL and "then '6' where the watch had '5'" in gap[1], gap


def test_no_keep_alive_in_a_silence_warns_and_pings_pass() -> None:
    silent = sse(b"retry: 1000\nid: 1\ndata: a\n\n", end=Hang(5))
    pings = sum(((Pause(0.2), Send(b": ping\n\n")) for _ in range(15)), ())
    pinging = (Send(head() + b"retry: 1000\nid: 1\ndata: a\n\n"), *pings, Hang(5))
    with RawServer(default=silent) as server:
        quiet = card(server.url(), "delivery.keepalive")["delivery.keepalive"]
    with RawServer(default=pinging) as server:
        kept = card(server.url(), "delivery.keepalive")["delivery.keepalive"]
    assert quiet[0] is WARN and "without a keep-alive" in quiet[1], quiet
    assert kept[0] is PASS and "keep-alives" in kept[1], kept


def test_text_plain_fails_content_type_and_skips_the_rest() -> None:
    with RawServer(default=sse(b"data: a\n\n", content_type="text/plain")) as server:
        found = card(server.url(), duration=1.0)
    assert list(found) == list(CATALOG)
    assert found["response.status"][0] is PASS
    assert found["response.content-type"] == (FAIL, "Content-Type: text/plain")
    rest = {k: v[0] for k, v in found.items() if not k.startswith("response.")}
    assert set(rest.values()) == {Status.SKIPPED}, rest


def _ending(last: bytes) -> tuple[Send | Pause | Hang, ...]:
    return sse(b"retry: 100\n\n", b"id: 1\nevent: progress\ndata: 1\n\n", last)


def test_an_end_without_an_end_event_warns_with_one_it_passes() -> None:
    plain = b"id: 2\nevent: progress\ndata: 2\n\n"
    with RawServer([_ending(plain), respond(204)]) as server:
        without = card(server.url(), "reconnect.end")["reconnect.end"]
    with RawServer([_ending(b"id: 2\nevent: end\ndata: {}\n\n"), respond(204)]) as s:
        with_end = card(s.url(), "reconnect.end")["reconnect.end"]
    assert without[0] is WARN and "says nothing about an end" in without[1], without
    assert with_end[0] is PASS and "got 204" in with_end[1], with_end


def test_a_server_that_replays_after_the_end_fails() -> None:
    replaying = _ending(b"id: 2\nevent: end\ndata: {}\n\n")
    with RawServer(default=replaying) as server:
        status, evidence = card(server.url(), "reconnect.end")["reconnect.end"]
    assert status is FAIL and "events it had already" in evidence, evidence


def _post(url: str, plan: Plan) -> dict[str, Status]:
    options = StreamOptions(url, method="POST", body=b'{"q": 1}')
    found = asyncio.run(examine(options, plan))
    return {c.id: c.status for c in found}


def test_a_post_is_sent_once_unless_reconnect_tests_are_asked_for() -> None:
    with RawServer(default=NUMBERED) as server:
        statuses = _post(server.url(), Plan(duration_s=1.0))
        once = [r.method for r in server.requests]
    with RawServer(default=NUMBERED) as server:
        asked = _post(server.url(), Plan(duration_s=1.0, reconnect_tests=True))
        again = [r.method for r in server.requests]
    assert once == ["POST"]  # the watch alone: nothing repeated the POST
    assert statuses["reconnect.resume"] is Status.SKIPPED
    assert statuses["reconnect.bad-id"] is Status.SKIPPED
    assert statuses["browser.cors"] is Status.NOT_APPLICABLE  # EventSource: GET only
    assert len(again) >= 3 and set(again) == {"POST"}
    assert asked["reconnect.resume"] is FAIL  # the script ignores Last-Event-ID
