"""The raw test server does what the engine tests rely on."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from rawserver import (
    Close,
    Hang,
    RawServer,
    Reset,
    free_port,
    redirect,
    respond,
    split,
    sse,
)


def test_scripted_chunks_arrive_as_separate_reads_and_request_is_logged() -> None:
    script = (*sse(end=Hang(0))[:-1], *split(b"data: a\n", b"\ndata: b\n\n"), Close())
    with RawServer([script]) as server, httpx.Client() as client:
        with client.stream(
            "GET", server.url("/s?x=1"), headers={"Last-Event-ID": "7"}
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            chunks = list(response.iter_raw())
        assert chunks == [b"data: a\n", b"\ndata: b\n\n"]
        (conn,) = server.wait_connections(1)
        assert conn.request is not None
        assert conn.request.method == "GET"
        assert conn.request.path == "/s"
        assert conn.request.target == "/s?x=1"
        assert conn.request.header("LAST-EVENT-ID") == "7"
        assert conn.request.header("x-absent") is None


def test_reset_is_a_network_error_for_the_client() -> None:
    with (
        RawServer([(Reset(),)]) as server,
        httpx.Client() as client,
        pytest.raises(httpx.TransportError),
    ):
        client.get(server.url())


def test_reset_mid_body_is_a_read_error() -> None:
    script = sse(b"data: a\n\n", end=Reset())
    with (
        RawServer([script]) as server,
        httpx.Client() as client,
        pytest.raises(httpx.TransportError),
        client.stream("GET", server.url()) as response,
    ):
        for _ in response.iter_raw():
            time.sleep(0.05)


def test_hang_notices_the_client_closing() -> None:
    with RawServer([sse(b"data: a\n\n", end=Hang())]) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while b"data: a" not in received:
                more = s.recv(4096)
                assert more, received
                received += more
            closed_at = time.monotonic()
        conn = server.wait_closed(0, timeout=2)
        assert conn.client_closed is not None
        assert conn.client_closed - closed_at < 0.5


def test_responses_redirects_and_post_bodies() -> None:
    scripts = [redirect(307, "/next"), respond(500, b"boom")]
    with RawServer(scripts) as server, httpx.Client(follow_redirects=True) as client:
        response = client.post(server.url("/first"), content=b"hello")
        assert response.status_code == 500
        assert response.text == "boom"
        first, second = server.requests
        assert (first.method, first.path, first.body) == ("POST", "/first", b"hello")
        assert (second.method, second.path, second.body) == ("POST", "/next", b"hello")


def test_free_port_refuses() -> None:
    with pytest.raises(httpx.ConnectError), httpx.Client() as client:
        client.get(f"http://127.0.0.1:{free_port()}/")


def test_default_script_applies_when_scripts_run_out() -> None:
    with RawServer([respond(204)], default=respond(503)) as server:
        with httpx.Client() as client:
            assert client.get(server.url()).status_code == 204
            assert client.get(server.url()).status_code == 503
            assert client.get(server.url()).status_code == 503
        assert len(server.connections) == 3
