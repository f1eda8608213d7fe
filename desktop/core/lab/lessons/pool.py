"""The lesson "Six connections per host": a browser's pool, not SSE, is the limit.

Three parts, each checked from what was observed:

1. A browser page (``/api/lab/pool``, served on ``localhost:PORT``) opens 7
   EventSources on ``127.0.0.1:PORT`` over HTTP/1.1 and fetches ``/api/info``
   there.  Browsers pool the two host names apart, so the page's reports to its
   own host still go out while it exhausts the other: six sources open, the 7th
   waits in CONNECTING, the fetch waits too; closing one source opens the 7th.
   The server's subscriptions show six connections (six client ports).
2. The same page over HTTPS + HTTP/2 with 20 sources: all open on one connection
   (one client port), and the fetch answers at once.
3. Our engine opens 7 streams on the HTTP/1.1 server, and all open: the limit is
   the browser's connection pool's.

The bundled server is restarted for each protocol (`LabContext.serve`) and put
back as it was after.  A browser's reports become records on lanes of their own
("browser 1" …), so the Lab draws each source as it draws our engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Closed, Connecting, Open, Outcome, Record
from desktop.core.engine.transport import Transport, make_client
from desktop.core.lab.client import EVENTS_TOPIC, LabClient, tagged_url
from desktop.core.lab.lessons.checks import CONNECT_S, EVENTS_PATH
from desktop.core.lab.lessons.run import LessonStepError, RecordedStream
from desktop.core.serving import ServerProtocol

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from desktop.core.lab.client import BrowserObservation, SentLog
    from desktop.core.lab.lessons.run import LessonRun
    from desktop.core.serving import Served

POOL_PATH = "/api/lab/pool"
BROWSER_LIMIT = 6  # Chromium's and Firefox's connections per host over HTTP/1.1
SOURCES = 7  # one more than the pool holds
MANY = 20  # over HTTP/2: well under SETTINGS_MAX_CONCURRENT_STREAMS (100)
AT_ONCE_MS = 1000.0  # "at once": a fetch answered within this of being sent


@dataclass(slots=True)
class PageRun:
    """What the page reported, by source number (0: the page's fetch)."""

    created: dict[int, float]
    opened: dict[int, float]
    closed: dict[int, float]
    fetch_sent: float | None
    fetch_answered: float | None
    fetch_protocol: str
    sent: list[SentLog]  # the server's subscriptions of this run

    def opened_before_first_close(self) -> list[int]:
        """The sources that opened before source 1 was closed (all, if never)."""
        first_close = self.closed.get(1)
        return [
            s
            for s, at in self.opened.items()
            if first_close is None or at < first_close
        ]

    def open_at(self, moment: float) -> list[SentLog]:
        """The server's subscriptions open at ``moment`` (wall seconds)."""
        return [
            s
            for s in self.sent
            if s.opened <= moment and (s.closed is None or s.closed > moment)
        ]


def page_url(served: Served, count: int, tag: str, run: LessonRun) -> str:
    """The pool page on ``localhost:PORT``, its sources on ``127.0.0.1:PORT``."""
    parts = urlsplit(served.base_url)
    port = parts.port
    t = run.timing
    query = urlencode(
        {
            "n": count,
            "on": f"{parts.scheme}://127.0.0.1:{port}",
            "tag": tag,
            "settle": int(t.settle_page_s * 1000),
            "hold": int(t.hold_s * 1000),
            "life": int(t.life_s * 1000),
        }
    )
    return f"{parts.scheme}://localhost:{port}{POOL_PATH}?{query}"


@contextlib.asynccontextmanager
async def _lab_on(run: LessonRun, served: Served) -> AsyncIterator[LabClient]:
    """A lab client on ``served``, trusting its local CA when it speaks https."""
    client: httpx.AsyncClient = make_client(Transport(ca_file=served.ca_file))
    async with client:
        yield LabClient(served.base_url, client).with_tag(run.tag)


def _records(
    obs: BrowserObservation, protocol: ServerProtocol
) -> tuple[str, Record] | None:
    """A page report as the record our engine would have made, on its lane."""
    if obs.source < 1:
        return None
    lane = f"browser {obs.source} · {protocol.label}"
    at = time.monotonic() - (time.time() - obs.at)  # the lanes draw ``wall``
    version = "HTTP/2" if protocol is ServerProtocol.H2 else "HTTP/1.1"
    if obs.kind == "connecting":
        return lane, Connecting(1, obs.stream, "", at, obs.at)
    if obs.kind == "open":
        return lane, Open(200, (), 1, obs.stream, at, obs.at, http_version=version)
    if obs.kind == "closed":
        reason = "the page closed it (EventSource.close())"
        return lane, Closed(reason, Outcome.STOPPED, False, None, at, obs.at)
    return None


async def _watch_page(
    run: LessonRun, served: Served, count: int, drawn: int
) -> PageRun:
    """Open the page and follow its reports until every source is closed."""
    t = run.timing
    url = page_url(served, count, run.tag, run)
    async with _lab_on(run, served) as lab:
        await lab.clear_browser()
        if not run.ctx.open_page(url):
            raise LessonStepError(
                "a browser opens the page", f"no browser could be started: open {url}"
            )
        page = PageRun({}, {}, {}, None, None, "", [])
        seen = 0
        first_by = time.monotonic() + t.page_wait_s
        done_by: float | None = None
        while len(page.closed) < count or page.fetch_answered is None:
            observations = await lab.browser()
            for obs in observations[seen:]:
                _take(page, obs)
                drawn_record = _records(obs, served.protocol)
                if drawn_record is not None and obs.source <= drawn:
                    run.draw(drawn_record[0], [drawn_record[1]])
            seen = len(observations)
            now = time.monotonic()
            if done_by is None and page.created:
                done_by = now + t.settle_page_s + 2 * t.hold_s + t.life_s + 10.0
            if done_by is None and now > first_by:
                hint = (
                    "; a certificate warning stops it until the browser trusts the "
                    'local CA (README, "Trusting the local CA")'
                    if served.protocol.tls
                    else ""
                )
                raise LessonStepError(
                    "the page reports",
                    f"nothing from the page within {t.page_wait_s:.0f} s ({url}){hint}",
                )
            if done_by is not None and now > done_by:
                raise LessonStepError(
                    "the page finishes",
                    f"{len(page.opened)} opened, {len(page.closed)} closed, fetch "
                    + ("answered" if page.fetch_answered else "unanswered"),
                )
            await asyncio.sleep(0.1)
        page.sent = await lab.sent(EVENTS_TOPIC)
    where = urlsplit(url)
    run.check(
        f"A browser runs the page ({served.protocol.label})",
        f"{count} EventSources made by {where.scheme}://{where.netloc}{POOL_PATH}",
        f"{len(page.created)} made",
        len(page.created) == count,
    )
    return page


def _take(page: PageRun, obs: BrowserObservation) -> None:
    kind, source = obs.kind, obs.source
    if kind == "connecting":
        page.created.setdefault(source, obs.at)
    elif kind == "open":
        page.opened.setdefault(source, obs.at)
    elif kind == "closed":
        page.closed.setdefault(source, obs.at)
    elif kind == "fetch-sent":
        page.fetch_sent = obs.at
    elif kind == "fetch":
        page.fetch_answered = obs.at
        page.fetch_protocol = obs.protocol


def _ms(later: float | None, earlier: float | None) -> str:
    if later is None or earlier is None:
        return "never"
    return f"{(later - earlier) * 1000:.0f} ms"


def _check_http1(run: LessonRun, page: PageRun) -> None:
    first_close = page.closed.get(1)
    before = page.opened_before_first_close()
    waiting = [s for s in range(1, SOURCES + 1) if s not in before]
    run.check(
        "Six sources open, the 7th waits in CONNECTING",
        f"{BROWSER_LIMIT} open; source {SOURCES} CONNECTING until one closes",
        f"{len(before)} open; waiting: {', '.join(map(str, waiting)) or 'none'}",
        len(before) == BROWSER_LIMIT and waiting == [SOURCES],
    )
    moment = page.fetch_sent or 0.0
    held = page.open_at(moment)
    clients = {s.client for s in held}
    run.check(
        "The server holds six connections",
        f"{BROWSER_LIMIT} subscriptions from {BROWSER_LIMIT} client ports",
        f"{len(held)} subscriptions from {len(clients)} client ports",
        len(held) == BROWSER_LIMIT and len(clients) == BROWSER_LIMIT,
    )
    answered, sent = page.fetch_answered, page.fetch_sent
    run.check(
        "A fetch to the same host waits too",
        "answered only after a source is closed (it waits in the same pool)",
        f"answered {_ms(answered, sent)} after it was sent, "
        f"{_ms(answered, first_close)} after source 1 closed",
        answered is not None and first_close is not None and answered >= first_close,
    )
    seventh = page.opened.get(SOURCES)
    late = run.timing.hold_s
    run.check(
        "Closing one source opens the 7th",
        f"opens within {late * 1000:.0f} ms of source 1 closing",
        f"opened {_ms(seventh, first_close)} after",
        seventh is not None
        and first_close is not None
        and 0 <= seventh - first_close <= late,
    )
    run.check(
        "The page's requests went over HTTP/1.1",
        "nextHopProtocol http/1.1",
        page.fetch_protocol or "(not reported)",
        page.fetch_protocol == "http/1.1",
    )


def _check_h2(run: LessonRun, page: PageRun) -> None:
    first_close = page.closed.get(1)
    before = page.opened_before_first_close()
    run.check(
        f"Over HTTP/2 all {MANY} sources open (the 7th too)",
        f"{MANY} open",
        f"{len(before)} open",
        len(before) == MANY,
    )
    moment = page.fetch_sent or 0.0
    held = page.open_at(moment)
    clients = {s.client for s in held}
    run.check(
        "…on one connection",
        f"{MANY} subscriptions from 1 client port",
        f"{len(held)} subscriptions from {len(clients)} client port(s)",
        len(held) == MANY and len(clients) == 1,
    )
    answered, sent = page.fetch_answered, page.fetch_sent
    run.check(
        "The fetch answers at once",
        f"within {AT_ONCE_MS:.0f} ms, no source closed",
        f"answered after {_ms(answered, sent)}",
        answered is not None
        and sent is not None
        and (answered - sent) * 1000 <= AT_ONCE_MS
        and (first_close is None or answered < first_close),
    )
    run.check(
        "The page's requests went over HTTP/2",
        "nextHopProtocol h2",
        page.fetch_protocol or "(not reported)",
        page.fetch_protocol == "h2",
    )


async def _engine_part(run: LessonRun, served: Served) -> None:
    """Our engine: 7 streams on the HTTP/1.1 server, each on a connection of its own."""
    url = tagged_url(served.base_url + EVENTS_PATH, run.tag)
    lanes = []
    for n in range(1, SOURCES + 1):
        lane = RecordedStream(run.ctx, f"engine {n}", StreamOptions(url))
        run.streams[lane.name] = lane
        lane.start()
        lanes.append(lane)
    opened = [
        await lane.wait(Open, f"engine stream {lane.name}", CONNECT_S) for lane in lanes
    ]
    moment = max(record.wall for _, record in opened) + 0.05
    await run.pause()
    async with _lab_on(run, served) as lab:
        held = [s for s in await lab.sent(EVENTS_TOPIC) if s.closed is None]
    clients = {s.client for s in held if s.opened <= moment}
    versions = sorted({record.http_version for _, record in opened})
    run.check(
        "Our engine opens 7 streams on HTTP/1.1",
        f"{SOURCES} open, HTTP/1.1",
        f"{len(opened)} open, {', '.join(versions)}",
        len(opened) == SOURCES and versions == ["HTTP/1.1"],
    )
    run.check(
        "…on 7 connections: the limit was the browser's pool",
        f"{SOURCES} client ports",
        f"{len(clients)} client ports",
        len(clients) == SOURCES,
    )
    for lane in lanes:
        await lane.stop()
        # A cancelled engine leaves no record of its end: say it, for its lane.
        wall = time.time()
        closed = Closed(
            "the lesson stopped it",
            Outcome.STOPPED,
            False,
            None,
            time.monotonic(),
            wall,
        )
        lane.records.append(closed)
        run.ctx.on_records(lane.name, [closed])


async def six_connections(run: LessonRun) -> None:
    """The lesson: HTTP/1.1 in a browser, HTTP/2 in a browser, our engine."""
    ctx = run.ctx
    first = await ctx.serve(ServerProtocol.HTTP1.value)
    try:
        page = await _watch_page(run, first, SOURCES, SOURCES)
        _check_http1(run, page)
        await _engine_part(run, first)
        h2 = await ctx.serve(ServerProtocol.H2.value)
        page = await _watch_page(run, h2, MANY, 0)
        _check_h2(run, page)
    finally:
        # Back as the user had it, even when cancelled (within the restart's bound).
        await asyncio.shield(ctx.serve(first.was.value))
