"""``sse-viewer doctor``: exit status, JSON and HTML output, server text made safe.

Run in-process through desktop.cli.main (the command as a user types it) against
scripted servers on 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from desktop.cli import main

from rawserver import Hang, RawServer, sse

if TYPE_CHECKING:
    from pathlib import Path

# No ids: every connection plays the same script, which could not resume.
GOOD = sse(
    b"retry: 500\n\n",
    b"data: a\n\n",
    b"data: b\n\n",
    pause=0.05,
    end=Hang(5),
    headers=[("X-Accel-Buffering", "no")],
)


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["doctor", "--duration", "1", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lists_every_check_with_id_and_status_and_exit_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with RawServer(default=GOOD) as server:
        code, out, _ = doctor(capsys, server.url(), "--format", "json")
    document = json.loads(out)
    statuses = {c["id"]: c["status"] for c in document["checks"]}
    assert code == 0 and document["exit"] == 0
    assert statuses["response.status"] == "pass"
    assert "fail" not in statuses.values()
    assert statuses["response.cache-control"] == "warn"  # no-cache, no no-transform
    assert statuses["reconnect.resume"] == "not-applicable"  # no ids
    assert document["summary"]["warn"] >= 1


def test_fail_on_warn_makes_a_warning_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with RawServer(default=GOOD) as server:
        started = time.monotonic()
        code = main(
            ["doctor", server.url(), "--check", "response", "--fail-on", "warn"]
        )
        took = time.monotonic() - started
        out = capsys.readouterr().out
        requests = len(server.requests)
    assert code == 1
    # Only the response's checks: no watch of 20 s, one request.
    assert took < 10 and requests == 1
    assert "WARN  Cache-Control [response.cache-control]" in out
    assert "timing.first-event" not in out  # --check response: only those


def test_a_failed_check_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    wrong = sse(b"data: a\n\n", content_type="text/html")
    with RawServer(default=wrong) as server:
        code, out, _ = doctor(capsys, server.url())
    assert code == 1
    assert "FAIL  Content-Type: text/event-stream [response.content-type]" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--check", "nonsense"],
        ["--duration", "0"],
        ["--key", "k.pem"],
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["doctor", "http://127.0.0.1:9/", *args])
    assert exited.value.code == 2
    assert "sse-viewer doctor" in capsys.readouterr().err


def test_server_text_is_escaped_in_text_and_html(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hostile = sse(
        b"retry: 500\n\n",
        b"id: <b>1</b>\x1b[31m\ndata: a\n\n",
        b"id: <b>1</b>\x1b[31m\ndata: b\n\n",
        b"id: 2\ndata: c\n\n",
        b"id: <b>1</b>\x1b[31m\ndata: d\n\n",
        pause=0.05,
        end=Hang(5),
    )
    page = tmp_path / "card.html"
    with RawServer(default=hostile) as server:
        code, out, _ = doctor(
            capsys, server.url(), "--check", "reconnect.ids", "--html", str(page)
        )
    assert code == 0
    assert "\x1b" not in out and "\\x1b" in out
    html = page.read_text()
    assert "<b>1</b>" not in html and "&lt;b&gt;1&lt;/b&gt;" in html
    assert "reconnect.ids" in html and "came twice" in html
    assert "<script" not in html and "src=" not in html and "href=" not in html
