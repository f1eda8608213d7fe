"""A real browser (Chromium) on the page at `/` and on `/docs` with a token.

The page must send its ``?access_token=`` to its own origin only and keep it out
of what it reports to the lab; `/docs` must render Swagger UI from this server's
own files under its Content-Security-Policy, with the token given in its URL.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import httpx

from chromium import CHROMIUM_FLAGS, browser, chromium, kinds, poll
from liveserver import fast
from rawserver import RawServer, respond

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer

TOKEN = "Tok3n-9f2"


def test_the_page_sends_its_token_to_its_own_origin_only(
    make_server: Callable[[Settings], LiveServer], tmp_path: os.PathLike[str]
) -> None:
    live = make_server(fast(token=TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with (
        RawServer(default=respond(204)) as other,
        httpx.Client(base_url=live.url, timeout=5, headers=auth) as client,
    ):
        evil = other.url("/evil?rate=1")
        with browser(f"{live.url}/?access_token={TOKEN}&stream={evil}", str(tmp_path)):
            other.wait_connections(1)
            seen = poll(client, lambda s: "error" in kinds(s), "the 204's error")
        request = other.requests[0]
    assert request.target == "/evil?rate=1"  # opened, without the token
    assert TOKEN not in str(request.headers)  # no Referer, no header
    assert [o["stream"] for o in seen] == [evil] * len(seen)
    assert TOKEN not in str(seen)


def test_the_page_opens_its_own_streams_with_the_token(
    make_server: Callable[[Settings], LiveServer], tmp_path: os.PathLike[str]
) -> None:
    live = make_server(fast(token=TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with (
        httpx.Client(base_url=live.url, timeout=5, headers=auth) as client,
        browser(f"{live.url}/?access_token={TOKEN}&stream=/api/events", str(tmp_path)),
    ):
        seen = poll(client, lambda s: kinds(s).count("message") >= 2, "2 messages")
        subs = client.get("/api/streams").json()["subscriptions"]
    assert subs[0]["path"] == "/api/events?access_token=***"
    assert str(seen[0]["stream"]).endswith("/api/events")


def test_docs_render_from_local_files_with_a_token(
    make_server: Callable[[Settings], LiveServer], tmp_path: os.PathLike[str]
) -> None:
    live = make_server(fast(token=TOKEN))
    flags = [f for f in CHROMIUM_FLAGS if not f.startswith("--remote-debugging")]
    dom = subprocess.run(
        [
            chromium(),
            *flags,
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"{live.url}/docs?access_token={TOKEN}",
        ],
        capture_output=True,
        text=True,
        timeout=45,
        check=True,
    ).stdout
    # Swagger UI ran (under the CSP) and fetched the schema with the token.
    assert 'data-path="/api/jobs"' in dom, dom[-2000:]
    assert 'data-path="/api/lab/drop"' in dom
