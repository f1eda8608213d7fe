"""desktop.core.lab.client against the real server: every call, and readable errors."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.lab.client import (
    EVENTS_TOPIC,
    LAB_TAG_HEADER,
    LabClient,
    LabError,
    new_tag,
    tagged_url,
)

from liveserver import fast

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from server.settings import Settings

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio


async def test_every_switch_reaches_the_server(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    lab = LabClient(live.url + "/", client)
    await lab.refuse(2, 503, retry_after_s=1)
    await lab.retry(250)
    await lab.omit_end(3)
    await lab.encoding("buffer", 100)
    await lab.pulse(50)
    state = await lab.state()
    assert state["refuse_left"] == 2 and state["retry_ms"] == 250
    assert state["omit_end_next"] == 3 and state["encoding"] == "buffer"
    assert state["buffer_bytes"] == 100 and state["pulse_ms"] == 50
    await lab.stall(0.01)
    await lab.forget()
    await lab.drop()
    await lab.cut()
    await lab.reset_id()
    await lab.reset()
    state = await lab.state()
    assert state["refuse_left"] == 0 and state["encoding"] == "identity"
    assert state["pulse_ms"] == 0
    logged, complete = await lab.published(EVENTS_TOPIC, 0, time.time())
    # forget emptied the log: from its own report on, all is there; before, not
    assert [e.type for e in logged if e.type != "pulse"] == ["lab"] * 5
    assert complete is False
    (forget, *_) = [e for e in logged if e.type == "lab"]
    after, complete = await lab.published(EVENTS_TOPIC, forget.published, time.time())
    assert len([e for e in after if e.type == "lab"]) == 5 and complete is True


async def test_a_tagged_view_scopes_faults_reset_and_sent(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    lab = LabClient(live.url, client)
    tag = new_tag("lesson-drop")
    assert tag.startswith("lesson-drop-") and tag != new_tag("lesson-drop")
    view = lab.with_tag(tag)
    await view.refuse(2, 204)
    await view.retry(300)
    await view.omit_end(1)
    await view.encoding("gzip")
    await lab.refuse(1, 503, tag="other")  # an explicit tag on the plain client
    state = await lab.state()
    assert state["refuse_left"] == 0 and state["retry_ms"] == 20  # untagged: as is
    tags = state["tags"]
    assert isinstance(tags, dict)
    assert tags[tag] == {
        "refuse_left": 2,
        "refuse_with": 204,
        "retry_ms": 300,
        "encoding": "gzip",
        "buffer_bytes": 4096,
        "omit_end_next": 1,
    }
    assert tags["other"]["refuse_left"] == 1
    url = tagged_url(live.url + "/api/events?x=1", tag)
    assert url.endswith(f"?x=1&lab_tag={tag}")
    assert tagged_url(live.url + "/api/events", "") == live.url + "/api/events"
    async with client.stream("GET", "/api/events", headers={LAB_TAG_HEADER: "b"}):
        await view.reset()  # the view's tag only (its refusals would hit `url`)
        async with client.stream("GET", url) as tagged:
            assert tagged.status_code == 200
            await view.drop()
            await view.cut()
            await view.stall(0.01)
            await view.reset_id()
            await tagged.aread()  # returns once the drop has ended the stream
        mine = await view.sent(EVENTS_TOPIC)
        everyone = await lab.sent(EVENTS_TOPIC)
    assert [(log.tag, log.ending) for log in mine] == [(tag, "dropped")]
    assert sorted(log.tag for log in everyone) == ["b", tag]
    state = await lab.state()
    assert set(state["tags"]) == {"other"}  # type: ignore[arg-type]


async def test_published_sent_and_browser_come_back_typed(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    lab = LabClient(live.url, client)
    since = time.time()
    await lab.pulse(10)
    async with client.stream("GET", "/api/events") as r:
        async for chunk in r.aiter_raw():
            if b"event: pulse" in chunk:
                break
    await asyncio.sleep(0.05)
    await lab.pulse(0)
    published, complete = await lab.published(EVENTS_TOPIC, since, time.time())
    assert complete and {p.type for p in published} == {"lab", "pulse"}
    assert all(since <= p.published <= time.time() for p in published)
    (log,) = await lab.sent(EVENTS_TOPIC)
    assert log.topic == EVENTS_TOPIC and log.ending == "gone"
    assert log.closed is not None and log.last_event_id == "" and log.path
    assert log.sent and log.sent_total == len(log.sent)
    assert {s.id for s in log.sent} <= {p.id for p in published}
    assert await lab.sent("ticker") == []
    await client.post(
        "/api/lab/browser",
        json={"kind": "open", "ready_state": 1, "at": 5.0, "stream": "/x"},
    )
    (obs,) = await lab.browser()
    assert (obs.kind, obs.ready_state, obs.id, obs.at, obs.stream) == (
        "open",
        1,
        "",
        5.0,
        "/x",
    )
    await lab.clear_browser()
    assert await lab.browser() == []


async def test_lab_off_says_so(make_server: Callable[[Settings], LiveServer]) -> None:
    live = make_server(fast(lab=False))
    async with httpx.AsyncClient() as client:
        lab = LabClient(live.url, client)
        for call in (lab.drop(), lab.state(), lab.sent(), lab.browser()):
            with pytest.raises(LabError) as caught:
                await call
            assert caught.value.message == (
                "the lab is off on this server (start it with --lab)"
            )
            assert caught.value.status == 404


async def test_an_unreachable_server_says_where() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient() as client:
        lab = LabClient(f"http://127.0.0.1:{port}", client)
        with pytest.raises(LabError) as caught:
            await lab.drop()
    message = caught.value.message
    assert message.startswith(f"cannot reach the server at http://127.0.0.1:{port}")
    assert "lab drop" in message and caught.value.status is None


async def test_a_refusal_names_the_reason(client: httpx.AsyncClient) -> None:
    lab = LabClient(str(client.base_url), client)
    with pytest.raises(LabError) as caught:
        await lab.pulse(3)
    assert caught.value.message == (
        "lab pulse refused (HTTP 422): every_ms: Value error, must be 0 (stop) "
        "or at least 10 ms"
    )
    with pytest.raises(LabError, match="no topic 'nope'"):
        await lab.published("nope", 0, 1)


async def _answer_with(body: bytes) -> AsyncIterator[str]:
    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>a proxy page</html>", "unexpected answer to lab sent: not JSON"),
        (
            b'{"subscriptions": [{"number": "x"}]}',
            "field 'subscriptions': field 'number': expected a whole number, got 'x'",
        ),
        (b"[1, 2]", "not a JSON object"),
    ],
)
async def test_a_bad_answer_is_named_not_a_traceback(body: bytes, says: str) -> None:
    async for url in _answer_with(body):
        async with httpx.AsyncClient() as client:
            with pytest.raises(LabError) as caught:
                await LabClient(url, client).sent()
        assert says in caught.value.message
