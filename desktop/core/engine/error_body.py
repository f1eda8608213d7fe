"""What a response that is not an event stream said: its head and a bounded body.

A 401's JSON body says why (an expired token, a missing scope); a proxy's or a
CDN's HTML page says who answered.  The first 64 KiB are kept, decoded by the
charset of the Content-Type; more is counted, not kept, up to a bound in bytes
and in time, since a wrong server may send an endless body.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from typing import TYPE_CHECKING, cast

import httpx

from desktop.core.engine.inflate import ContentDecodingError, Inflater
from desktop.core.engine.records import ErrorResponse

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from desktop.core.engine.records import Hop

KEEP_BYTES = 64 * 1024
COUNT_BYTES = 16 * 1024 * 1024  # read no further: the rest is not counted either
READ_SECONDS = 5.0  # nor longer than this, all reads together


def _decode(data: bytes, charset: str | None) -> str:
    try:
        decoder = codecs.getincrementaldecoder(charset or "utf-8")(errors="replace")
    except LookupError:  # a charset Python does not know
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    # final=False: a character cut by the 64 KiB bound is left out, not garbled.
    return decoder.decode(data, final=len(data) < KEEP_BYTES)


async def read_error_response(
    response: httpx.Response, redirects: tuple[Hop, ...]
) -> ErrorResponse:
    """The response's status, headers and first 64 KiB; never raises for its body."""
    kept = bytearray()
    size = 0
    complete = False
    inflater = Inflater.for_header(response.headers.get_list("content-encoding"))
    body = cast("AsyncGenerator[bytes, None]", response.aiter_raw())
    try:
        async with asyncio.timeout(READ_SECONDS), contextlib.aclosing(body) as reads:
            async for read in reads:
                for piece in inflater.steps(read):
                    size += len(piece)
                    if len(kept) < KEEP_BYTES:
                        kept += piece[: KEEP_BYTES - len(kept)]
                if size >= COUNT_BYTES:
                    break
            else:
                complete = True
    except (TimeoutError, httpx.TransportError, ContentDecodingError):
        pass  # what came is what the user sees: ``complete`` stays False
    content_type = response.headers.get("content-type", "")
    return ErrorResponse(
        status=response.status_code,
        reason=response.reason_phrase,
        http_version=response.http_version,
        url=str(response.url),
        headers=tuple(response.headers.multi_items()),
        content_type=content_type,
        body=_decode(bytes(kept), response.charset_encoding),
        raw=bytes(kept),
        size=size,
        complete=complete,
        redirects=redirects,
    )
