"""``sse-viewer tail``: its JSON contract, black-box, through a subprocess.

The contract is written down in ARCHITECTURE.md, "The tail --format json contract";
``check_records`` is its executable form.

Every run's NDJSON output goes through one validator (``check_records``) for the
record order rules; each test then asserts its own option or detail.  The raw
server scripts the bytes; the console script runs as users run it.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from procstatus import status_kib
from rawserver import (
    Hang,
    Pause,
    RawServer,
    Reset,
    Send,
    free_port,
    head,
    redirect,
    respond,
    sse,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

SSE_VIEWER = Path(sys.executable).parent / "sse-viewer"
MIB = 1 << 20

Rec = dict[str, Any]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Flushing must be the program's doing, and colour its own decision.
    for name in ("PYTHONUNBUFFERED", "FORCE_COLOR", "CLICOLOR_FORCE", "NO_COLOR"):
        env.pop(name, None)
    return env


# -- the one validator ---------------------------------------------------------

STATES = {"connecting", "open", "reconnecting", "closed"}


def check_records(records: Sequence[Rec]) -> None:
    """The record types, keys and order rules of the contract in ARCHITECTURE.md."""
    assert records, "no records"
    for r in records:
        assert isinstance(r, dict), r
        assert r.get("type") in ("state", "event", "error"), f"other record type: {r}"
        if r["type"] == "state":
            assert r.get("state") in STATES, r
    first = records[0]
    assert (first["type"], first.get("state"), first.get("attempt")) == (
        "state",
        "connecting",
        1,
    ), first
    closed = [i for i, r in enumerate(records) if r.get("state") == "closed"]
    assert closed == [len(records) - 1], "exactly one closed, last"
    assert isinstance(records[-1].get("reason"), str), records[-1]

    phase = None  # state of the previous state record
    attempt = 0
    opened_since_connecting = False
    for i, r in enumerate(records):
        prev = records[i - 1] if i else None
        if r["type"] == "event":
            assert phase == "open", f"event while {phase}: {r}"
            for key in ("event", "data", "id"):
                assert isinstance(r.get(key), str), r
        elif r["type"] == "error":
            assert isinstance(r.get("message"), str), r
            assert r["message"], r
        elif r["state"] == "connecting":
            assert type(r.get("attempt")) is int, r
            assert isinstance(r.get("url"), str), r
            if i:
                assert prev is not None
                assert prev.get("state") == "reconnecting", f"connecting after {prev}"
                allowed = {attempt + 1} | ({1} if opened_since_connecting else set())
                assert r["attempt"] in allowed, (r, attempt)
            attempt = r["attempt"]
            opened_since_connecting = False
            phase = "connecting"
        elif r["state"] == "open":
            assert prev is not None
            assert prev.get("state") == "connecting", f"open after {prev}"
            assert r.get("status") == 200, r
            opened_since_connecting = True
            phase = "open"
        elif r["state"] == "reconnecting":
            assert phase in ("connecting", "open"), f"reconnecting while {phase}"
            assert type(r.get("delay_ms")) is int, r
            assert r["delay_ms"] >= 0, r
            assert isinstance(r.get("reason"), str), r
            nxt = records[i + 1] if i + 1 < len(records) else None
            assert nxt is not None, "reconnecting cannot be last"
            assert nxt.get("state") in ("connecting", "closed"), (
                f"after reconnecting: {nxt}"
            )
            phase = "reconnecting"
        else:
            phase = "closed"


def parse(stdout: str) -> list[Rec]:
    """NDJSON: records separated by LF only (str.splitlines would also cut at
    U+2028, U+0085 or U+001C, which JSON strings may hold raw)."""
    lines = stdout.split("\n")
    assert lines[-1] == "", "the last record must end with a line feed"
    records = []
    for line in lines[:-1]:
        assert line.strip(), "blank line in NDJSON output"
        records.append(json.loads(line))
    return records


# -- running tail --------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    records: list[Rec] = field(default_factory=list)
    elapsed: float = 0.0

    def states(self) -> list[str]:
        return [r.get("state", r["type"]) for r in self.records]

    def events(self) -> list[tuple[str, str, str]]:
        return [
            (r["event"], r["data"], r["id"])
            for r in self.records
            if r["type"] == "event"
        ]

    def of(self, state: str) -> list[Rec]:
        return [r for r in self.records if r.get("state") == state]

    def assert_failure_reported(self) -> None:
        assert self.returncode == 1, self
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, f"one line on stderr, got {self.stderr!r}"
        assert "Traceback" not in self.stderr


def tail(*args: str, timeout: float = 20.0) -> Run:
    """Run ``sse-viewer tail ARGS`` to completion; NDJSON output is validated."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(SSE_VIEWER), "tail", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    run = Run(
        proc.returncode, proc.stdout, proc.stderr, elapsed=time.monotonic() - started
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    if "json" in args:
        run.records = parse(proc.stdout)
        check_records(run.records)
    return run


def jtail(*args: str, timeout: float = 20.0) -> Run:
    return tail("--format", "json", *args, timeout=timeout)


class LiveTail:
    """A running ``tail --format json``: read records as they are flushed."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(SSE_VIEWER), "tail", "--format", "json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=_env(),
        )
        self.lines: queue.Queue[tuple[float, bytes | None]] = queue.Queue()
        self.seen: list[Rec] = []
        self.stderr = b""
        self._out = threading.Thread(target=self._read_out, daemon=True)
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._out.start()
        self._err.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line))
        self.lines.put((time.monotonic(), None))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def expect(
        self, predicate: Callable[[Rec], bool], timeout: float = 10.0
    ) -> tuple[float, Rec]:
        """The first record (and its arrival time) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no matching record within {timeout} s: {self.seen}"
                )
            try:
                at, line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(
                    f"tail ended before a matching record: {self.seen}"
                )
            record = json.loads(line)
            self.seen.append(record)
            if predicate(record):
                return at, record

    def interrupt(self, timeout: float = 5.0) -> Run:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        returncode = self.proc.wait(timeout)
        elapsed = time.monotonic() - started
        return self.finish(returncode, elapsed)

    def finish(self, returncode: int | None = None, elapsed: float = 0.0) -> Run:
        if returncode is None:
            returncode = self.proc.wait(10)
        self._out.join(5)
        self._err.join(5)
        while True:
            try:
                _, line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.seen.append(json.loads(line))
        stderr = self.stderr.decode(errors="replace")
        assert "Traceback" not in stderr, stderr
        check_records(self.seen)
        return Run(returncode, "", stderr, records=self.seen, elapsed=elapsed)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> LiveTail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_event(data: str) -> Callable[[Rec], bool]:
    return lambda r: r["type"] == "event" and r["data"] == data


def is_state(state: str) -> Callable[[Rec], bool]:
    return lambda r: r.get("state") == state


# -- the command ---------------------------------------------------------------


def test_console_script_is_installed_and_documents_the_options() -> None:
    assert SSE_VIEWER.exists(), f"{SSE_VIEWER} missing: is the project installed?"
    run = tail("--help")
    assert run.returncode == 0
    for option in (
        "-H",
        "--header",
        "--last-event-id",
        "--retry",
        "--max-attempts",
        "--no-reconnect",
        "--no-resume",
        "--close-on",
        "--count",
        "--format",
        "--max-event-bytes",
        "--notices",
    ):
        assert option in run.stdout, option


# -- records -------------------------------------------------------------------


def test_record_shapes_and_request(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"id: 1\ndata: a\n\nevent: add\ndata: b\ndata: c\n\n", end=Hang()),
    )
    url = raw_server.url("/stream?x=1")
    run = jtail(url, "--count", "2")
    assert run.returncode == 0, run
    connecting, opened, e1, e2, closed = run.records
    assert (connecting["type"], connecting["state"]) == ("state", "connecting")
    assert (connecting["attempt"], connecting["url"]) == (1, url)
    assert (opened["type"], opened["state"], opened["status"]) == ("state", "open", 200)
    assert (e1["type"], e1["event"], e1["data"], e1["id"]) == (
        "event",
        "message",
        "a",
        "1",
    )
    assert (e2["type"], e2["event"], e2["data"], e2["id"]) == (
        "event",
        "add",
        "b\nc",
        "1",
    )
    assert (closed["type"], closed["state"]) == ("state", "closed")
    (request,) = raw_server.requests
    assert request.method == "GET"
    assert request.target == "/stream?x=1"
    assert request.header("Accept") == "text/event-stream"
    assert request.header("Cache-Control") in ("no-cache", "no-store")
    assert request.header("Last-Event-ID") is None


def test_spec_rules_end_to_end(raw_server: RawServer) -> None:
    body = (
        b"\xef\xbb\xbfdata: bom\r\r"  # BOM stripped, CR line ends
        b": ping\n\n"  # a comment block: no event, no record
        b"id: 5\ndata: x\xffy\n\n"  # invalid UTF-8 -> U+FFFD
        b": ping\n\n"  # after an id: still no event (httpx-sse would emit one)
        b"retry: 10\n\n"  # retry-only block: no event
        b"id: 6\x00\ndata:  two spaces\r\n\r\n"  # NUL id ignored, one space stripped
        b"event\ndata\n\n"  # empty type -> message, empty data
        b"id\nevent: t\ndata: last\n\n"  # empty id resets
    )
    raw_server.add(sse(body[:17], body[17:40], body[40:], pause=0.02, end=Hang()))
    run = jtail(raw_server.url(), "--count", "5")
    assert run.returncode == 0, run
    assert run.events() == [
        ("message", "bom", ""),
        ("message", "x\ufffdy", "5"),
        ("message", " two spaces", "5"),
        ("message", "", "5"),
        ("t", "last", ""),
    ]


def test_unfinished_event_at_end_of_stream_is_discarded(raw_server: RawServer) -> None:
    raw_server.add(sse(b"id: 1\ndata: a\n\nid: 2\ndata: partial\n"))
    run = jtail(raw_server.url(), "--no-reconnect")
    assert run.returncode == 0, run
    assert run.events() == [("message", "a", "1")]


def test_notices_stay_out_of_json_and_print_in_text_when_asked(
    raw_server: RawServer,
) -> None:
    body = b"retry: 5s\n\nevent: done\n\ndata: a\n\ndata: cut"
    for _ in range(3):
        raw_server.add(sse(body))
    run = jtail(raw_server.url(), "--no-reconnect")
    assert run.returncode == 0, run
    assert {r["type"] for r in run.records} == {"state", "event"}
    assert run.events() == [("message", "a", "")]
    plain = tail(raw_server.url(), "--no-reconnect", "--color", "never")
    assert plain.returncode == 0, plain
    assert "note" not in plain.stderr
    noted = tail(raw_server.url(), "--no-reconnect", "--color", "never", "--notices")
    assert noted.returncode == 0, noted
    assert plain.stdout.endswith(" message a\n")
    assert noted.stdout.endswith(" message a\n")
    notes = [line for line in noted.stderr.splitlines() if " note (" in line]
    assert [line.split(" note (")[1].split(")")[0] for line in notes] == [
        "retry-ignored",
        "no-data",
        "discarded",
    ]
    assert "retry: '5s' is not all ASCII digits: ignored" in notes[0]


def test_a_rule_broken_on_every_event_prints_a_few_notices_then_a_count(
    raw_server: RawServer,
) -> None:
    from desktop.core.insight.notice_cap import NOTICES_PER_KIND

    every = b"".join(b"retry: 1s\ndata: %d\n\n" % i for i in range(40))
    raw_server.add(sse(every), sse(every))
    more = f"\N{HORIZONTAL ELLIPSIS} and {40 - NOTICES_PER_KIND} more"
    args = ("--retry", "10", "--color", "never", "--notices")

    def held_lines(lines: list[str]) -> list[int]:
        return [
            i
            for i, line in enumerate(lines)
            if line.endswith(f" {more} retry-ignored notices")
        ]

    noted = tail(raw_server.url(), "--max-attempts", "1", *args)
    assert noted.returncode == 1, noted  # one reconnection allowed, then failed
    assert noted.stdout.count(" message ") == 80
    lines = noted.stderr.splitlines()
    notes = [line for line in lines if " note (retry-ignored): " in line]
    assert len(notes) == 2 * NOTICES_PER_KIND, noted.stderr
    # One line at each connection's end, before the line that says it ended.
    held = held_lines(lines)
    assert len(held) == 2, noted.stderr
    assert all("reconnecting in" in lines[i + 1] for i in held), noted.stderr
    raw_server.add(sse(every))
    once = tail(raw_server.url(), "--no-reconnect", *args)
    assert once.returncode == 0, once
    lines = once.stderr.splitlines()
    (held_at,) = held_lines(lines)
    assert " closed: " in lines[held_at + 1], once.stderr
    # The JSON format has no notice record at all (the contract), capped or not.
    raw_server.add(sse(every))
    run = jtail(raw_server.url(), "--no-reconnect")
    assert {r["type"] for r in run.records} == {"state", "event"}


def test_event_stream_content_type_parameters_are_allowed(
    raw_server: RawServer,
) -> None:
    raw_server.add(
        sse(b"data: a\n\n", content_type="text/event-stream; charset=utf-8", end=Hang())
    )
    run = jtail(raw_server.url(), "--count", "1")
    assert run.returncode == 0, run
    assert run.states() == ["connecting", "open", "event", "closed"]


def test_ndjson_lines_survive_unicode_line_separators(raw_server: RawServer) -> None:
    data = 'a\u2028b\u2029c\x85d\x1ce\x0bf\x0cg"h\\i'
    raw_server.add(sse(("data: " + data + "\n\n").encode(), end=Hang()))
    run = jtail(raw_server.url(), "--count", "1")
    assert run.events() == [("message", data, "")]


def test_error_record_is_flushed_while_the_server_is_quiet(
    raw_server: RawServer,
) -> None:
    raw_server.add(sse(b"data: " + b"x" * 3000 + b"\n\n", end=Hang()))
    with LiveTail(raw_server.url(), "--max-event-bytes", "1000") as live:
        live.expect(lambda r: r["type"] == "error")
        run = live.interrupt()
    assert run.returncode == 0
    assert [r["type"] for r in run.records].count("error") == 1


def test_ctrl_c_in_text_mode(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: hello\n\n", end=Hang()))
    proc = subprocess.Popen(
        [str(SSE_VIEWER), "tail", raw_server.url()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        assert b"hello" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=5)
        assert proc.returncode == 0
        assert b"Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)


def test_no_reconnect_after_reset_mid_stream_exits_1(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n", end=Reset()))
    run = jtail(raw_server.url(), "--no-reconnect")
    run.assert_failure_reported()
    assert run.states() == ["connecting", "open", "event", "closed"]


def test_records_are_flushed_while_waiting_and_ctrl_c_closes(
    raw_server: RawServer,
) -> None:
    raw_server.add(
        (Send(head()), Pause(1.0), Send(b"id: 1\ndata: first\n\n"), Hang()),
    )
    with LiveTail(raw_server.url()) as live:
        open_at, _ = live.expect(is_state("open"))
        event_at, _ = live.expect(is_event("first"))
        # The open record was out while the server paused before the event.
        assert event_at - open_at > 0.5
        time.sleep(0.2)
        run = live.interrupt()
    assert run.returncode == 0
    assert run.records[-1]["state"] == "closed"
    assert run.elapsed < 3
    assert raw_server.wait_closed(0, timeout=2).client_closed is not None


def test_ctrl_c_during_the_reconnect_wait(raw_server: RawServer) -> None:
    """Also: the default reconnection time is 3000 ms."""
    raw_server.add(sse(b"data: a\n\n"))
    with LiveTail(raw_server.url()) as live:
        _, rec = live.expect(is_state("reconnecting"))
        assert rec["delay_ms"] == 3000
        run = live.interrupt()
    assert run.returncode == 0
    assert run.states()[-2:] == ["reconnecting", "closed"]
    assert run.elapsed < 2
    assert len(raw_server.connections) == 1


def test_ctrl_c_while_connecting(raw_server: RawServer) -> None:
    raw_server.add((Hang(),))  # never answers
    with LiveTail(raw_server.url()) as live:
        live.expect(is_state("connecting"))
        raw_server.wait_connections(1)
        run = live.interrupt()
    assert run.returncode == 0
    assert run.states() == ["connecting", "closed"]


# -- options -------------------------------------------------------------------


def test_header_option_is_repeatable_and_sent_on_reconnects(
    raw_server: RawServer,
) -> None:
    raw_server.add(sse(b"data: a\n\n"), sse(b"data: b\n\n", end=Hang()))
    run = jtail(
        raw_server.url(),
        "-H",
        "X-One: 1",
        "--header",
        "Authorization: Bearer s3cret",
        "--retry",
        "20",
        "--count",
        "2",
    )
    assert run.returncode == 0, run
    assert len(raw_server.requests) == 2
    for request in raw_server.requests:
        assert request.header("X-One") == "1"
        assert request.header("Authorization") == "Bearer s3cret"
        assert request.header("Accept") == "text/event-stream"


def test_last_event_id_option(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"data: a\n\nid: 8\ndata: b\n\n"),
        sse(b"data: c\n\n", end=Hang()),
    )
    run = jtail(
        raw_server.url(), "--last-event-id", "X", "--retry", "20", "--count", "3"
    )
    assert run.returncode == 0, run
    assert run.events() == [
        ("message", "a", "X"),
        ("message", "b", "8"),
        ("message", "c", "8"),
    ]
    assert [r.header("Last-Event-ID") for r in raw_server.requests] == ["X", "8"]


def test_last_event_id_not_sent_after_an_empty_id(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"id: 4\ndata: a\n\nid:\ndata: b\n\n"),
        sse(b"data: c\n\n", end=Hang()),
    )
    run = jtail(
        raw_server.url(), "--last-event-id", "X", "--retry", "20", "--count", "3"
    )
    assert run.returncode == 0, run
    assert [r.header("Last-Event-ID") for r in raw_server.requests] == ["X", None]


def test_retry_option_then_server_retry_timing(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"data: a\n\n"),
        sse(b"retry: 150\ndata: b\n\n"),
        sse(b"data: c\n\n", end=Hang()),
    )
    run = jtail(raw_server.url(), "--retry", "60", "--count", "3")
    assert run.returncode == 0, run
    assert [r["delay_ms"] for r in run.of("reconnecting")] == [60, 150]
    assert [r["attempt"] for r in run.of("connecting")] in ([1, 2, 3], [1, 1, 1])
    c = raw_server.connections
    for before, after, delay in ((c[0], c[1], 0.060), (c[1], c[2], 0.150)):
        assert before.ended is not None
        gap = after.arrived - before.ended
        assert delay - 0.010 <= gap <= delay + 0.300, (delay, gap)


def test_invalid_server_retry_is_ignored(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"retry: -5\ndata: a\n\nretry:  7\ndata: b\n\n"),
        sse(b"data: c\n\n", end=Hang()),
    )
    run = jtail(raw_server.url(), "--retry", "40", "--count", "3")
    assert [r["delay_ms"] for r in run.of("reconnecting")] == [40]


def test_max_attempts_with_a_refusing_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/stream"
    run = jtail(url, "--max-attempts", "2", "--retry", "10")
    run.assert_failure_reported()
    assert [r["attempt"] for r in run.of("connecting")] == [1, 2, 3]
    assert all(r["url"] == url for r in run.of("connecting"))
    assert [r["delay_ms"] for r in run.of("reconnecting")][:2] == [10, 10]
    assert run.of("open") == []
    assert run.states()[-1] == "closed"


def test_max_attempts_count_restarts_after_an_open(raw_server: RawServer) -> None:
    ok = sse(b"data: a\n\n")
    drop = (Reset(),)
    raw_server.add(drop, ok, drop, ok, drop, drop, drop, drop)
    run = jtail(raw_server.url(), "--max-attempts", "2", "--retry", "10")
    run.assert_failure_reported()
    # 1 fails; 2 opens; 3 fails (1 of 2); 4 opens; 5, 6 fail (2 of 2): closed.
    assert len(run.of("connecting")) == 6
    assert len(run.of("open")) == 2
    assert len(raw_server.connections) == 6


def test_no_reconnect_after_server_close_exits_0(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n"))
    run = jtail(raw_server.url(), "--no-reconnect", "--retry", "10")
    assert run.returncode == 0, run
    assert run.states() == ["connecting", "open", "event", "closed"]
    time.sleep(0.1)
    assert len(raw_server.connections) == 1


def test_no_reconnect_after_network_error_exits_1() -> None:
    run = jtail(f"http://127.0.0.1:{free_port()}/", "--no-reconnect", "--retry", "10")
    run.assert_failure_reported()
    assert run.states() == ["connecting", "closed"]


def test_close_on_is_repeatable_and_prints_the_event(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"data: a\n\nevent: stop\ndata: s\n\nevent: end\ndata: e\n\n", end=Hang())
    )
    run = jtail(raw_server.url(), "--close-on", "end", "--close-on", "stop")
    assert run.returncode == 0, run
    assert run.events() == [("message", "a", ""), ("stop", "s", "")]
    assert run.states()[-1] == "closed"
    assert raw_server.wait_closed(0, timeout=2).client_closed is not None


def test_count_closes_after_n_events(raw_server: RawServer) -> None:
    raw_server.add(sse(b"".join(b"data: %d\n\n" % i for i in range(10)), end=Hang()))
    run = jtail(raw_server.url(), "--count", "4")
    assert run.returncode == 0, run
    assert [d for _, d, _ in run.events()] == ["0", "1", "2", "3"]


def test_oversized_event_is_one_error_and_never_printed(raw_server: RawServer) -> None:
    big = b"data: " + b"x" * 5000 + b"\ndata: tail\n\n"
    raw_server.add(
        sse(b"data: a\n\n", big[:2000], big[2000:], b"data: ok\n\n", end=Hang())
    )
    run = jtail(raw_server.url(), "--max-event-bytes", "1000", "--count", "2")
    assert run.returncode == 0, run
    assert [r["type"] for r in run.records].count("error") == 1
    assert run.events() == [("message", "a", ""), ("message", "ok", "")]
    assert "xxxxxxxxxx" not in run.stdout


def test_oversized_line_keeps_memory_bounded(raw_server: RawServer) -> None:
    """A 100 MB line without a line end: one error record, RSS < 50 MB above start."""
    block = Send(b"x" * MIB)
    script = (
        Send(head()),
        Send(b"data: "),
        *([block] * 100),
        Send(b"\n\ndata: ok\n\n"),
        Hang(),
    )
    raw_server.add(script)
    with LiveTail(raw_server.url()) as live:
        live.expect(is_state("open"))
        start_kib = status_kib(live.proc.pid, "VmRSS")
        live.expect(is_event("ok"), timeout=40)
        peak_kib = status_kib(live.proc.pid, "VmHWM")
        run = live.interrupt()
    assert run.returncode == 0
    assert [r["type"] for r in run.records].count("error") == 1
    assert (peak_kib - start_kib) < 50 * 1024, (
        f"grew {(peak_kib - start_kib) // 1024} MB"
    )


def test_non_ascii_id_is_sent_as_utf8_on_reconnect(raw_server: RawServer) -> None:
    raw_server.add(
        sse("id: café\ndata: a\n\n".encode()),
        sse(b"data: b\n\n", end=Hang()),
    )
    run = jtail(raw_server.url(), "--retry", "10", "--count", "2")
    assert run.returncode == 0, run
    assert run.events() == [("message", "a", "café"), ("message", "b", "café")]
    sent = raw_server.requests[1].header("Last-Event-ID")
    assert sent is not None
    assert sent.encode("latin-1") == "café".encode()


def test_huge_valid_retry_is_not_a_crash(raw_server: RawServer) -> None:
    """All ASCII digits is a valid retry, however large; tail must print it."""
    raw_server.add(sse(b"retry: 99999999999999999999\ndata: a\n\n"))
    with LiveTail(raw_server.url()) as live:
        live.expect(is_state("reconnecting"))
        run = live.interrupt()
    assert run.returncode == 0
    assert run.states()[-2:] == ["reconnecting", "closed"]


def test_undecodable_body_is_one_stderr_line(raw_server: RawServer) -> None:
    bad = sse(b"data: a\n\n", headers=[("Content-Encoding", "gzip")])
    raw_server.add(bad, bad, bad)
    run = jtail(raw_server.url(), "--max-attempts", "1", "--retry", "10")
    run.assert_failure_reported()


def test_non_ascii_header_value_is_sent_or_refused_cleanly(
    raw_server: RawServer,
) -> None:
    raw_server.add(sse(b"data: a\n\n", end=Hang()))
    run = tail(raw_server.url(), "-H", "X-Name: café", "--count", "1")
    if run.returncode == 0:
        sent = raw_server.requests[0].header("X-Name")
        assert sent is not None
        assert sent.encode("latin-1") == "café".encode()
    else:
        assert run.returncode in (1, 2)
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_closed_stdout_is_not_a_traceback(raw_server: RawServer) -> None:
    """``sse-viewer tail URL | head -1``: the reader goes away."""
    steps = [s for i in range(300) for s in (Send(b"data: %d\n\n" % i), Pause(0.005))]
    raw_server.add((Send(head()), *steps, Hang()))
    proc = subprocess.Popen(
        [str(SSE_VIEWER), "tail", raw_server.url()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert proc.stdout.readline()
        proc.stdout.close()
        assert proc.wait(10) in (0, 1, -signal.SIGPIPE)
        assert b"Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stderr is not None:
            proc.stderr.close()


def test_204_closes_with_exit_0(raw_server: RawServer) -> None:
    raw_server.add(respond(204))
    run = jtail(raw_server.url(), "--retry", "10")
    assert run.returncode == 0, run
    assert run.states() == ["connecting", "closed"]
    time.sleep(0.1)
    assert len(raw_server.connections) == 1


@pytest.mark.parametrize("status", [500, 404, 503])
def test_failing_status_closes_with_exit_1(raw_server: RawServer, status: int) -> None:
    raw_server.add(respond(status, b"data: no\n\n", content_type="text/event-stream"))
    run = jtail(raw_server.url(), "--retry", "10")
    run.assert_failure_reported()
    assert run.states() == ["connecting", "closed"]
    time.sleep(0.1)
    assert len(raw_server.connections) == 1


@pytest.mark.parametrize("content_type", ["text/html", "application/json", None])
def test_wrong_content_type_closes_with_exit_1(
    raw_server: RawServer, content_type: str | None
) -> None:
    raw_server.add(sse(b"data: a\n\n", content_type=content_type))
    run = jtail(raw_server.url(), "--retry", "10")
    run.assert_failure_reported()
    assert run.states() == ["connecting", "closed"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/x",
        "notaurl",
        "http://[::1/x",
        "file:///etc/passwd",
        "http://",
        "http://127.0.0.1:99999/",  # port out of range
        "http://exa mple.com/",  # a space is a forbidden host code point
    ],
)
def test_bad_url_closes_at_once_with_exit_1(url: str) -> None:
    # (--max-attempts only bounds a run that wrongly retries.)
    run = jtail(url, "--retry", "10", "--max-attempts", "1")
    run.assert_failure_reported()
    assert run.states() == ["connecting", "closed"]
    assert run.records[0]["url"] == url
    assert run.elapsed < 5


def test_unresolvable_host_is_retried() -> None:
    run = jtail(
        "http://no-such-host.invalid/stream", "--max-attempts", "1", "--retry", "10"
    )
    run.assert_failure_reported()
    assert run.states() == ["connecting", "reconnecting", "connecting", "closed"]


def test_network_error_before_any_response_reconnects(raw_server: RawServer) -> None:
    raw_server.add((Reset(),), sse(b"data: a\n\n", end=Hang()))
    run = jtail(raw_server.url(), "--retry", "30", "--count", "1")
    assert run.returncode == 0, run
    assert run.states() == [
        "connecting",
        "reconnecting",
        "connecting",
        "open",
        "event",
        "closed",
    ]
    assert run.of("reconnecting")[0]["delay_ms"] == 30


def test_server_close_reconnects_after_the_reconnection_time(
    raw_server: RawServer,
) -> None:
    raw_server.add(sse(b"id: 2\ndata: a\n\n"), sse(b"data: b\n\n", end=Hang()))
    run = jtail(raw_server.url(), "--retry", "30", "--count", "2")
    assert run.states() == [
        "connecting",
        "open",
        "event",
        "reconnecting",
        "connecting",
        "open",
        "event",
        "closed",
    ]
    assert run.of("reconnecting")[0]["delay_ms"] == 30
    assert raw_server.requests[1].header("Last-Event-ID") == "2"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_keep_sse_headers_and_the_given_url(
    raw_server: RawServer, status: int
) -> None:
    raw_server.add(redirect(status, "/elsewhere"), sse(b"data: a\n\n", end=Hang()))
    url = raw_server.url("/start")
    run = jtail(url, "--last-event-id", "L", "-H", "X-K: v", "--count", "1")
    assert run.returncode == 0, run
    assert run.states() == ["connecting", "open", "event", "closed"]
    assert run.records[0]["url"] == url
    first, second = raw_server.requests
    assert (first.path, second.path) == ("/start", "/elsewhere")
    assert second.method == "GET"
    assert second.header("Accept") == "text/event-stream"
    assert second.header("Cache-Control") in ("no-cache", "no-store")
    assert second.header("Last-Event-ID") == "L"
    assert second.header("X-K") == "v"


# -- beyond the contract: options users of curl and httpie expect ------------------


def test_post_with_data(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n", end=Hang()))
    run = jtail(raw_server.url(), "-X", "POST", "--data", "q=1", "--count", "1")
    assert run.returncode == 0, run
    (request,) = raw_server.requests
    assert (request.method, request.body) == ("POST", b"q=1")
    assert request.header("Accept") == "text/event-stream"


def test_post_with_json(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n", end=Hang()))
    run = jtail(raw_server.url(), "--json", '{"prompt": "hi"}', "--count", "1")
    assert run.returncode == 0, run
    (request,) = raw_server.requests
    assert request.method == "POST"
    assert json.loads(request.body) == {"prompt": "hi"}
    assert (request.header("Content-Type") or "").startswith("application/json")
    assert request.header("Accept") == "text/event-stream"


def test_timeout_turns_a_stall_into_a_reconnect(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"id: 1\ndata: a\n\n", end=Hang()), sse(b"data: b\n\n", end=Hang())
    )
    run = jtail(raw_server.url(), "--timeout", "0.3", "--retry", "10", "--count", "2")
    assert run.returncode == 0, run
    assert run.states().count("reconnecting") == 1
    assert raw_server.requests[1].header("Last-Event-ID") == "1"


def test_reconnect_on_status_is_opt_in(raw_server: RawServer) -> None:
    raw_server.add(respond(503), sse(b"data: a\n\n", end=Hang()))
    run = jtail(
        raw_server.url(),
        "--reconnect-on-status",
        "502,503",
        "--retry",
        "10",
        "--count",
        "1",
    )
    assert run.returncode == 0, run
    assert run.states() == [
        "connecting",
        "reconnecting",
        "connecting",
        "open",
        "event",
        "closed",
    ]


def test_comments_only_with_the_opt_in_flag(raw_server: RawServer) -> None:
    body = b": ping\n\ndata: a\n\n"
    raw_server.add(sse(body, end=Hang()), sse(body, end=Hang()))
    plain = jtail(raw_server.url(), "--count", "1")  # validated: no other types
    assert "ping" not in plain.stdout
    args = ["tail", raw_server.url(), "--format", "json", "--comments", "--count", "1"]
    proc = subprocess.run(
        [str(SSE_VIEWER), *args],
        capture_output=True,
        text=True,
        timeout=20,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    records = parse(proc.stdout)
    comments = [r for r in records if r["type"] not in ("state", "event", "error")]
    assert len(comments) == 1
    assert "ping" in json.dumps(comments[0])
    check_records([r for r in records if r not in comments])


def test_text_format(raw_server: RawServer) -> None:
    raw_server.add(sse(b"event: greet\nid: 42\ndata: hello world\n\n", end=Hang()))
    run = tail(raw_server.url(), "--count", "1")
    assert run.returncode == 0, run
    assert "\x1b[" not in run.stdout, "no colour when stdout is not a terminal"
    (line,) = [ln for ln in run.stdout.splitlines() if "hello world" in ln]
    assert "greet" in line
    assert "42" in line
    assert re.search(r"\b\d\d:\d\d:\d\d", line), line
    with pytest.raises(json.JSONDecodeError):
        json.loads(run.stdout.splitlines()[0])


def test_text_quiet_prints_events_only(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: one\n\ndata: two\n\n", end=Hang()))
    run = tail(raw_server.url(), "--quiet", "--count", "2")
    assert run.returncode == 0, run
    lines = [ln for ln in run.stdout.splitlines() if ln.strip()]
    assert len(lines) == 2, lines
    assert "one" in lines[0]
    assert "two" in lines[1]
    assert run.stderr == ""


def test_failure_in_text_mode_is_a_clear_line_not_a_traceback(
    raw_server: RawServer,
) -> None:
    raw_server.add(respond(500, b"boom"))
    run = tail(raw_server.url())  # (tail() also asserts there is no traceback)
    assert run.returncode == 1
    assert "500" in run.stderr.strip().splitlines()[-1]


def test_quiet_failure_is_one_stderr_line(raw_server: RawServer) -> None:
    raw_server.add(respond(500, b"boom"))
    run = tail(raw_server.url(), "--quiet")
    run.assert_failure_reported()
    assert "500" in run.stderr


# -- responses that are not a stream, redirects, credentials ------------------


def test_an_error_body_is_in_closed_and_its_first_lines_on_stderr(
    raw_server: RawServer,
) -> None:
    why = b'{"error": "invalid_token",\n "detail": "expired \x1b[31mred"}'
    raw_server.add(respond(401, why, content_type="application/json"))
    raw_server.add(respond(401, why, content_type="application/json"))
    run = jtail(raw_server.url())
    assert run.states() == ["connecting", "closed"]  # the order is unchanged
    closed = run.records[-1]
    assert (closed["status"], closed["failed"]) == (401, True)
    assert closed["content_type"] == "application/json"
    assert closed["body"] == why.decode() and closed["body_bytes"] == len(why)
    run.assert_failure_reported()  # JSON: the one line, the body is in the record
    text = tail(raw_server.url())
    assert text.returncode == 1
    assert text.stderr.splitlines()[-3:] == [
        '  {"error": "invalid_token",',
        '   "detail": "expired \\x1b[31mred"}',  # terminal-safe
        "sse-viewer tail: HTTP 401 Unauthorized",  # the verdict stays last
    ]


def test_a_long_html_body_prints_its_first_lines_and_its_size(
    raw_server: RawServer,
) -> None:
    page = "".join(f"<p>line {i}</p>\n" for i in range(5000)).encode()
    raw_server.add(respond(200, page, content_type="text/html"))
    run = tail(raw_server.url())
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert "  <p>line 0</p>" in lines and "  <p>line 11</p>" in lines
    assert "  <p>line 12</p>" not in lines
    assert lines[-2] == f"  … (the body has {len(page):,} bytes)"


def test_redirects_are_in_the_open_record(raw_server: RawServer) -> None:
    elsewhere = raw_server.url("/there").replace("127.0.0.1", "localhost")
    raw_server.add(redirect(302, elsewhere), sse(b"data: a\n\n", end=Hang()))
    run = jtail(raw_server.url(), "-u", "ann:pw", "-H", "X-Api-Key: k", "--count", "1")
    assert run.returncode == 0, run
    (opened,) = run.of("open")
    assert opened["redirects"] == [
        {
            "status": 302,
            "url": raw_server.url(),
            "location": elsewhere,
            "dropped": ["X-Api-Key", "Authorization"],
        }
    ]
    first, there = raw_server.requests
    assert first.header("Authorization") == "Basic YW5uOnB3"
    assert there.header("Authorization") is None and there.header("X-Api-Key") is None


def test_cookies_from_options_a_file_and_the_server(
    raw_server: RawServer, tmp_path: Path
) -> None:
    jar = tmp_path / "cookies.txt"
    jar.write_text(
        "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tfile\tf1\n"
    )
    raw_server.add(
        sse(b"data: a\n\n", headers=[("Set-Cookie", "srv=s1; Path=/")]),
        sse(b"data: b\n\n", end=Hang()),
    )
    args = ("-b", "opt=o1", "--cookie-jar", str(jar), "--retry", "10", "--count", "2")
    run = jtail(raw_server.url(), *args)
    assert run.returncode == 0, run
    first, second = (r.header("Cookie") or "" for r in raw_server.requests)
    assert sorted(first.split("; ")) == ["file=f1", "opt=o1"]
    assert sorted(second.split("; ")) == ["file=f1", "opt=o1", "srv=s1"]


def test_credential_options_are_checked(tmp_path: Path) -> None:
    bad = tail("http://127.0.0.1:1/", "-b", "novalue")
    assert bad.returncode == 2 and "expected NAME=VALUE" in bad.stderr
    missing = tail("http://127.0.0.1:1/", "--cookie-jar", str(tmp_path / "none"))
    assert missing.returncode == 2 and "--cookie-jar" in missing.stderr


def test_user_without_password_asks_for_it_on_a_terminal(raw_server: RawServer) -> None:
    import fcntl
    import pty
    import termios

    raw_server.add(sse(b"data: a\n\n", end=Hang()))
    master, slave = pty.openpty()

    def controlling_tty() -> None:  # the pty becomes the child's /dev/tty
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [str(SSE_VIEWER), "tail", raw_server.url(), "-u", "ann", "--count", "1"],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        start_new_session=True,
        preexec_fn=controlling_tty,  # in the child, before exec
    )
    os.close(slave)
    try:
        prompt = b""
        deadline = time.monotonic() + 10
        while b"password for ann" not in prompt and time.monotonic() < deadline:
            prompt += os.read(master, 1024)
        os.write(master, b"s3cret\n")
        _out, err = proc.communicate(timeout=10)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert b"s3cret" not in prompt  # not echoed
    assert raw_server.requests[0].header("Authorization") == "Basic YW5uOnMzY3JldA=="
