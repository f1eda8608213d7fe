"""``python -m server`` as a child: READY line, SIGTERM, --watch-stdin, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from server.__main__ import main

if TYPE_CHECKING:
    from collections.abc import Iterator


def spawn(
    *args: str, env: dict[str, str] | None = None, stderr: int = subprocess.DEVNULL
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, **(env or {})},
    )


def ready_url(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("READY http://127.0.0.1:"), line
    assert line.endswith("\n") and line.count(" ") == 1
    return line.split()[1]


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def test_ready_line_then_sigterm_closes_streams_and_exits(
    children: list[subprocess.Popen[str]],
) -> None:
    child = spawn("--ping", "30")
    children.append(child)
    url = ready_url(child)
    with httpx.Client(base_url=url) as client:
        info = client.get("/api/info").json()
        assert info["features"] == {"jobs": True, "lab": False, "token_required": False}
        assert client.post("/api/lab/drop").status_code == 404  # lab off by default
        with client.stream("GET", "/api/events") as r:
            lines = r.iter_lines()
            assert next(lines) == "retry: 3000"
            started = time.monotonic()
            child.send_signal(signal.SIGTERM)
            rest = list(lines)
        assert ": server shutting down" in rest
        # uvicorn re-raises the signal after its graceful shutdown, as it should.
        assert child.wait(timeout=5) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 3
    assert child.stdout is not None
    assert child.stdout.read() == ""  # exactly one line on stdout


def test_watch_stdin_exits_when_the_launcher_goes_away(
    children: list[subprocess.Popen[str]],
) -> None:
    child = spawn("--lab", "--watch-stdin")
    children.append(child)
    url = ready_url(child)
    assert httpx.get(f"{url}/api/info").json()["features"]["lab"] is True
    assert child.stdin is not None
    child.stdin.close()
    assert child.wait(timeout=5) == 0


def test_log_level_quiets_the_access_log(children: list[subprocess.Popen[str]]) -> None:
    loud = spawn("--watch-stdin", stderr=subprocess.PIPE)
    quiet = spawn("--watch-stdin", "--log-level", "warning", stderr=subprocess.PIPE)
    children.extend((loud, quiet))
    logs = []
    for child in (loud, quiet):
        url = ready_url(child)
        assert (
            httpx.get(f"{url}/api/jobs", params={"access_token": "x"}).status_code
            == 200
        )
        assert child.stdin is not None and child.stderr is not None
        child.stdin.close()
        child.wait(timeout=5)
        logs.append(child.stderr.read())
        child.stderr.close()
    assert '"path":"/api/jobs?access_token=***"' in logs[0]
    assert "server.access" not in logs[1]


def test_token_from_the_environment(children: list[subprocess.Popen[str]]) -> None:
    child = spawn(env={"SSE_VIEWER_TOKEN": "envtok"})
    children.append(child)
    url = ready_url(child)
    assert httpx.get(f"{url}/api/info").status_code == 401
    ok = httpx.get(f"{url}/api/info", headers={"Authorization": "Bearer envtok"})
    assert ok.status_code == 200


def test_refuses_a_public_bind_without_a_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSE_VIEWER_TOKEN", raising=False)
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "--token" in err and "--no-token" in err


def test_rejects_bad_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
