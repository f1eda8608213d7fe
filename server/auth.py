"""Auth: the optional bearer token every route needs, and its redaction from logs.

GET routes also take ``?access_token=`` because a browser's EventSource cannot send
headers.  Tokens are compared in constant time.  CORS preflights (OPTIONS) pass, as
they carry no credentials by design; the CORS middleware answers them.

Redaction goes by the *decoded* parameter name, case-insensitively, and by the
same rule as the app's recordings (desktop/core/files/redact.py, which the server
cannot import): ``access%5Ftoken=T`` authenticates like ``access_token=T``, and
``ACCESS_TOKEN=T`` or ``token=T`` are refused but are a token all the same, so all
are masked.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

QUERY_PARAM = "access_token"
MASK = "***"
_QUERY_METHODS = {"GET", "HEAD"}
# The same rule as desktop/core/files/redact.py, which the server cannot import
# (server and desktop never import each other); a test holds the two alike.
_SECRET_WORDS = ("authorization", "cookie", "token", "secret", "key", "password")
_SECRET_PARAMS = ("auth", "sig", "signature")  # besides the words above


def is_secret_param(name: str) -> bool:
    """Whether a decoded query parameter name likely holds a credential."""
    folded = name.casefold()
    return folded in _SECRET_PARAMS or any(word in folded for word in _SECRET_WORDS)


def redact_query(query: str) -> str:
    """The query string with secret values masked, for logs and `/api/streams`.

    Pieces are split on ``&`` as `urllib.parse.parse_qsl` (and so the token check)
    splits them; each name is percent-decoded before it is judged, and every other
    piece keeps its exact spelling.
    """
    return "&".join(_redact_piece(piece) for piece in query.split("&"))


def _redact_piece(piece: str) -> str:
    name, _, value = piece.partition("=")
    if value and is_secret_param(unquote_plus(name, errors="replace")):
        return f"{name}={MASK}"
    return piece


def redact_url(url: str) -> str:
    """A URL a client reported, with secret parameters and a password masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK  # unparseable: it may hold anything
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}{':' + MASK if colon else ''}@{host}"
    query = redact_query(parts.query)
    fragment = redact_query(parts.fragment)  # OAuth's implicit flow puts one there
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url  # untouched: keep its exact spelling
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def path_of(scope: Scope) -> str:
    """Path plus redacted query."""
    query = scope.get("query_string", b"").decode("latin-1")
    path: str = scope["path"]
    return f"{path}?{redact_query(query)}" if query else path


class TokenGuard:
    """ASGI middleware: 401 unless the request carries the token.

    ``public`` paths are answered to GET without it: files of a library (the docs'
    Swagger UI), which a browser loads from ``<script src>`` and so cannot send a
    header for.
    """

    def __init__(
        self, app: ASGIApp, token: str, public: frozenset[str] = frozenset()
    ) -> None:
        self._app = app
        self._token = token.encode()
        self._public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"
            or (scope["method"] in _QUERY_METHODS and scope["path"] in self._public)
            or self._allowed(scope)
        ):
            await self._app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": "missing or wrong bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer" and self._matches(credentials.strip()):
                    return True
        if scope["method"] in _QUERY_METHODS:
            query = scope.get("query_string", b"").decode("latin-1")
            for key, value in parse_qsl(query, keep_blank_values=True):
                if key == QUERY_PARAM and self._matches(
                    value.encode("latin-1", "replace")
                ):
                    return True
        return False

    def _matches(self, candidate: bytes) -> bool:
        return hmac.compare_digest(candidate, self._token)
