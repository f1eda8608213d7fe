"""Secrets in requests: which headers and query parameters hold one, and masking.

A recording is a file people attach to bug reports; an ``Authorization`` value
or an ``?access_token=`` in it would leak with it.  Masking keeps the shape (the
``Bearer`` scheme word, which parameter was there) and drops the content.
"""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit, urlunsplit

from desktop.core.engine.credentials import is_secret_name

MASK = "•" * 8
_SECRET_PARAMS = ("auth", "sig", "signature")  # besides the words above


def is_secret(name: str) -> bool:
    """Whether a header or parameter called ``name`` likely holds a credential.

    The engine's rule (credentials.py): the same names a cross-origin redirect
    drops are masked in files."""
    return is_secret_name(name)


def mask_value(value: str) -> str:
    """``Bearer abc…`` → ``Bearer ••••••••``; anything else → ``••••••••``."""
    if not value:
        return ""
    scheme, _, rest = value.partition(" ")
    if rest and scheme.isalpha():
        return f"{scheme} {MASK}"
    return MASK


def redact_headers(
    headers: tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, mask_value(value) if is_secret(name) else value)
        for name, value in headers
    )


def redact_url(url: str) -> str:
    """The URL with secret-looking query values and a password masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}{':' + MASK if colon else ''}@{host}"
    query = "&".join(_mask_param(piece) for piece in parts.query.split("&"))
    if netloc == parts.netloc and query == parts.query:
        return url  # untouched: keep its exact spelling
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _mask_param(piece: str) -> str:
    """One ``name=value`` of a query, its spelling kept unless it is a secret."""
    name, equals, value = piece.partition("=")
    if value and is_secret_param(unquote_plus(name)):
        return f"{name}{equals}{MASK}"
    return piece


def is_secret_param(name: str) -> bool:
    """Whether a query parameter called ``name`` likely holds a credential."""
    return is_secret(name) or name.lower() in _SECRET_PARAMS
