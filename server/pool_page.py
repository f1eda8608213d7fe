"""The pool page: `GET /api/lab/pool`, many EventSources on one host from a browser.

The "six connections per host" lesson opens it in a browser: it opens ``n``
EventSources on the origin ``on`` (another loopback alias of this server, which
browsers pool apart from the page's own), fetches ``/api/info`` there, and reports
what it saw to `/api/lab/browser` on its own origin.  Headers as for the page at
``/`` (server/page.py): its inline blocks by hash, no referrer, no frames.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from server.page import web_page

router = APIRouter(tags=["lab"])


@router.get("/pool", response_class=HTMLResponse, include_in_schema=False)
def pool_page() -> HTMLResponse:
    """``?n=7&on=http://127.0.0.1:PORT&tag=…&hold=ms&life=ms&settle=ms``."""
    # The sources live on another alias of this server (CORS: Settings.own_origins).
    return web_page("pool.html")
