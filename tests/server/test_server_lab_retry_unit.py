"""The lab's retry with a unit (``retry: 20s``): a spec trap every client ignores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx

pytestmark = pytest.mark.anyio

TAG = "doctor-unit"


async def first_bytes(client: httpx.AsyncClient, path: str) -> bytes:
    async with client.stream("GET", path) as response:
        async for chunk in response.aiter_raw():
            return chunk
    raise AssertionError("no bytes")


async def test_retry_with_a_unit_is_sent_to_the_tags_new_connects_only(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/api/lab/retry", json={"ms": 20, "unit": "s", "tag": TAG}
    )
    assert answer.json()["unit"] == "s"
    tagged = await first_bytes(client, f"/api/ticker?lab_tag={TAG}")
    assert tagged.startswith(b"retry: 20s\n\n")
    untagged = await first_bytes(client, "/api/ticker")
    assert untagged.startswith(b"retry: 20\n\n")
    await client.post("/api/lab/reset", json={"tag": TAG})
    assert (await first_bytes(client, f"/api/ticker?lab_tag={TAG}")).startswith(
        b"retry: 20\n\n"
    )


async def test_a_unit_other_than_s_or_ms_is_refused(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/lab/retry", json={"ms": 20, "unit": "h"})
    assert answer.status_code == 422
