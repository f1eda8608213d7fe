"""Auth: the optional bearer token every route needs, and its redaction from logs.

GET routes also take ``?access_token=`` because a browser's EventSource cannot send
headers.  Tokens are compared in constant time.  CORS preflights (OPTIONS) pass, as
they carry no credentials by design; the CORS middleware answers them.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

QUERY_PARAM = "access_token"
_QUERY_METHODS = {"GET", "HEAD"}


def redact_query(query: str) -> str:
    """The query string with any token replaced, for logs and `/api/streams`."""
    if QUERY_PARAM not in query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(k, "***" if k == QUERY_PARAM else v) for k, v in pairs], safe="*"
    )


def path_of(scope: Scope) -> str:
    """Path plus redacted query."""
    query = scope.get("query_string", b"").decode("latin-1")
    path: str = scope["path"]
    return f"{path}?{redact_query(query)}" if query else path


class TokenGuard:
    """ASGI middleware: 401 unless the request carries the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"
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
