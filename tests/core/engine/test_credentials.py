"""Credentials over real sockets: Basic auth, the stream's cookie jar, and what a
cross-origin redirect drops (127.0.0.1 and localhost are different origins,
served by the same raw server)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from desktop.core.engine.records import Closed, Open, Outcome
from desktop.core.engine.transport import make_client

from rawserver import Hang, RawServer, redirect, sse
from stream_checks import collect, of, options, run

if TYPE_CHECKING:
    from pathlib import Path

SECRETS = (
    ("X-Api-Key", "k-123"),
    ("Proxy-Authorization", "Basic cHJveHk6cHc="),
    ("X-Trace", "keep-me"),
)


def test_basic_auth_is_sent_on_every_attempt(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n"), sse(b"data: b\n\n", end=Hang()))
    opts = options(raw_server.url(), user="ann", password="pä:ss", count=2)
    run(collect(opts))
    expected = "Basic " + base64.b64encode("ann:pä:ss".encode()).decode()
    assert [r.header("Authorization") for r in raw_server.requests] == [expected] * 2


def test_a_same_origin_redirect_keeps_every_credential(raw_server: RawServer) -> None:
    raw_server.add(redirect(302, "/moved"), sse(b"data: a\n\n", end=Hang()))
    opts = options(
        raw_server.url(), user="ann", password="pw", headers=SECRETS,
        cookies=(("sid", "s1"),), count=1,
    )  # fmt: skip
    opened = of(run(collect(opts)), Open)[0]
    moved = raw_server.requests[1]
    assert moved.header("Authorization") and moved.header("Cookie") == "sid=s1"
    assert moved.header("X-Api-Key") == "k-123"
    assert [(h.status, h.location, h.dropped) for h in opened.redirects] == [
        (302, "/moved", ())
    ]


def test_a_cross_origin_redirect_drops_every_credential(raw_server: RawServer) -> None:
    elsewhere = raw_server.url("/there").replace("127.0.0.1", "localhost")
    raw_server.add(
        redirect(307, elsewhere),
        redirect(302, raw_server.url("/back-home")),
        sse(b"data: a\n\n", end=Hang()),
    )
    opts = options(
        raw_server.url(), user="ann", password="pw", headers=SECRETS,
        cookies=(("sid", "s1"),), count=1,
    )  # fmt: skip
    opened = of(run(collect(opts)), Open)[0]
    first, there, back = raw_server.requests
    assert first.header("Authorization") and first.header("Cookie") == "sid=s1"
    for request in (there, back):  # not even back home: another origin chose it
        for name in ("Authorization", "Cookie", "X-Api-Key", "Proxy-Authorization"):
            assert request.header(name) is None, (request.path, name)
        assert request.header("X-Trace") == "keep-me"
    hop = opened.redirects[0]
    assert (hop.status, hop.location) == (307, elsewhere)
    assert set(hop.dropped) == {
        "X-Api-Key", "Proxy-Authorization", "Authorization", "Cookie",
    }  # fmt: skip
    assert opened.redirects[1].dropped == ()


def test_cookies_the_server_sets_are_sent_on_reconnects(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"data: a\n\n", headers=[("Set-Cookie", "session=abc; Path=/")]),
        sse(b"data: b\n\n", end=Hang()),
    )

    async def two_streams() -> None:
        async with make_client() as client:  # shared, as the app shares one
            await collect(options(raw_server.url(), count=2), client=client)
            await collect(options(raw_server.url(), count=1), client=client)

    raw_server.add(sse(b"data: c\n\n", end=Hang()))
    run(two_streams())
    first, reconnect, other = raw_server.requests
    assert first.header("Cookie") is None
    assert reconnect.header("Cookie") == "session=abc"
    assert other.header("Cookie") is None  # another stream: its own jar


def test_a_cookie_file_is_read(raw_server: RawServer, tmp_path: Path) -> None:
    path = tmp_path / "cookies.txt"  # as curl -c and browser add-ons write them
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        "127.0.0.1\tFALSE\t/\tFALSE\t4102444800\ttok\tt9\n"
        "127.0.0.1\tFALSE\t/\tFALSE\t\tsession\ts0\n"  # a session cookie
        "example.org\tFALSE\t/\tFALSE\t4102444800\tother\tx\n"
    )
    raw_server.add(sse(b"data: a\n\n", end=Hang()))
    run(collect(options(raw_server.url(), cookie_file=str(path), count=1)))
    cookie = raw_server.requests[0].header("Cookie") or ""
    assert sorted(cookie.split("; ")) == ["session=s0", "tok=t9"]


def test_an_unreadable_cookie_file_fails_the_stream(
    raw_server: RawServer, tmp_path: Path
) -> None:
    missing = str(tmp_path / "none.txt")
    records = run(collect(options(raw_server.url(), cookie_file=missing)))
    closed = records[-1]
    assert isinstance(closed, Closed) and closed.failed
    assert closed.outcome == Outcome.BAD_OPTION
    assert closed.reason.startswith("cannot read the cookie file: ")
    assert raw_server.connections == []
