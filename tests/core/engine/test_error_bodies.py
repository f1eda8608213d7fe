"""Responses that are not an event stream: their head and body are kept, bounded.

Real sockets: the raw server sends each error response byte for byte.  The
spec's handling stays as it was (a failed close, no reconnect); only what the
user can see grows.
"""

from __future__ import annotations

import json

from desktop.core.engine.error_body import KEEP_BYTES
from desktop.core.engine.records import Closed, ErrorResponse, Open, Reconnecting

from rawserver import RawServer, redirect, respond, sse
from stream_checks import collect, kinds, of, options, run


def _closed_response(records: list[object]) -> ErrorResponse:
    closed = records[-1]
    assert isinstance(closed, Closed) and closed.failed
    assert closed.response is not None
    return closed.response


def test_a_401_keeps_its_json_body_and_headers(raw_server: RawServer) -> None:
    why = {"error": "invalid_token", "detail": "the token expired at 07:00"}
    raw_server.add(
        respond(
            401,
            json.dumps(why).encode(),
            content_type="application/json",
            headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')],
        )
    )
    records = run(collect(options(raw_server.url())))
    assert kinds(records) == ["Connecting", "Closed"]  # closed, not reconnected
    response = _closed_response(records)
    assert (response.status, response.reason) == (401, "Unauthorized")
    assert response.http_version == "HTTP/1.1"
    assert response.content_type == "application/json"
    assert json.loads(response.body) == why
    assert ("www-authenticate", 'Bearer error="invalid_token"') in response.headers
    assert response.complete and response.size == len(response.raw)
    assert len(raw_server.connections) == 1


def test_a_500_html_page_is_decoded_by_its_charset(raw_server: RawServer) -> None:
    page = "<html><body><h1>Erreur interne</h1><p>Café fermé</p></body></html>"
    raw_server.add(
        respond(
            500,
            page.encode("latin-1"),
            content_type="text/html; charset=iso-8859-1",
        )
    )
    response = _closed_response(run(collect(options(raw_server.url()))))
    assert response.status == 500
    assert response.body == page
    assert response.raw == page.encode("latin-1")


def test_a_200_html_page_is_kept_with_its_status(raw_server: RawServer) -> None:
    raw_server.add(respond(200, b"<html>login</html>", content_type="text/html"))
    records = run(collect(options(raw_server.url())))
    closed = records[-1]
    assert isinstance(closed, Closed) and closed.failed
    assert closed.response is not None
    assert (closed.response.status, closed.response.body) == (200, "<html>login</html>")
    assert closed.response.content_type == "text/html"


def test_a_70_kb_body_keeps_64_kib_and_counts_the_rest(raw_server: RawServer) -> None:
    body = ("é" * 35_000).encode()  # 70,000 bytes, two per character
    raw_server.add(respond(502, body, content_type="text/plain; charset=utf-8"))
    response = _closed_response(run(collect(options(raw_server.url()))))
    assert len(response.raw) == KEEP_BYTES == 65_536
    assert response.size == 70_000 and response.complete
    assert response.body == "é" * (KEEP_BYTES // 2)  # no half character at the cut


def test_a_status_it_reconnects_on_is_kept_on_reconnecting(
    raw_server: RawServer,
) -> None:
    raw_server.add(
        respond(503, b'{"retry": "soon"}', content_type="application/json"),
        sse(b"data: a\n\n"),
    )
    opts = options(raw_server.url(), reconnect_on_status=frozenset({503}), count=1)
    records = run(collect(opts))
    (reconnecting,) = of(records, Reconnecting)
    assert reconnecting.response is not None
    assert reconnecting.response.body == '{"retry": "soon"}'
    opened = of(records, Open)[0]
    assert opened.redirects == ()


def test_the_error_response_says_the_redirects_that_led_to_it(
    raw_server: RawServer,
) -> None:
    raw_server.add(
        redirect(302, "/login"),
        respond(404, b"no such stream", content_type="text/plain"),
    )
    response = _closed_response(run(collect(options(raw_server.url("/start")))))
    assert [(hop.status, hop.location) for hop in response.redirects] == [
        (302, "/login")
    ]
    assert response.url == raw_server.url("/login")
