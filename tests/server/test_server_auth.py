"""Bearer token (header, and query on GET routes), redaction, CORS."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx
import pytest

from server.auth import redact_query

from liveserver import fast, items_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-t0ken"


@pytest.fixture
def guarded(make_server: Callable[[Settings], LiveServer]) -> LiveServer:
    return make_server(fast(token=TOKEN))


@pytest.mark.parametrize(
    "path", ["/api/info", "/api/jobs", "/api/streams", "/api/events", "/api/lab", "/"]
)
async def test_every_route_needs_the_token(guarded: LiveServer, path: str) -> None:
    async with httpx.AsyncClient(base_url=guarded.url) as client:
        r = await client.get(path)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        wrong = await client.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        basic = await client.get(path, headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        assert (
            await client.post("/api/jobs", json={"kind": "countdown"})
        ).status_code == 401


async def test_header_token_opens_everything(guarded: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=guarded.url, headers=headers) as client:
        assert (await client.get("/api/info")).json()["features"]["token_required"]
        r = await client.post("/api/jobs", json={"kind": "countdown"})
        assert r.status_code == 201
        assert (
            await client.post(f"/api/jobs/{r.json()['id']}/cancel")
        ).status_code == 200
        assert (await client.post("/api/lab/reset")).status_code == 200


async def test_query_token_works_on_get_only_and_is_redacted(
    guarded: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="server.access")
    async with httpx.AsyncClient(base_url=guarded.url) as client:
        q = {"access_token": TOKEN}
        assert (await client.get("/api/info", params=q)).status_code == 200
        async with client.stream("GET", "/api/events", params=q) as r:
            assert r.status_code == 200
            async for item in items_of(r):
                if item.type == "stats":
                    streams = await client.get("/api/streams", params=q)
                    rows = streams.json()["subscriptions"]
                    assert rows[0]["path"] == "/api/events?access_token=***"
                    break
        post = await client.post("/api/lab/reset", params=q)
        assert post.status_code == 401  # a POST must use the header
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "access_token=***" in logged
    assert TOKEN not in logged


def test_redact_query_keeps_other_parameters() -> None:
    assert (
        redact_query("rate=5&access_token=abc&size=2")
        == "rate=5&access_token=***&size=2"
    )
    assert redact_query("rate=5") == "rate=5"


async def test_cors_is_off_by_default(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.url) as client:
        r = await client.get("/api/info", headers={"Origin": "http://elsewhere.test"})
        assert "access-control-allow-origin" not in r.headers


async def test_cors_origin_allows_a_page_elsewhere(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(token=TOKEN, cors_origins=("http://page.test",)))
    async with httpx.AsyncClient(base_url=live.url) as client:
        pre = await client.options(
            "/api/jobs",
            headers={
                "Origin": "http://page.test",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "http://page.test"
        r = await client.get(
            "/api/info",
            params={"access_token": TOKEN},
            headers={"Origin": "http://page.test"},
        )
        assert r.headers["access-control-allow-origin"] == "http://page.test"
