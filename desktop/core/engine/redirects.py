"""Following redirects by hand: each hop recorded, credentials kept home.

Why not httpx's own ``follow_redirects``: its ``_redirect_headers`` (httpx
``_client.py``) drops ``Authorization`` on a cross-origin redirect, but not
``Proxy-Authorization`` nor a custom header the user marked secret
(``X-Api-Key``), keeps ``Authorization`` on an http -> https move to another
host, and takes cookies from the client's one jar, which the app's streams
share.  A request event hook sees each hop but not which stream it belongs to
nor what it dropped.  So the engine sends each hop with
``follow_redirects=False`` and decides here, as the Fetch standard's HTTP-redirect
fetch does (https://fetch.spec.whatwg.org/#http-redirect-fetch): 301/302 turn a
POST into a GET, 303 anything but HEAD, and the body and its headers go.

Once an attempt leaves the stream's origin, no credential is sent again on that
attempt, even when a later hop comes back: a server of another origin chose
where the client goes next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from desktop.core.engine.credentials import CREDENTIAL_HEADERS, is_secret_name
from desktop.core.engine.errors import RedirectError
from desktop.core.engine.records import Hop
from desktop.core.engine.transport import MAX_REDIRECTS

if TYPE_CHECKING:
    import contextlib

    from desktop.core.engine.credentials import Headers

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Fetch: "request-body-header name"s, removed with the body.
_BODY_HEADERS = (
    b"content-encoding",
    b"content-language",
    b"content-location",
    b"content-type",
)


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port (defaulted): 127.0.0.1 and localhost differ."""
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, port


def _without_credentials(headers: Headers) -> tuple[Headers, tuple[str, ...]]:
    kept: Headers = []
    dropped: list[str] = []
    for name, value in headers:
        text = name.decode("latin-1")
        if text.lower() in CREDENTIAL_HEADERS or is_secret_name(text):
            if text not in dropped:
                dropped.append(text)
        else:
            kept.append((name, value))
    return kept, tuple(dropped)


async def send_following(
    client: httpx.AsyncClient,
    stack: contextlib.AsyncExitStack,
    *,
    method: str,
    url: httpx.URL,
    headers: Headers,
    body: bytes | None,
    per_operation: httpx.Timeout,
    cookies: httpx.Cookies,
) -> tuple[httpx.Response, tuple[Hop, ...]]:
    """The first response that is not a redirect, its body left to read (``stack``
    closes it), and the hops that led there."""
    home = origin(url)
    hops: list[Hop] = []
    away = False  # left the stream's origin: no credential any more
    while True:
        request = client.build_request(
            method, url, headers=headers, content=body, timeout=per_operation
        )
        if not away:
            cookies.set_cookie_header(request)
        response = await client.send(request, stream=True, follow_redirects=False)
        stack.push_async_callback(response.aclose)
        cookies.extract_cookies(response)
        location = response.headers.get("location")
        if response.status_code not in REDIRECT_STATUSES or location is None:
            return response, tuple(hops)
        await response.aclose()  # a redirect's body is of no use
        if len(hops) >= MAX_REDIRECTS:
            raise RedirectError(f"too many redirects (more than {MAX_REDIRECTS})")
        try:
            target = url.join(location)
        except httpx.InvalidURL as exc:
            raise RedirectError(f"bad redirect Location {location!r}: {exc}") from exc
        if target.scheme not in ("http", "https") or not target.host:
            raise RedirectError(f"redirect to a URL that is not http(s): {location!r}")
        status = response.status_code
        if (status in (301, 302) and method == "POST") or (
            status == 303 and method != "HEAD"
        ):
            method, body = "GET", None
            headers = [(n, v) for n, v in headers if n.lower() not in _BODY_HEADERS]
        dropped: tuple[str, ...] = ()
        if not away and origin(target) != home:
            away = True
            headers, dropped = _without_credentials(headers)
            if len(cookies.jar) and "Cookie" not in dropped:
                dropped = (*dropped, "Cookie")
        hops.append(Hop(status, str(url), location, dropped))
        url = target
