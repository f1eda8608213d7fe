"""The connection bar's "Reconnect & limits" tab: each option reaches the engine
and acts on a real stream of the bundled server; bad input is a message; profiles
keep them."""

from __future__ import annotations

import io
import uuid
from typing import TYPE_CHECKING

import pytest

from desktop.core.engine.records import (
    Closed,
    Connecting,
    DelaySource,
    Error,
    Event,
    Outcome,
    Reconnecting,
)
from desktop.core.engine.state import State
from desktop.core.files.curl import curl_command
from desktop.core.files.recording import RecordingReader, RecordingWriter, header_for
from desktop.ui.limits import LimitsForm, limits_of, normalized, parse_limits
from desktop.ui.profiles.book import ProfileBook
from desktop.ui.recordings.bar import form_of
from desktop.ui.request import RequestError, RequestForm, build_options
from desktop.ui.settings import Settings

from app_driver import api_async, drive, open_stream, until

if TYPE_CHECKING:
    from desktop.core.engine.records import Record
    from desktop.ui.loop import AppLoop
    from desktop.ui.stream_view import StreamView
    from desktop.ui.viewer import Viewer


def _tag() -> tuple[str, tuple[tuple[str, str], ...]]:
    """A lab tag of this test's own: its faults reach only its streams."""
    tag = f"limits-{uuid.uuid4().hex[:8]}"
    return tag, (("X-Lab-Tag", tag),)


async def _rows(view: StreamView) -> list[Record]:
    session = view.handle.session
    await until(lambda: not session.store.waiting, 5, "the flush")
    return list(view.handle.session.store.rows())


async def _closed(view: StreamView, limit_s: float = 15) -> Closed:
    session = view.handle.session
    await until(lambda: session.state is State.CLOSED, limit_s, "the stream to close")
    closed = [r for r in await _rows(view) if isinstance(r, Closed)]
    assert len(closed) == 1
    return closed[0]


# -- checking what was typed ----------


@pytest.mark.parametrize(
    ("limits", "field", "words"),
    [
        (LimitsForm(read_timeout="-1"), "read_timeout", "above 0"),
        (LimitsForm(read_timeout="soon"), "read_timeout", "not a number"),
        (LimitsForm(max_attempts="-3"), "max_attempts", "from 0"),
        (LimitsForm(max_attempts="2.5"), "max_attempts", "not a whole number"),
        (LimitsForm(max_backoff_ms="0"), "max_backoff_ms", "from 1"),
        (LimitsForm(reconnect_on_status="502,99"), "reconnect_on_status", "100-599"),
        (LimitsForm(reconnect_on_status="600"), "reconnect_on_status", "'600'"),
        (LimitsForm(reconnect_on_status="5xx"), "reconnect_on_status", "'5xx'"),
        (LimitsForm(count="0"), "count", "from 1"),
        (LimitsForm(count="ten"), "count", "'ten'"),
        (LimitsForm(max_event_size="big"), "max_event_size", "not a size"),
        (LimitsForm(max_event_size="2 GB"), "max_event_size", "1 GB"),
        (LimitsForm(headers_timeout="-1"), "headers_timeout", "0 for none"),
        (LimitsForm(headers_timeout="later"), "headers_timeout", "not a number"),
    ],
)
def test_bad_limits_are_a_message_naming_the_field(
    limits: LimitsForm, field: str, words: str
) -> None:
    with pytest.raises(RequestError) as caught:
        build_options(RequestForm("http://127.0.0.1:9/x", limits=limits))
    assert caught.value.field == field
    assert words in caught.value.message


def test_limits_become_the_engine_options_and_come_back_from_them() -> None:
    typed = LimitsForm(
        read_timeout="2.5",
        max_attempts="0",
        max_backoff_ms="30000",
        reconnect_on_status="503 502, 504",
        close_on="end, done",
        count="5",
        max_event_size="512 KB",
        send_last_event_id=False,
    )
    options = build_options(RequestForm("127.0.0.1:9/x", limits=typed))
    assert options.read_timeout == 2.5 and options.max_attempts == 0
    assert options.max_backoff_ms == 30000 and options.count == 5
    assert options.reconnect_on_status == {502, 503, 504}
    assert options.close_on == {"end", "done"}
    assert options.max_event_bytes == 512 * 1024
    assert not options.send_last_event_id
    assert parse_limits(limits_of(options)) == parse_limits(typed)
    default = build_options(RequestForm("127.0.0.1:9/x"))
    assert default.read_timeout is None and default.max_attempts is None
    assert default.send_last_event_id and default.max_event_bytes == 64 << 20
    assert limits_of(default) == LimitsForm()


@pytest.mark.parametrize(
    ("typed", "seconds"), [("", 30.0), ("0", None), ("2.5", 2.5), ("45 s", 45.0)]
)
def test_the_headers_timeout_field_defaults_to_30_and_0_is_none(
    typed: str, seconds: float | None
) -> None:
    form = LimitsForm(headers_timeout=typed)
    options = build_options(RequestForm("127.0.0.1:9/x", limits=form))
    assert options.headers_timeout == seconds
    assert parse_limits(limits_of(options)) == parse_limits(form)
    assert normalized(LimitsForm(headers_timeout="soon")).headers_timeout == ""


def test_a_bad_limit_in_the_bar_says_so_points_at_it_and_connects_nothing(
    loop: AppLoop, viewer: Viewer
) -> None:
    async def scenario() -> None:
        view = viewer.window.add_stream(viewer.controller.new_stream())
        bar = view.bar
        bar.url.setText("http://127.0.0.1:9/api/events")
        bar.limits.edits["reconnect_on_status"].setText("502, 700")
        assert bar.tabs.tabText(1).endswith("\N{BULLET}")  # not the default
        bar.connect_button.click()
        assert bar.error.isVisible()
        assert "'700' is not an HTTP status (100-599)" in bar.error.text()
        assert bar.details.isVisible() and bar.tabs.currentWidget() is bar.limits
        assert bar.limits.edits["reconnect_on_status"].hasFocus()
        assert view.handle.task is None  # nothing was started
        bar.limits.edits["reconnect_on_status"].clear()
        bar.limits.edits["count"].setText("-5")
        bar.connect_button.click()
        assert "Stop after (events): enter a whole number from 1" in bar.error.text()
        assert view.handle.task is None

    drive(loop, scenario(), viewer)


# -- on real streams ----------


def test_close_on_end_closes_a_job_stream_there_without_a_reconnect(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        job = await api_async(
            base,
            "POST",
            "/api/jobs",
            {"kind": "countdown", "params": {"steps": 4, "interval_s": 0.01}},
        )
        assert isinstance(job, dict)
        view = open_stream(
            viewer, base + str(job["events_url"]), limits=LimitsForm(close_on="end")
        )
        closed = await _closed(view)
        assert closed.outcome is Outcome.CLOSE_ON and not closed.failed
        rows = await _rows(view)
        events = [r for r in rows if isinstance(r, Event)]
        assert events[-1].type == "end"
        assert sum(isinstance(r, Connecting) for r in rows) == 1
        assert not any(isinstance(r, Reconnecting) for r in rows)

    drive(loop, scenario(), viewer)


def test_count_5_stops_after_5_events(loop: AppLoop, viewer: Viewer, base: str) -> None:
    async def scenario() -> None:
        view = open_stream(
            viewer, f"{base}/api/ticker?rate=200", limits=LimitsForm(count="5")
        )
        closed = await _closed(view)
        assert closed.outcome is Outcome.COUNT and not closed.failed
        events = [r for r in await _rows(view) if isinstance(r, Event)]
        assert [e.id for e in events] == ["0", "1", "2", "3", "4"]
        assert view.handle.session.events == 5

    drive(loop, scenario(), viewer)


def test_a_read_timeout_turns_a_stall_into_a_reconnect(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        tag, headers = _tag()
        view = open_stream(
            viewer,
            f"{base}/api/ticker?rate=50",
            headers=headers,
            retry_ms=50,
            limits=LimitsForm(read_timeout="0.4"),
        )
        session = view.handle.session
        await until(lambda: session.events >= 5, 10, "events")
        await api_async(base, "POST", "/api/lab/stall", {"seconds": 30, "tag": tag})
        await until(
            lambda: session.attempt == 2 and session.state is State.OPEN, 10, "reopen"
        )
        reconnects = [r for r in await _rows(view) if isinstance(r, Reconnecting)]
        assert [r.outcome for r in reconnects] == [Outcome.TIMEOUT]
        assert "0.4" in reconnects[0].reason
        count = session.events
        await until(lambda: session.events > count + 3, 10, "events again")
        viewer.controller.stop(view.handle)

    drive(loop, scenario(), viewer)


def test_max_attempts_with_reconnect_on_503_and_backoff_closes_after_n(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        tag, headers = _tag()
        await api_async(
            base,
            "POST",
            "/api/lab/refuse",
            {"count": 10, "status": 503, "retry_after_s": 0, "tag": tag},
        )
        view = open_stream(
            viewer,
            f"{base}/api/ticker?rate=50",
            headers=headers,
            retry_ms=20,
            limits=LimitsForm(
                max_attempts="3", reconnect_on_status="502,503", max_backoff_ms="200"
            ),
        )
        closed = await _closed(view)
        assert closed.outcome is Outcome.MAX_ATTEMPTS and closed.failed
        rows = await _rows(view)
        assert sum(isinstance(r, Connecting) for r in rows) == 4  # 1 + 3 attempts
        reconnects = [r for r in rows if isinstance(r, Reconnecting)]
        assert [r.outcome for r in reconnects] == [Outcome.STATUS] * 3
        assert reconnects[0].delay_source is DelaySource.OPTION
        assert {r.delay_source for r in reconnects[1:]} == {DelaySource.BACKOFF}
        assert all(r.delay_ms <= 200 for r in reconnects)
        attempts = view.handle.session.attempts
        assert len(attempts) == 4 and all("503" in a.outcome for a in attempts[:3])
        assert "gave up after 3 reconnection attempts" in closed.reason

    drive(loop, scenario(), viewer)


def test_without_reconnect_on_status_a_503_fails_at_once(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        tag, headers = _tag()
        await api_async(
            base, "POST", "/api/lab/refuse", {"count": 10, "status": 503, "tag": tag}
        )
        view = open_stream(
            viewer,
            f"{base}/api/ticker",
            headers=headers,
            limits=LimitsForm(max_attempts="3"),
        )
        closed = await _closed(view)
        assert closed.outcome is Outcome.STATUS and closed.status == 503
        assert len(view.handle.session.attempts) == 1

    drive(loop, scenario(), viewer)


def test_send_last_event_id_off_reconnects_without_one(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        tag, headers = _tag()
        url = f"{base}/api/ticker?rate=100"
        naive = open_stream(
            viewer,
            url,
            headers=headers,
            retry_ms=20,
            limits=LimitsForm(send_last_event_id=False),
        )
        spec = open_stream(viewer, url, headers=headers, retry_ms=20)
        views = (naive, spec)
        await until(lambda: all(v.handle.session.events >= 5 for v in views), 10)
        await api_async(base, "POST", "/api/lab/drop", {"tag": tag})
        await until(
            lambda: all(
                len(v.handle.session.attempts) == 2
                and v.handle.session.attempts[1].events >= 3
                for v in views
            ),
            10,
            "both to reopen",
        )
        for view in views:
            viewer.controller.stop(view.handle)
            view.refresh()
        last = naive.handle.session.last_event_id
        shown = naive.state.values["last_id"].text()
        assert shown == f"not sent (option off; last id: {last})" and last.isdigit()
        assert spec.state.values["last_id"].text() == spec.handle.session.last_event_id
        naive_rows, spec_rows = await _rows(naive), await _rows(spec)
        naive_ids = [r.last_event_id for r in naive_rows if isinstance(r, Connecting)]
        spec_ids = [r.last_event_id for r in spec_rows if isinstance(r, Connecting)]
        assert naive_ids[:2] == ["", ""]
        assert spec_ids[0] == "" and spec_ids[1].isdigit()
        assert naive.handle.session.attempts[1].last_event_id == ""
        assert spec.handle.session.attempts[1].last_event_id == spec_ids[1]
        # The naive client starts the ticker again from 0: what it missed is lost.
        after = [r for r in naive_rows if isinstance(r, Event) and r.connection == 2]
        assert after[0].id == "0"

    drive(loop, scenario(), viewer)


def test_max_event_size_skips_a_larger_event_and_says_so(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def scenario() -> None:
        view = open_stream(
            viewer,
            f"{base}/api/ticker?rate=200&size=3000&count=3",
            limits=LimitsForm(max_event_size="1 KB"),
        )
        await until(lambda: len(view.handle.session.attempts) >= 1, 5)
        session = view.handle.session
        await until(
            lambda: session.state in (State.CLOSED, State.RECONNECTING), 10, "the end"
        )
        viewer.controller.stop(view.handle)
        rows = await _rows(view)
        errors = [r for r in rows if isinstance(r, Error)]
        assert len(errors) == 3
        assert all("than 1024 bytes" in e.message for e in errors)
        assert all(e.message.endswith("skipped") for e in errors)
        assert not any(isinstance(r, Event) for r in rows)

    drive(loop, scenario(), viewer)


# -- profiles ----------


def test_a_profile_keeps_its_limits_and_old_or_damaged_ones_load(
    loop: AppLoop,
) -> None:
    del loop  # a QApplication for the settings file
    limits = LimitsForm(
        read_timeout="1.5",
        max_attempts="4",
        max_backoff_ms="30000",
        reconnect_on_status="502,503,504",
        close_on="end",
        count="100",
        max_event_size="8 MB",
        send_last_event_id=False,
    )
    book = ProfileBook(Settings())
    book.save("Jobs", RequestForm("http://h/api/events", limits=limits))
    book.save("Plain", RequestForm("http://h/api/ticker"))
    with pytest.raises(RequestError, match="Max attempts"):
        book.save("Bad", RequestForm("http://h/x", limits=LimitsForm(max_attempts="x")))
    assert book.get("Bad") is None

    again = ProfileBook(Settings())
    jobs, plain = again.get("Jobs"), again.get("Plain")
    assert jobs is not None and plain is not None
    assert jobs.form.limits == limits
    assert plain.form.limits == LimitsForm()

    # A profile from before the limits, and one whose limits were edited by hand.
    qt = Settings().qt
    size = qt.beginReadArray("profiles")
    qt.endArray()
    qt.beginWriteArray("profiles", size + 2)
    qt.setArrayIndex(size)
    qt.setValue("name", "Old")
    qt.setValue("url", "http://h/old")
    qt.setArrayIndex(size + 1)
    qt.setValue("name", "Edited")
    qt.setValue("url", "http://h/edited")
    qt.setValue("limits/count", "-7")
    qt.setValue("limits/reconnect_on_status", "503")
    qt.setValue("limits/send_last_event_id", "maybe")
    qt.endArray()
    qt.sync()
    third = ProfileBook(Settings())
    old, edited = third.get("Old"), third.get("Edited")
    assert old is not None and edited is not None
    assert old.form.limits == LimitsForm() and old.form.url == "http://h/old"
    assert edited.form.limits == LimitsForm(reconnect_on_status="503")
    assert build_options(edited.form).reconnect_on_status == {503}


def test_the_bar_and_a_profile_carry_the_limits_both_ways(
    loop: AppLoop, viewer: Viewer
) -> None:
    async def scenario() -> None:
        bar = viewer.window.new_stream().bar
        limits = LimitsForm(close_on="end", count="9", send_last_event_id=False)
        bar.set_form(RequestForm("http://h/api/events", limits=limits))
        assert not bar.limits.send_last_event_id.isChecked()
        assert bar.limits.edits["count"].text() == "9"
        assert bar.form().limits == limits
        viewer.window.prefs.profiles.save(bar, "Limited")
        other = viewer.window.new_stream().bar
        assert other.form().limits == LimitsForm()
        other.profileChosen.emit("Limited")
        assert other.form().limits == limits
        assert other.tabs.tabText(1).endswith("\N{BULLET}")

    drive(loop, scenario(), viewer)


def test_a_recording_and_copy_as_curl_keep_the_limits() -> None:
    limits = LimitsForm(
        read_timeout="3",
        max_attempts="2",
        reconnect_on_status="503",
        close_on="end",
        count="7",
        max_event_size="2 MB",
        send_last_event_id=False,
    )
    options = build_options(RequestForm("http://h/api/events", limits=limits))
    buffer = io.BytesIO()
    RecordingWriter(buffer, header_for(options, raw=False, mask=False))
    header = RecordingReader(io.BytesIO(buffer.getvalue())).header
    assert header.options == options
    assert form_of(header.options).limits == limits  # "Connect live" gets them back

    naive = curl_command(options, "41")
    assert "Last-Event-ID" not in naive and "http://h/api/events" in naive
    spec = build_options(RequestForm("http://h/api/events"))
    assert "'Last-Event-ID: 41'" in curl_command(spec, "41")
