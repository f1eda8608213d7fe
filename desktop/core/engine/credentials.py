"""Credentials of a stream: Basic auth, its cookie jar, and which headers are secret.

One cookie jar per stream, as a browser's EventSource with credentials keeps
cookies: what the user gave (``-b``, a cookie file) and what the stream's own
responses set are sent on its later attempts.  The shared httpx client keeps
none (transport.py), so two streams never see each other's cookies.
"""

from __future__ import annotations

import asyncio
import base64
import http.cookiejar
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from desktop.core.engine.options import StreamOptions

# Header and parameter names that likely hold a credential: the one rule for
# masking (desktop/core/files/redact.py) and for what a cross-origin redirect drops.
SECRET_WORDS = ("authorization", "cookie", "token", "secret", "key", "password")
# Always credentials, whatever their name says (Fetch drops Authorization on a
# cross-origin redirect; a browser would send cookies by their own domain only).
CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


def is_secret_name(name: str) -> bool:
    """Whether a header or parameter called ``name`` likely holds a credential."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` value of Basic auth (RFC 7617, UTF-8)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def auth_headers(options: StreamOptions) -> list[tuple[bytes, bytes]]:
    """Basic auth's ``Authorization``, unless the user's headers carry one."""
    if options.user is None or any(
        name.lower() == "authorization" for name, _ in options.headers
    ):
        return []
    value = basic_authorization(options.user, options.password or "")
    return [(b"Authorization", value.encode())]


def stream_jar(options: StreamOptions, host: str) -> httpx.Cookies:
    """The stream's jar: the cookie file's cookies, then ``options.cookies``
    for ``host`` (host-only, as a server's cookie without Domain).

    Raises OSError or ``http.cookiejar.LoadError`` when the file cannot be read.
    """
    jar: http.cookiejar.CookieJar = http.cookiejar.CookieJar()
    if options.cookie_file:
        mozilla = http.cookiejar.MozillaCookieJar(options.cookie_file)
        # Session cookies are what a user exports from a browser session to
        # reuse: keep them.  curl writes their expiry as 0, which
        # MozillaCookieJar reads as 1970 (it expects an empty field).
        mozilla.load(ignore_discard=True, ignore_expires=True)
        for cookie in list(mozilla):
            if cookie.expires == 0:
                cookie.expires, cookie.discard = None, True
        mozilla.clear_expired_cookies()
        jar = mozilla
    cookies = httpx.Cookies(jar)
    # http.cookiejar matches a dotless host (localhost) as "localhost.local".
    domain = host if "." in host else f"{host}.local"
    for name, value in options.cookies:
        cookies.set(name, value, domain=domain)
    return cookies


async def load_jar(options: StreamOptions) -> tuple[httpx.Cookies, str | None]:
    """The stream's jar, and what went wrong reading the cookie file, if anything
    (the stream then fails: errors.OptionError)."""
    try:
        host = httpx.URL(options.url).host
        return await asyncio.to_thread(stream_jar, options, host), None
    except (OSError, httpx.InvalidURL) as exc:  # LoadError is an OSError
        jar = stream_jar(replace(options, cookie_file=None), "")
        return jar, f"cannot read the cookie file: {exc}"


def parse_cookie(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` → ``(NAME, VALUE)``; ValueError saying what is wrong."""
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not name:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    if any(c in name for c in ";,= \t") or any(c in value for c in ";\r\n"):
        raise ValueError(f"a cookie cannot hold ';', ',' or spaces: {text!r}")
    return name, value.strip()


Headers = list[tuple[bytes, bytes]]  # an attempt's request headers, as sent
