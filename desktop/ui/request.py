"""What the connection bar asks for, checked and turned into engine options."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from desktop.core.engine.options import StreamOptions
from desktop.ui.form_error import RequestError
from desktop.ui.limits import LimitsForm, parse_limits
from desktop.ui.system_proxy import desktop_environment
from desktop.ui.tls import TLSForm

_EVENTS_PATH = "/api/events"


@dataclass(frozen=True, slots=True)
class RequestForm:
    """The connection bar's values, as typed."""

    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    retry_ms: int | None = None
    limits: LimitsForm = field(default_factory=LimitsForm)  # "Reconnect & limits"
    # The "Proxy" tab: a proxy URL for this stream (localhost too), or "" for
    # the environment's or the desktop's proxy settings (never for localhost).
    proxy: str = ""
    tls: TLSForm = field(default_factory=TLSForm)  # the "TLS" tab
    # "Credentials": Basic auth, cookies ("a=1; b=2") and a Netscape cookie file.
    # The password and the cookies are secrets (profiles: keyring; shown masked).
    user: str = ""
    password: str = field(default="", repr=False)
    cookies: str = field(default="", repr=False)
    cookie_file: str = ""


def mask(value: str) -> str:
    """Show a secret's shape, not its content: scheme word and last 2 characters."""
    if not value:
        return ""
    scheme, _, rest = value.partition(" ")
    if rest and scheme.isalpha():
        return f"{scheme} {'•' * 8}{rest[-2:] if len(rest) > 8 else ''}"
    return "•" * 8 + (value[-2:] if len(value) > 8 else "")


def check_url(url: str) -> str:
    """The URL, trimmed (``http://`` added if it has no scheme), as the engine
    accepts it; the engine's own check says what is wrong, before any request."""
    # Imported here, at connect time: the window is built before httpx is loaded.
    from desktop.core.engine.errors import BadURLError
    from desktop.core.engine.request import check_url as engine_check

    url = url.strip()
    if not url:
        raise RequestError("url", "Enter the URL of an event stream.")
    if "://" not in url:
        url = "http://" + url
    try:
        engine_check(url)
    except BadURLError as exc:
        raise RequestError("url", f"Bad URL: {exc.detail}.") from None
    return url


def build_options(form: RequestForm, *, comments: bool = True) -> StreamOptions:
    """Turn the form into options for the engine; raises :class:`RequestError`."""
    url = check_url(form.url)
    headers: list[tuple[str, str]] = []
    for name, value in form.headers:
        name = name.strip()
        if not name and not value:
            continue
        if not name or any(c in name for c in " :\t\r\n"):
            raise RequestError("headers", f"Bad header name {name!r}.")
        if any(c in value for c in "\r\n"):
            raise RequestError("headers", f"The value of {name} has a line break.")
        headers.append((name, value.strip()))
    method = form.method.upper()
    body: bytes | None = None
    if method == "POST":
        body = form.body.encode("utf-8")
        has_type = any(name.lower() == "content-type" for name, _ in headers)
        if body and not has_type:
            headers.append(("Content-Type", _content_type(form.body)))
    if form.retry_ms is not None and form.retry_ms < 0:
        raise RequestError("retry", "The retry time cannot be negative.")
    limits = parse_limits(form.limits)
    proxy = check_proxy(form.proxy)
    cookies = parse_cookies(form.cookies)
    return StreamOptions(
        url=url,
        method=method,
        headers=tuple(headers),
        body=body,
        retry_ms=form.retry_ms,
        max_attempts=limits.max_attempts,
        close_on=limits.close_on,
        count=limits.count,
        max_event_bytes=limits.max_event_bytes,
        read_timeout=limits.read_timeout,
        headers_timeout=limits.headers_timeout,
        max_backoff_ms=limits.max_backoff_ms,
        reconnect_on_status=limits.reconnect_on_status,
        send_last_event_id=limits.send_last_event_id,
        comments=comments,
        raw=True,  # the app counts bytes from raw chunks and drops them
        transport=replace(form.tls.transport(), proxy=proxy)
        if proxy
        else replace(form.tls.transport(), environment=desktop_environment()),
        user=form.user.strip() or None,
        password=form.password if form.user.strip() else None,
        cookies=cookies,
        cookie_file=form.cookie_file.strip() or None,
    )


def without_password(url: str) -> tuple[str, str]:
    """``scheme://user:password@host`` as (``scheme://user@host``, password)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if not sep or not at or ":" not in userinfo:
        return url, ""
    user, _, password = userinfo.partition(":")
    return f"{scheme}://{user}@{host}", password


def with_password(url: str, password: str) -> str:
    """The inverse of :func:`without_password` (a password needs a ``user@``)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if not password or not sep or not at or ":" in userinfo:
        return url
    return f"{scheme}://{userinfo}:{password}@{host}"


_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def check_proxy(proxy: str) -> str | None:
    """The proxy URL as httpx takes it, or None; raises :class:`RequestError`."""
    proxy = proxy.strip()
    if not proxy:
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy  # as curl and the environment variables
    parts = urlsplit(proxy)
    if parts.scheme.lower() not in _PROXY_SCHEMES or not parts.hostname:
        raise RequestError(
            "proxy", "A proxy URL is http://, https:// or socks5://host:port."
        )
    return proxy


def parse_cookies(text: str) -> tuple[tuple[str, str], ...]:
    """``a=1; b=2`` (as a Cookie header or a browser's dev tools show them)."""
    from desktop.core.engine.credentials import parse_cookie

    pairs = []
    for piece in text.split(";"):
        if piece.strip():
            try:
                pairs.append(parse_cookie(piece.strip()))
            except ValueError as exc:
                raise RequestError("cookies", f"Bad cookie: {exc}.") from None
    return tuple(pairs)


def _content_type(body: str) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL (where its server's API lives)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def events_url(base: str) -> str:
    return base.rstrip("/") + _EVENTS_PATH


def bearer(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The auth headers of a stream, for calls to the same server's API."""
    return tuple((k, v) for k, v in headers if k.lower() == "authorization")
