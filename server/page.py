"""Page: `GET /`, the browser EventSource page from ``assets/web/``.

The page's URL may hold ``?access_token=``.  So it is sent with
``Referrer-Policy: no-referrer`` (no request it makes names it in a Referer) and a
Content-Security-Policy that runs only its own inline script, allowed by hash (a
script file beside it would need the token to load), and that lets no other site
frame it (``frame-ancestors 'none'``, against clickjacking of the lab buttons).
The page itself sends the token to its own origin only (``withToken``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from starlette.responses import HTMLResponse

router = APIRouter(tags=["page"])
_INLINE = {
    kind: re.compile(rf"<{kind}>(.*?)</{kind}>", re.DOTALL)
    for kind in ("script", "style")
}


def assets_dir() -> Path:
    """``assets/`` of the repo (editable install), else the wheel's ``desktop/_assets``.

    Found by path, not by importing ``desktop``: the server never imports the app.
    """
    root = Path(__file__).resolve().parents[1]
    for candidate in (root / "assets", root / "desktop" / "_assets"):
        if (candidate / "web").is_dir():
            return candidate
    return root / "assets"


def _hashes(html: str, kind: str) -> str:
    """CSP source expressions for the inline ``<script>`` or ``<style>`` blocks."""
    digests = (hashlib.sha256(b.encode()).digest() for b in _INLINE[kind].findall(html))
    return " ".join(f"'sha256-{base64.b64encode(d).decode()}'" for d in digests)


def security_headers(
    html: str, *, scripts: str = "", styles: str = "", connect: str = "'self'"
) -> dict[str, str]:
    """Headers for a page of ours: its inline blocks by hash, no referrer, no frames.

    ``scripts`` and ``styles`` add sources (e.g. ``'self'`` for files it loads).
    """
    script_src = f"{scripts} {_hashes(html, 'script')}".strip() or "'none'"
    style_src = f"{styles} {_hashes(html, 'style')}".strip() or "'none'"
    policy = "; ".join(
        (
            "default-src 'none'",
            f"script-src {script_src}",
            f"style-src {style_src}",
            f"connect-src {connect}",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
    return {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP 2
    }


def web_page(name: str) -> HTMLResponse:
    """``assets/web/NAME`` with the security headers; its fetches and
    EventSources may go to any http(s) URL (CSP ``connect-src``)."""
    path = assets_dir() / "web" / name
    try:
        html = path.read_text(encoding="utf-8")
    except OSError:
        raise HTTPException(404, f"page not installed ({path})") from None
    headers = security_headers(html, connect="'self' http: https:")
    return HTMLResponse(html, headers=headers)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    """An EventSource on a chosen stream, showing its events and readyState."""
    # The stream field takes any URL, another server's too (without the token).
    return web_page("index.html")
