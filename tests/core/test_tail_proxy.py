"""``sse-viewer tail``: proxies from its environment and options, and HTTP/2.

The environment is the child's own (``env=``), never this process's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from proxies import free_port, h2_server, tinyproxy

SSE_VIEWER = Path(sys.executable).parent / "sse-viewer"


def jtail(*args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    child_env = {
        k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")
    }
    child_env.update(env or {})
    proc = subprocess.run(
        [str(SSE_VIEWER), "tail", "--format", "json", *args],
        capture_output=True,
        timeout=20,
        env=child_env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert b"Traceback" not in proc.stderr, proc.stderr
    return [orjson.loads(line) for line in proc.stdout.splitlines()]


def states(records: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("state") == state]


def test_a_corporate_proxy_in_the_environment_does_not_break_loopback(
    tmp_path: Path,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"HTTP_PROXY": dead, "http_proxy": dead, "ALL_PROXY": dead}
    with h2_server(tmp_path, tls=False) as server:
        records = jtail("--count", "2", server.url, env=env)
    assert len([r for r in records if r["type"] == "event"]) == 2
    assert "proxy" not in states(records, "connecting")[0]


def test_proxy_option_is_shown_masked_and_noproxy_ignores_the_environment(
    tmp_path: Path,
) -> None:
    with (
        h2_server(tmp_path, tls=False) as server,
        tinyproxy(tmp_path, auth="bob:hunter2") as proxy,
    ):
        secret = proxy.replace("http://", "http://bob:hunter2@")
        records = jtail("--count", "1", "--proxy", secret, server.url)
        # loopback is never proxied by the environment; --noproxy agrees
        direct = jtail(
            "--count", "1", "--noproxy", server.url, env={"HTTP_PROXY": proxy}
        )
    connecting = states(records, "connecting")[0]
    assert connecting["proxy"] == proxy.replace("http://", "http://bob:••••••••@")
    assert b"hunter2" not in orjson.dumps(records)
    assert len([r for r in records if r["type"] == "event"]) == 1
    assert "proxy" not in states(direct, "connecting")[0]


def test_http_version_in_the_open_record(tmp_path: Path) -> None:
    with h2_server(tmp_path) as server:
        h2 = jtail("-k", "--count", "1", server.url)
        h1 = jtail("-k", "--http1.1", "--count", "1", server.url)
    assert states(h2, "open")[0]["http_version"] == "HTTP/2"
    assert states(h1, "open")[0]["http_version"] == "HTTP/1.1"


def test_help_documents_the_options() -> None:
    out = subprocess.run(
        [str(SSE_VIEWER), "tail", "--help"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    for option in ("--proxy URL", "--noproxy", "--http1.1"):
        assert option in out
