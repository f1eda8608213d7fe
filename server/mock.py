"""Mock: a saved recording served again as a live SSE stream (``sse-viewer mock``).

The app is the bundled server's own (`create_app`: Host and Origin checks, the
optional token, the redacted access log, and with ``--lab`` the lab's routes)
with one more route in front, at the recording's path.  Its stream is a pull
`Source` like the ticker's, written by `EventStreamResponse` through the hub, so
the lab's faults reach it as they reach every stream (drop, cut, stall, retry
now; refuse, encoding and retry on connect) and nothing of them is copied here.

What is replayed comes from the composition root (desktop/cli.py reads the
recording; the server never imports the app): a `Script` of pieces, each the
bytes to send, when, and the event and id it ends with (see
desktop/core/files/replay.py), typed here by Protocols.  Why not a reader of
the file here: the format has one owner (desktop/core/files/recording.py: its
versions, its tolerant reading) and the raw map (desktop/core/raw/map.py)
already knows where each event's bytes end; a second reader would drift.

The wire is the recording's own: no ``retry:`` and no keep-alive of the
server's are added, except a ``retry:`` in force announced again on a resume
and the lab's when it sets one.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

from starlette.requests import Request  # noqa: TC002 (FastAPI reads it at runtime)
from starlette.responses import Response

from server.app import create_app
from server.labtag import RequestTag  # noqa: TC001 (FastAPI reads it at runtime)
from server.response import EventStreamResponse
from server.runner import bind, is_loopback, serve
from server.settings import Settings
from server.streams import LastEventId, Rt, new_subscription, opening
from server.subscriptions import Chunk
from server.trust import (
    add_trust_arguments,
    any_ip_host,
    hosts_for_bind,
    own_origins,
    trust_problems,
)
from server.wire import retry_frame

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi import FastAPI

log = logging.getLogger("server.mock")

TOKEN_ENV = "SSE_VIEWER_TOKEN"
NO_PING_S = 1e9  # the recording's own keep-alives are replayed; none are added
_LOOP_ID = re.compile(r"(.*)/loop([0-9]{1,9})", re.DOTALL)
_SENT_BYTES = 64  # what one sent-log entry keeps alive, roughly

DESCRIPTION = """\
Serve a recording saved by sse-viewer (File > Save recording) as a live SSE
endpoint: the same events, types, ids and retry: at their recorded times, from
the raw bytes when the recording holds them (the exact wire), else rebuilt from
its events (an id: line only where the id in force changed).  Several
connections of a recording play as one, without the time spent reconnecting.
Prints READY <url> when up.
"""
RESUME_HELP = """\
Resume: a request with Last-Event-ID continues right after the first event that
carried that id in force (events that followed it with the same id are sent
again, as by a server that knows events by their ids).  An id the recording
never had, or none, replays from the start; so does every reconnect when the
recording has no ids, or its id was reset by an empty "id:".  Without --loop the
stream ends where the recording ends, and a resume after its last event gets
204 (a client stops reconnecting).  With --loop the first pass keeps the
recorded ids and pass N (N >= 2) sends ID/loopN instead of ID, so ids stay unique
across passes; a resume with ID/loopN continues in pass N.
"""


class Piece(Protocol):
    """Bytes to send ``at`` seconds into the replay (desktop's ``replay.Piece``)."""

    @property
    def at(self) -> float: ...

    @property
    def data(self) -> bytes: ...

    @property
    def event(self) -> str | None:
        """The type of the event it ends (a resume point); None: none."""
        ...

    @property
    def id(self) -> str:
        """The last event ID in force after it."""
        ...

    @property
    def retry(self) -> int | None:
        """The reconnection time in force after it (None: never set)."""
        ...


class Script(Protocol):
    """What to replay: pieces in time order over ``duration`` seconds."""

    @property
    def pieces(self) -> Sequence[Piece]: ...

    @property
    def duration(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Playback:
    """How to play a script: ``speed`` times faster, once or for ever."""

    speed: float = 1.0
    loop: bool = False


def loop_id(event_id: str, round_: int) -> str:
    """The id an event carries in pass ``round_ + 1`` (the first keeps its own)."""
    if round_ == 0 or not event_id:
        return event_id
    return f"{event_id}/loop{round_ + 1}"


class _Sent(NamedTuple):
    id: str
    type: str


class Plan:
    """A script laid out for playing: where each id resumes, when each piece is due.

    Positions count pieces over every pass: ``round * len(pieces) + index``.
    """

    def __init__(self, script: Script, playback: Playback) -> None:
        self.pieces = tuple(script.pieces)
        if not self.pieces:
            raise ValueError("a script with no pieces has nothing to replay")
        self.playback = playback
        # A pass of no length would loop without end in no time.
        self.duration = max(script.duration, self.pieces[-1].at, 1e-3)
        self._after: dict[str, int] = {}  # id -> the position after its first event
        self._last_event = -1
        for index, piece in enumerate(self.pieces):
            if piece.event is not None:
                self._last_event = index
                if piece.id:
                    self._after.setdefault(piece.id, index + 1)

    def start(self, last_event_id: str | None) -> int | None:
        """Where a request resumes; None: nothing follows (answer 204)."""
        if not last_event_id:
            return 0
        position = self._after.get(last_event_id)
        if position is None and self.playback.loop:
            match = _LOOP_ID.fullmatch(last_event_id)
            if match is not None and int(match[2]) >= 2:
                found = self._after.get(match[1])
                if found is not None:
                    position = (int(match[2]) - 1) * len(self.pieces) + found
        if position is None:
            log.info(
                "mock: Last-Event-ID %r is not in the recording: from the start",
                last_event_id[:80],
            )
            return 0
        if not self.playback.loop and position > self._last_event:
            return None
        return position

    def time_of(self, position: int) -> float:
        """Seconds into the replay (all passes) at which a position is due."""
        round_, index = divmod(position, len(self.pieces))
        return round_ * self.duration + self.pieces[index].at

    def retry_before(self, position: int) -> int | None:
        """The reconnection time in force when playing from ``position``."""
        if position == 0:
            return None
        return self.pieces[(position - 1) % len(self.pieces)].retry

    def wire(self, position: int) -> tuple[bytes, _Sent | None]:
        """The bytes of a position (ids of later passes changed) and its event."""
        round_, index = divmod(position, len(self.pieces))
        piece = self.pieces[index]
        if piece.event is None:
            return piece.data, None
        sent = _Sent(loop_id(piece.id, round_), piece.event)
        if round_ == 0 or not piece.id:
            return piece.data, sent
        # The last ``id:`` of a block wins (WHATWG 9.2.6): one more line just
        # before the blank line that ends the event gives it the pass's id.
        data = piece.data
        cut = len(data) - (2 if data.endswith(b"\r\n") else 1)
        line = f"id: {sent.id}\n".encode()
        return data[:cut] + line + data[cut:], sent


class MockSource:
    """The pull `Source` of one mock subscription: due pieces, in one chunk."""

    def __init__(self, plan: Plan, position: int, now: float) -> None:
        self._plan = plan
        self._next = position
        self._t0 = now
        self._now = now  # the time of the last take (the writer takes on each wake)
        self._base = plan.time_of(position - 1) if position > 0 else 0.0
        self._end = (
            math.inf
            if plan.playback.loop
            else now + (plan.duration - self._base) / plan.playback.speed
        )

    def _due(self, position: int) -> float:
        elapsed = self._plan.time_of(position) - self._base
        return self._t0 + elapsed / self._plan.playback.speed

    @property
    def _left(self) -> bool:
        return self._plan.playback.loop or self._next < len(self._plan.pieces)

    @property
    def done(self) -> bool:
        """Every piece sent and the recording's end reached (as of the last take)."""
        return not self._left and self._now >= self._end

    def next_due(self) -> float | None:
        if self._left:
            return self._due(self._next)
        return None if self.done else self._end

    def take(self, now: float, budget: int) -> Chunk:
        self._now = now
        parts: list[bytes] = []
        sent: list[_Sent] = []
        size = 0
        while self._left and size < budget and self._due(self._next) <= now:
            data, event = self._plan.wire(self._next)
            parts.append(data)
            size += len(data)
            if event is not None:
                sent.append(event)
            self._next += 1
        if not parts:
            return Chunk(b"", 0, None)
        last = sent[-1].id if sent else None
        named = [s for s in sent if s.id]
        return Chunk(b"".join(parts), len(sent), last, named, _SENT_BYTES * len(named))


def add_stream(app: FastAPI, path: str, plan: Plan) -> None:
    """Serve ``plan`` at ``path``, ahead of the app's own routes."""

    async def stream(
        request: Request, rt: Rt, tag: RequestTag, last_event_id: LastEventId = None
    ) -> Response:
        refused = await opening(rt, tag)
        if refused is not None:
            return refused
        position = plan.start(last_event_id)
        if position is None:
            return Response(status_code=204)  # nothing follows that id
        preamble = [
            retry_frame(ms)
            for ms in (plan.retry_before(position), rt.lab.retry_for(tag))
            if ms is not None
        ]
        source = MockSource(plan, position, time.monotonic())
        sub = new_subscription(rt, request, "mock", source, last_event_id, tag)
        return EventStreamResponse(
            sub,
            rt.hub,
            rt.settings,
            preamble=[Chunk(b"".join(preamble), 0, None)] if preamble else [],
            encoder=rt.lab.encoder(tag),
        )

    app.add_api_route(
        path,
        stream,
        methods=["GET", "POST"],  # a recorded POST (an LLM API) is asked again so
        response_class=Response,
        summary="The recording, replayed",
    )
    routes = app.router.routes
    routes.insert(0, routes.pop())  # the recording wins over a route of the server


def create_mock_app(
    settings: Settings, script: Script, path: str, playback: Playback
) -> FastAPI:
    """The bundled server's app with ``script`` served at ``path``."""
    app = create_app(settings)
    add_stream(app, path, Plan(script, playback))
    return app


def parser(prog: str = "sse-viewer mock") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=RESUME_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("recording", help="the recording (.ndjson)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (0)")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="play X times faster (10: a tenth of the recorded gaps) (1)",
    )
    p.add_argument(
        "--loop",
        action="store_true",
        help="start again after the end, for ever (ids: see below)",
    )
    p.add_argument(
        "--lab",
        action="store_true",
        help="mount /api/lab: the bundled server's faults (drop, cut, stall, "
        "refuse, retry, encoding) act on the mock stream too",
    )
    p.add_argument(
        "--path",
        metavar="/PATH",
        help="serve it at this path (default: the recorded URL's path); it takes "
        "the place of a route of the bundled server with the same path",
    )
    p.add_argument("--token", help=f"bearer token for every route (or ${TOKEN_ENV})")
    add_trust_arguments(p)  # a web client under test on its dev server's origin
    return p


def problems_of(args: argparse.Namespace, token: str | None) -> list[str]:
    """What refuses the start."""
    problems = []
    if not (args.speed > 0 and math.isfinite(args.speed)):
        problems.append("--speed must be a number > 0")
    if not 0 <= args.port <= 65535:
        problems.append(f"--port {args.port} is not a port")
    if args.path is not None and not args.path.startswith("/"):
        problems.append(f"--path {args.path} must start with /")
    if token is None and not is_loopback(args.host):
        problems.append(
            f"refusing to bind {args.host} without --token (or ${TOKEN_ENV}): "
            "anyone on the network could use it"
        )
    return problems + trust_problems(args)


def _token(args: argparse.Namespace) -> str | None:
    # An empty variable counts as unset, as for `serve`.
    return args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None


def refused(args: argparse.Namespace) -> bool:
    """Whether the arguments cannot work; each problem is said on stderr."""
    problems = problems_of(args, _token(args))
    for problem in problems:
        print(f"sse-viewer mock: {problem}", file=sys.stderr)
    return bool(problems)


def run(args: argparse.Namespace, script: Script, path: str) -> int:
    """Bind, say READY with the stream's URL, serve until SIGINT or SIGTERM."""
    if refused(args):
        return 2
    token = _token(args)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(
            f"sse-viewer mock: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    with sock:
        settings = Settings(
            ping_s=NO_PING_S,
            token=token,
            lab=args.lab,
            cors_origins=tuple(args.cors_origin),
            own_origins=own_origins(
                int(sock.getsockname()[1]), loopback=is_loopback(args.host), tls=False
            ),
            allowed_hosts=hosts_for_bind(
                args.host,
                str(sock.getsockname()[0]),
                args.allowed_host,
                loopback=is_loopback(args.host),
            ),
            any_ip_host=any_ip_host(args.host),
            name="sse-viewer mock",
        )
        playback = Playback(args.speed, args.loop)
        app = create_mock_app(settings, script, path, playback)
        serve(app, sock, watch=False, timeout_s=settings.shutdown_timeout_s, path=path)
    return 0
