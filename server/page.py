"""Page: `GET /`, the browser EventSource page from ``assets/web/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from starlette.responses import HTMLResponse

router = APIRouter(tags=["page"])


def assets_dir() -> Path:
    """``assets/`` of the repo (editable install), else the wheel's ``desktop/_assets``.

    Found by path, not by importing ``desktop``: the server never imports the app.
    """
    root = Path(__file__).resolve().parents[1]
    for candidate in (root / "assets", root / "desktop" / "_assets"):
        if (candidate / "web").is_dir():
            return candidate
    return root / "assets"


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    """An EventSource on a chosen stream, showing its events and readyState."""
    path = assets_dir() / "web" / "index.html"
    try:
        html = path.read_text(encoding="utf-8")
    except OSError:
        raise HTTPException(404, f"page not installed ({path})") from None
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
