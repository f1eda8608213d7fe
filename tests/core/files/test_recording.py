"""Recordings: every record type round-trips; bad files give clear, numbered errors."""

from __future__ import annotations

import asyncio
import io
import json
import types
import typing
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings, strategies as st

from desktop import __version__
from desktop.core.engine import records
from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import (
    Closed,
    Connecting,
    DelaySource,
    Event,
    Open,
    Outcome,
    RawChunk,
    Reconnecting,
)
from desktop.core.engine.transport import Transport
from desktop.core.files.recording import (
    VERSION,
    RecordingError,
    RecordingReader,
    RecordingWriter,
    header_for,
    read_batches,
    save_recording,
)

if TYPE_CHECKING:
    from pathlib import Path

RECORD_TYPES = typing.get_args(records.Record)


def _strategy(hint: object) -> st.SearchStrategy[object]:
    """A value for any field annotation, built from the annotation alone."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of(
            *(st.none() if a is type(None) else _strategy(a) for a in args)
        )
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_strategy(args[0]), max_size=4).map(tuple)
        return st.tuples(*(_strategy(a) for a in args))
    if origin is frozenset:
        return st.frozensets(_strategy(args[0]), max_size=4)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    if isinstance(hint, type) and is_dataclass(hint):
        return _builds(hint)  # a nested value, such as the options' transport
    simple: dict[object, st.SearchStrategy[object]] = {
        bool: st.booleans(),
        int: st.integers(-(2**63), 2**63),
        float: st.floats(allow_nan=False, allow_infinity=False),
        str: st.text(max_size=40),
        bytes: st.binary(max_size=64),
    }
    return simple[hint]


def _builds(cls: type) -> st.SearchStrategy[object]:
    hints = typing.get_type_hints(cls)
    return st.builds(
        cls, **{f.name: _strategy(hints[f.name]) for f in fields(cls) if f.init}
    )


def _roundtrip(rows: list[object], *, raw: bool = True) -> RecordingReader:
    buffer = io.BytesIO()
    header = header_for(StreamOptions("http://h/s"), raw=raw, mask=False)
    writer = RecordingWriter(buffer, header)
    for row in rows:
        writer.write(row)  # type: ignore[arg-type]
    return RecordingReader(io.BytesIO(buffer.getvalue()), "test")


def test_every_record_type_of_the_union_is_covered() -> None:
    assert {Connecting, Open, Event, RawChunk, Closed} <= set(RECORD_TYPES)
    for cls in RECORD_TYPES:  # a new record type is generated and checked, too
        _builds(cls)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(*(_builds(cls) for cls in RECORD_TYPES)), max_size=12))
def test_records_round_trip_exactly(rows: list[object]) -> None:
    reader = _roundtrip(rows)
    assert list(reader.records()) == rows
    assert reader.problems == [] and not reader.unknown


@settings(max_examples=100, deadline=None)
@given(_builds(StreamOptions))
def test_options_round_trip_unmasked(options: StreamOptions) -> None:
    buffer = io.BytesIO()
    RecordingWriter(buffer, header_for(options, raw=False, mask=False))
    header = RecordingReader(io.BytesIO(buffer.getvalue())).header
    assert header.options == options
    assert (header.version, header.app, header.raw) == (VERSION, __version__, False)


def test_a_line_is_one_record_with_its_kind_and_every_field() -> None:
    buffer = io.BytesIO()
    writer = RecordingWriter(
        buffer, header_for(StreamOptions("http://h/"), raw=True, mask=False)
    )
    writer.write(Reconnecting(1500, DelaySource.SERVER, "eof", Outcome.EOF, 2, 1, 2))
    writer.write(RawChunk(b"\xff\x00data: x\n\n", 2, 3.5, 4.5))
    lines = buffer.getvalue().decode().splitlines()
    head = json.loads(lines[0])
    assert head["format"] == "sse-viewer-recording" and head["version"] == 1
    assert head["url"] == "http://h/" and head["options"]["method"] == "GET"
    assert json.loads(lines[1]) == {
        "record": "reconnecting",
        "delay_ms": 1500,
        "delay_source": "server",
        "reason": "eof",
        "outcome": "eof",
        "attempt": 2,
        "at": 1,
        "wall": 2,
        "response": None,
    }
    assert json.loads(lines[2])["data"] == "/wBkYXRhOiB4Cgo="  # base64


def test_raw_chunks_are_left_out_unless_asked() -> None:
    rows = [
        RawChunk(b"data: 1\n\n", 1, 1.0, 1.0),
        Event("message", "1", "", None, 1, 1.0, 1.0),
    ]
    assert list(_roundtrip(rows, raw=False).records()) == rows[1:]
    assert list(_roundtrip(rows, raw=True).records()) == rows


def test_secrets_are_masked_unless_the_caller_says_otherwise() -> None:
    options = StreamOptions(
        "http://u:pw@h/s?access_token=abc123&topic=x",
        headers=(("Authorization", "Bearer abc123"), ("X-Trace", "keep")),
    )
    opened = Open(
        200, (("set-cookie", "sid=abc123"), ("x-a", "1")), 1, options.url, 1, 1
    )
    buffer = io.BytesIO()
    writer = RecordingWriter(buffer, header_for(options, raw=False))
    writer.write(opened)
    text = buffer.getvalue().decode()
    assert "abc123" not in text and "pw" not in text
    reader = RecordingReader(io.BytesIO(buffer.getvalue()))
    assert reader.header.masked
    assert dict(reader.header.options.headers) == {
        "Authorization": "Bearer ••••••••",
        "X-Trace": "keep",
    }
    assert (
        "topic=x" in reader.header.url and "access_token=••••••••" in reader.header.url
    )
    (back,) = reader.records()
    assert dict(back.headers) == {"set-cookie": "••••••••", "x-a": "1"}  # type: ignore[union-attr]

    buffer = io.BytesIO()
    RecordingWriter(buffer, header_for(options, raw=False, mask=False))
    assert RecordingReader(io.BytesIO(buffer.getvalue())).header.options == options


def _file(*lines: str | bytes) -> io.BytesIO:
    return io.BytesIO(
        b"".join(x if isinstance(x, bytes) else x.encode() for x in lines)
    )


HEAD = (
    json.dumps(
        {
            "format": "sse-viewer-recording",
            "version": 1,
            "url": "http://h/",
            "options": {},
            "created": 1.0,
        }
    )
    + "\n"
)
EVENT = (
    '{"record":"event","type":"message","data":"%s","id":"","retry":null,'
    '"connection":1,"at":%s,"wall":1}\n'
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n", "line 1 is not a JSON header"),
        (b'{"format": "har"}\n', 'no "format": "sse-viewer-recording"'),
        (b"[1, 2]\n", 'no "format"'),
        (HEAD.replace('"version": 1', '"version": 2').encode(), "newer sse-viewer"),
        (HEAD.replace('"version": 1', '"version": "1"').encode(), "line 1: the format"),
        (
            HEAD.replace('"options": {}', '"options": {"retry_ms": "x"}').encode(),
            "line 1: the header is not valid: field 'retry_ms'",
        ),
        (b"[" * 100_000 + b"\n", "not a JSON header"),
    ],
)
def test_files_that_are_no_recording_are_refused_with_a_reason(
    content: bytes, message: str
) -> None:
    with pytest.raises(RecordingError) as caught:
        RecordingReader(io.BytesIO(content))
    assert message in str(caught.value)


def test_bad_lines_are_skipped_with_their_number_and_the_rest_is_kept() -> None:
    reader = RecordingReader(
        _file(
            HEAD,
            EVENT % ("a", 1),
            "{not json\n",
            "\n",
            '{"record": "notice_from_the_future", "x": 1}\n',
            EVENT.replace('"id":""', '"id":5') % ("b", 2),
            '{"record":"event"}\n',
            b'{"record":"comment","text":"\xff","connection":1,"at":3,"wall":3}\n',
            '{"kind": "event"}\n',
            EVENT % ("c", 4),
            (EVENT % ("d", 5))[:30],
        )
    )
    assert [r.data for r in reader.records()] == ["a", "c"]  # type: ignore[union-attr]
    assert reader.problems == [
        "line 3: not JSON",
        "line 6: event record: field 'id': expected a string, got 5",
        "line 7: event record: field 'type' is missing",
        "line 8: not UTF-8 text",
        'line 9: not a record (no "record" kind)',
        "line 11: cut short (the file ends mid-record)",
    ]
    assert reader.unknown == {"notice_from_the_future": 1}
    assert reader.kinds == {"event": 2}
    summary = reader.summary()
    assert "6 lines could not be read — line 3: not JSON" in summary
    assert "1 record of kinds this version does not know" in summary


def test_batches_are_the_original_network_reads() -> None:
    reader = RecordingReader(
        _file(
            HEAD,
            EVENT % ("a", 1),
            EVENT % ("b", 1),
            EVENT % ("c", 2),
            EVENT % ("d", 3),
            EVENT % ("e", 3),
        )
    )
    assert [[r.data for r in b] for b in reader.batches()] == [
        ["a", "b"],
        ["c"],
        ["d", "e"],
    ]  # type: ignore[union-attr]


def test_read_batches_in_steps_off_the_loop() -> None:
    lines = [HEAD] + [EVENT % (i, i // 3) for i in range(100)]

    async def collect() -> list[list[str]]:
        reader = RecordingReader(_file(*lines))
        return [[r.data for r in b] async for b in read_batches(reader, step=7)]  # type: ignore[union-attr]

    batches = asyncio.run(collect())
    assert [len(b) for b in batches] == [3] * 33 + [1]
    assert [x for b in batches for x in b] == [str(i) for i in range(100)]


def test_save_is_whole_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "rec.ndjson"
    header = header_for(StreamOptions("http://h/"), raw=False)
    rows = [Event("message", str(i), str(i), None, 1, i, i) for i in range(5)]
    assert save_recording(target, header, rows) == 5
    with RecordingReader.open(target) as reader:
        assert list(reader.records()) == rows

    def broken() -> typing.Iterator[Event]:
        yield rows[0]
        raise OSError(28, "No space left on device")

    with pytest.raises(RecordingError, match="No space left on device"):
        save_recording(target, header, broken())
    with RecordingReader.open(target) as reader:  # the old recording is intact
        assert list(reader.records()) == rows
    assert [p.name for p in tmp_path.iterdir()] == ["rec.ndjson"]  # no temporary left
    with pytest.raises(RecordingError, match="cannot write in"):
        save_recording(tmp_path / "missing" / "rec.ndjson", header, rows)


def test_open_says_why_a_file_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="No such file"):
        RecordingReader.open(tmp_path / "nope.ndjson")
    with pytest.raises(RecordingError, match="Is a directory"):
        RecordingReader.open(tmp_path)


def test_a_proxy_password_is_masked_in_the_header() -> None:
    transport = Transport(
        proxy="http://bob:hunter2@127.0.0.1:3128",
        environment=(("HTTPS_PROXY", "http://eve:pw-42@10.0.0.1:8080"),),
    )
    header = header_for(StreamOptions("http://h/", transport=transport), raw=False)
    text = json.dumps(header.to_json())
    assert "hunter2" not in text and "pw-42" not in text
    assert header.options.transport.proxy is not None
    assert header.options.transport.proxy.startswith("http://bob:")


def test_credentials_and_error_response_secrets_are_masked() -> None:
    opts = StreamOptions(
        "http://h/", user="ann", password="pw-secret", cookies=(("sid", "c-secret"),)
    )
    response = records.ErrorResponse(
        401, "Unauthorized", "HTTP/1.1", "http://h/?token=t-secret",
        (("set-cookie", "sid=s-secret"), ("content-type", "text/plain")),
        "text/plain", "no", b"no", 2, True,
        (records.Hop(302, "http://h/a", "/b?access_token=h-secret"),),
    )  # fmt: skip
    buffer = io.BytesIO()
    writer = RecordingWriter(buffer, header_for(opts, raw=False, mask=True))
    closed = records.Closed("HTTP 401", records.Outcome.STATUS, True, 401, 1, 2)
    closed.response = response
    writer.write(closed)
    text = buffer.getvalue().decode()
    for secret in ("pw-secret", "c-secret", "s-secret", "t-secret", "h-secret"):
        assert secret not in text, secret
    head = json.loads(text.splitlines()[0])
    assert head["options"]["user"] == "ann"
    assert head["options"]["cookies"] == [["sid", "••••••••"]]
    last = json.loads(text.splitlines()[-1])
    assert ["content-type", "text/plain"] in last["response"]["headers"]
