"""Docs: `GET /docs`, Swagger UI from the ``fastapi-offline`` package, not a CDN.

FastAPI's own `/docs` loads Swagger UI's script from a CDN: a page that holds the
token in its URL would run a third party's code.  Here the files come from the
``fastapi-offline`` wheel (Swagger UI 5, which reads OpenAPI 3.1), the page's
Content-Security-Policy allows no other origin, and a token given as
``/docs?access_token=T`` goes to this server's API as a header: Swagger UI's
``requestInterceptor`` adds it to the spec's fetch and to "Try it out".
"""

from __future__ import annotations

import html as html_
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, HTTPException
from starlette.requests import Request  # noqa: TC002 (FastAPI reads it at runtime)
from starlette.responses import FileResponse, HTMLResponse

from server.page import security_headers

router = APIRouter(tags=["docs"])
ASSETS_URL = "/docs/assets"
_MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}
# Public: library files the browser loads by <script src>, without the token.
ASSET_PATHS = frozenset(f"{ASSETS_URL}/{name}" for name in _MEDIA_TYPES)

_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
"use strict";
// A browser cannot add a header to a page load, so a token comes as ?access_token=;
// it goes to this origin's API only, as a header.
const token = new URLSearchParams(location.search).get("access_token");
window.ui = SwaggerUIBundle({{
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  requestInterceptor: (request) => {{
    if (token && new URL(request.url, location.href).origin === location.origin) {{
      request.headers.Authorization = `Bearer ${{token}}`;
    }}
    return request;
  }},
}});
</script>
</body>
</html>
"""


def _static() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs_page(request: Request) -> HTMLResponse:
    """Swagger UI on this server's OpenAPI schema."""
    html = _HTML.format(title=html_.escape(request.app.title), assets=ASSETS_URL)
    # Swagger UI's React sets inline styles: 'unsafe-inline' for styles only.
    headers = security_headers(html, scripts="'self'", styles="'self' 'unsafe-inline'")
    return HTMLResponse(html, headers=headers)


@router.get(f"{ASSETS_URL}/{{name}}", include_in_schema=False)
def docs_asset(name: str) -> FileResponse:
    """One of Swagger UI's files (the set is fixed: no path reaches elsewhere)."""
    media_type = _MEDIA_TYPES.get(name)
    if media_type is None:
        raise HTTPException(404, f"no docs asset {name!r}")
    return FileResponse(
        _static() / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )
