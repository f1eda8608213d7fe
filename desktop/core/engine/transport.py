"""How a stream reaches its server: TLS trust, client certificate, proxy, HTTP version.

One frozen value per distinct way of connecting, and one factory that turns it
into an ``httpx.AsyncClient``: ``tail``, the app's streams and the engine's own
fallback client all come from :func:`make_client`, so a setting works the same
everywhere.  The value is hashable, so the app can keep one client (one pool of
connections) per distinct ``Transport`` and share it between the streams that
use it.

Secrets a transport carries (a key's passphrase, proxy credentials) are masked
wherever a transport is shown or saved (desktop/core/files/redact.py).
"""

from __future__ import annotations

import http.cookiejar
from dataclasses import dataclass, field

import httpx

MAX_REDIRECTS = 20  # as browsers (Fetch: "redirect count is twenty")


@dataclass(frozen=True, slots=True)
class Transport:
    """Everything below HTTP's request that a user may choose for a stream.

    The defaults are a browser's: verify against the system's trust store,
    honour the environment's proxy settings, offer HTTP/2 and HTTP/1.1.
    """

    # TLS: whether certificates are checked at all (``-k`` turns it off), a CA
    # bundle to trust besides the system's, certificates trusted by their
    # SHA-256 fingerprint (hex, lower case), and a client certificate (mTLS).
    verify: bool = True
    ca_file: str | None = None
    trusted_fingerprints: frozenset[str] = field(default_factory=frozenset)
    client_cert: str | None = None
    client_key: str | None = None
    client_key_password: str | None = field(default=None, repr=False)
    # Proxy: an explicit proxy URL (http://, https://, socks5://) or None; whether
    # the environment's HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY count.
    proxy: str | None = field(default=None, repr=False)
    trust_env: bool = True
    # HTTP/2 by ALPN on https (``--http1.1`` turns it off).
    http2: bool = True


DEFAULT_TRANSPORT = Transport()


def _no_cookies() -> http.cookiejar.CookieJar:
    """A jar that refuses every cookie: a client's, shared by streams."""
    return http.cookiejar.CookieJar(
        policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
    )


def make_client(
    transport: Transport = DEFAULT_TRANSPORT, *, timeout: float = 10.0
) -> httpx.AsyncClient:
    """A client that connects as ``transport`` says, following redirects as
    browsers do.  The caller owns it and closes it."""
    return httpx.AsyncClient(
        verify=transport.verify,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=timeout,
        trust_env=transport.trust_env,
        # Cookies live in each stream's own jar (credentials.py), not in a
        # client that several streams share.
        cookies=_no_cookies(),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=8),
    )
