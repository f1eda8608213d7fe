"""A page on one loopback alias of the server reads streams on another (CORS).

Browsers pool ``localhost:PORT`` and ``127.0.0.1:PORT`` apart, so the pool page
(``/api/lab/pool``) reports on one while it exhausts the other; the other must
then answer its cross-origin requests, and let Resource Timing show their protocol.
"""

from __future__ import annotations

import httpx

from children import start_child, stop_child


def test_own_loopback_origins_get_cors_and_timing_allow() -> None:
    child = start_child(("--lab",))
    try:
        assert child.url is not None
        port = child.port
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            own = client.get(
                "/api/info", headers={"Origin": f"http://localhost:{port}"}
            )
            foreign = client.get("/api/info", headers={"Origin": "http://evil.test"})
            page = client.get("/api/lab/pool")
        assert own.headers["access-control-allow-origin"] == f"http://localhost:{port}"
        assert f"http://localhost:{port}" in own.headers["timing-allow-origin"]
        assert "access-control-allow-origin" not in foreign.headers
        assert page.status_code == 200
        assert "new EventSource" in page.text
    finally:
        stop_child(child)
