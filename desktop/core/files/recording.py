"""Recordings: a stream's records <-> NDJSON files, in the format said below.

Line 1 is a header: ``{"format": "sse-viewer-recording", "version": 1, "url",
"options": {every StreamOptions field}, "created", "app", "raw", ...}``; every
further line is one record, ``{"record": "<kind>", <every dataclass field>}``.
The codec is generic over the dataclasses of records.py (kind = class name in
snake case), so a new record type is written and read back with no code here:
enums are stored by value, bytes as base64, tuples and frozensets as lists, and
the field annotations say how to turn them back.

Reading is tolerant where it can be: a line that is not JSON or not a valid
record is skipped and reported with its line number, a record of a kind this
version does not know is skipped and counted, and everything else is kept.  Only
a file that is no recording at all, or one from a newer format, is refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from desktop import __version__
from desktop.core.engine import records
from desktop.core.engine.options import StreamOptions
from desktop.core.files.codec import BadValueError, Shape, kind_of
from desktop.core.files.redact import MASK, mask_value, redact_headers, redact_url

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Iterable, Iterator

    from desktop.core.engine.records import Record

FORMAT = "sse-viewer-recording"
VERSION = 1
_MAX_PROBLEMS = 20  # messages kept; the count goes on


def _record_shapes() -> dict[str, Shape]:
    """Every record dataclass of records.py (they all carry ``at`` and ``wall``)."""
    shapes: dict[str, Shape] = {}
    for value in vars(records).values():
        if isinstance(value, type) and dataclasses.is_dataclass(value):
            names = {field.name for field in dataclasses.fields(value)}
            if {"at", "wall"} <= names:
                shapes[kind_of(value)] = Shape(value)
    return shapes


_SHAPES = _record_shapes()
_KINDS = {shape.cls: kind for kind, shape in _SHAPES.items()}
_OPTIONS = Shape(StreamOptions)
_ERROR_RESPONSE = Shape(records.ErrorResponse)
_HOP = Shape(records.Hop)
# Records with fields that may carry a secret: masked when the header says so.
_SECRETIVE = frozenset(
    shape.cls
    for shape in _SHAPES.values()
    if {"url", "headers", "response"} & set(shape.names)
)


class RecordingError(Exception):
    """A file that cannot be read or written as a recording; says why, for users."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason if line is None else f"line {line}: {reason}")
        self.reason = reason
        self.line = line


@dataclass(frozen=True, slots=True)
class RecordingHeader:
    """Line 1 of a recording: what was recorded, when, by what, with which options."""

    url: str
    options: StreamOptions
    created: float  # wall-clock time of saving
    app: str = __version__  # the sse-viewer version that saved it
    raw: bool = False  # raw network reads are included (RawChunk records)
    masked: bool = True  # secret header values and URL parameters were masked
    clock: float | None = None  # time.monotonic() when saved: "since last byte"
    received_bytes: int = 0  # bytes the stream had received when saved
    rows: int | None = None  # records that follow (a hint for retention)
    version: int = VERSION

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "version": self.version,
            "url": self.url,
            "options": _OPTIONS.dump(self.options),
            "created": self.created,
            "app": self.app,
            "raw": self.raw,
            "masked": self.masked,
            "clock": self.clock,
            "received_bytes": self.received_bytes,
            "rows": self.rows,
        }


def header_for(
    options: StreamOptions,
    *,
    raw: bool,
    mask: bool = True,
    clock: float | None = None,
    received_bytes: int = 0,
    rows: int | None = None,
) -> RecordingHeader:
    """The header for saving now; with ``mask`` the options' secrets are masked."""
    if mask:
        transport = options.transport
        if transport.proxy:  # a proxy's password
            transport = replace(transport, proxy=redact_url(transport.proxy))
        if transport.environment:
            env = tuple((k, redact_url(v)) for k, v in transport.environment)
            transport = replace(transport, environment=env)
        options = replace(
            options,
            url=redact_url(options.url),
            headers=redact_headers(options.headers),
            transport=transport,
            password=mask_value(options.password or "") or None,
            cookies=tuple((name, MASK) for name, _ in options.cookies),
        )
        if options.transport.client_key_password is not None:
            # A passphrase has no shape worth showing: it is left out.
            transport = replace(options.transport, client_key_password=None)
            options = replace(options, transport=transport)
    return RecordingHeader(
        options.url,
        options,
        time.time(),
        raw=raw,
        masked=mask,
        clock=clock,
        received_bytes=received_bytes,
        rows=rows,
    )


# -- writing ----------


def encode_record(record: Record, *, mask: bool = False) -> dict[str, object]:
    """One record as the JSON object of its line."""
    cls = record.__class__
    kind = _KINDS[cls]
    obj: dict[str, object] = {"record": kind}
    obj.update(_SHAPES[kind].dump(record))
    if mask and cls in _SECRETIVE:
        url = getattr(record, "url", None)
        if isinstance(url, str):
            obj["url"] = redact_url(url)
        headers = getattr(record, "headers", None)
        if isinstance(headers, tuple):
            obj["headers"] = [list(pair) for pair in redact_headers(headers)]
        redirects = getattr(record, "redirects", None)
        if redirects:
            obj["redirects"] = [_HOP.dump(_masked_hop(hop)) for hop in redirects]
        response = getattr(record, "response", None)
        if isinstance(response, records.ErrorResponse):
            obj["response"] = _ERROR_RESPONSE.dump(
                replace(
                    response,
                    url=redact_url(response.url),
                    headers=redact_headers(response.headers),
                    redirects=tuple(map(_masked_hop, response.redirects)),
                )
            )
    return obj


def _masked_hop(hop: records.Hop) -> records.Hop:
    """A redirect's URLs with secret-looking parameters masked (OAuth codes …)."""
    return replace(hop, url=redact_url(hop.url), location=redact_url(hop.location))


# json.dumps builds an encoder per call when given options; build them once.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENCODE_ASCII = json.JSONEncoder(separators=(",", ":")).encode


def _line(obj: dict[str, object]) -> bytes:
    try:
        return _ENCODE(obj).encode("utf-8") + b"\n"
    except UnicodeEncodeError:  # a lone surrogate: JSON's \ud800 escape keeps it
        return _ENCODE_ASCII(obj).encode("ascii") + b"\n"


class RecordingWriter:
    """Writes the header at once, then one line per :meth:`write`."""

    def __init__(self, file: IO[bytes], header: RecordingHeader) -> None:
        self._file = file
        self.header = header
        self.written = 0
        file.write(_line(header.to_json()))

    def write(self, record: Record) -> None:
        if record.__class__ is records.RawChunk and not self.header.raw:
            return  # raw bytes only when the user asked for them
        self._file.write(_line(encode_record(record, mask=self.header.masked)))
        self.written += 1


def save_recording(
    path: str | os.PathLike[str], header: RecordingHeader, rows: Iterable[Record]
) -> int:
    """Write a recording to ``path`` whole or not at all; the number of records.

    It goes to a temporary file beside ``path`` first, so a full disk or a
    crash never leaves half a recording over an older one.
    """
    target = Path(path)
    try:
        handle, temp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
    except OSError as exc:
        raise RecordingError(f"cannot write in {target.parent}: {_why(exc)}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            writer = RecordingWriter(file, header)
            for record in rows:
                writer.write(record)
        os.chmod(temp, 0o644 & ~_umask())
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise RecordingError(f"cannot save {target.name}: {_why(exc)}") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return writer.written


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


# -- reading ----------


class RecordingReader:
    """A recording being read: the header at once, then records as they stream.

    ``problems`` holds line-numbered messages for lines that were skipped,
    ``unknown`` counts records of kinds this version does not know; neither
    stops the reading.
    """

    def __init__(self, lines: Iterable[bytes], name: str = "recording") -> None:
        self.name = name
        self._lines = iter(lines)
        self._file: IO[bytes] | None = None
        self.line = 0
        self.problems: list[str] = []
        self.bad_lines = 0
        self.unknown: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()  # records read, by kind
        self.read = 0
        self.header = self._read_header()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RecordingReader:
        """Open ``path`` and read its header; RecordingError says what is wrong."""
        target = Path(path)
        try:
            file = target.open("rb")
        except OSError as exc:
            raise RecordingError(_why(exc)) from None
        try:
            reader = cls(file, target.name)
        except BaseException:
            file.close()
            raise
        reader._file = file
        return reader

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_line(self) -> bytes | None:
        try:
            raw = next(self._lines, None)
        except OSError as exc:
            self._problem(f"reading stopped: {_why(exc)}")
            return None
        except ValueError:  # the file was closed under us (the reader was stopped)
            return None
        if raw is not None:
            self.line += 1
        return raw

    def _read_header(self) -> RecordingHeader:
        raw = self._next_line()
        if raw is None:
            raise RecordingError("the file is empty, not an sse-viewer recording")
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise RecordingError(
                "not an sse-viewer recording (line 1 is not a JSON header)"
            ) from None
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise RecordingError(
                f'not an sse-viewer recording (line 1 has no "format": "{FORMAT}")'
            )
        version = obj.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RecordingError(f"the format version {version!r} is not valid", 1)
        if version > VERSION:
            raise RecordingError(
                f"saved by a newer sse-viewer (recording format version {version}); "
                f"this sse-viewer {__version__} reads version {VERSION}: update it"
            )
        try:
            return _header(obj, version)
        except BadValueError as exc:
            raise RecordingError(f"the header is not valid: {exc}", 1) from None

    def records(self) -> Iterator[Record]:
        """The records, in file order; bad lines are skipped and noted."""
        while (raw := self._next_line()) is not None:
            if not raw.strip():
                continue
            record = self._decode(raw)
            if record is not None:
                self.read += 1
                yield record

    def batches(self) -> Iterator[list[Record]]:
        """Records grouped as the engine yielded them: one network read's records
        share ``at``, and two reads never do."""
        batch: list[Record] = []
        for record in self.records():
            if batch and record.at != batch[-1].at:
                yield batch
                batch = []
            batch.append(record)
        if batch:
            yield batch

    def _decode(self, raw: bytes) -> Record | None:
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            self._problem("not UTF-8 text")
            return None
        except (ValueError, RecursionError):
            if not raw.endswith(b"\n"):
                self._problem("cut short (the file ends mid-record)")
                return None
            self._problem("not JSON")
            return None
        kind = obj.get("record") if isinstance(obj, dict) else None
        if not isinstance(kind, str):
            self._problem('not a record (no "record" kind)')
            return None
        shape = _SHAPES.get(kind)
        if shape is None:
            self.unknown[kind] += 1
            return None
        try:
            record: Record = shape.build(obj)
        except BadValueError as exc:
            self._problem(f"{kind} record: {exc}")
            return None
        except (TypeError, ValueError) as exc:  # the dataclass itself refused
            self._problem(f"{kind} record: {exc}")
            return None
        self.kinds[kind] += 1
        return record

    def _problem(self, message: str) -> None:
        self.bad_lines += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(f"line {self.line}: {message}")

    def summary(self) -> str:
        """What was skipped, in a sentence or two; "" when nothing was."""
        parts = []
        if self.bad_lines:
            lines = "1 line" if self.bad_lines == 1 else f"{self.bad_lines:,} lines"
            more = self.bad_lines - len(self.problems)
            shown = "; ".join(self.problems[:3])
            extra = f" (and {more:,} more)" if more > 0 else ""
            parts.append(f"{lines} could not be read — {shown}{extra}")
        if self.unknown:
            total = sum(self.unknown.values())
            kinds = ", ".join(f"{k}: {n:,}" for k, n in self.unknown.most_common(4))
            parts.append(
                f"{total:,} record{'s' if total != 1 else ''} of kinds this "
                f"version does not know were skipped ({kinds})"
            )
        return ". ".join(parts)


def _header(obj: dict[str, object], version: int) -> RecordingHeader:
    options_obj = obj.get("options")
    if not isinstance(options_obj, dict):
        raise BadValueError('"options" must be an object')
    url = obj.get("url", options_obj.get("url"))
    if not isinstance(url, str):
        raise BadValueError('"url" must be a string')
    options_obj = {"url": url, **options_obj}
    options: StreamOptions = _OPTIONS.build(options_obj)
    header: RecordingHeader = _HEADER.build(
        {**obj, "url": url, "options": options, "version": version}
    )
    return header


_HEADER = Shape(RecordingHeader)


async def read_batches(
    reader: RecordingReader, step: int = 5_000
) -> AsyncGenerator[list[Record], None]:
    """The reader's batches, parsed in a worker thread ``step`` records at a time,
    so that opening a big recording never stalls the UI loop."""
    batches = reader.batches()
    while True:
        chunk = await asyncio.to_thread(_take, batches, step)
        if not chunk:
            return
        for batch in chunk:
            yield batch


def _take(batches: Iterator[list[Record]], step: int) -> list[list[Record]]:
    taken: list[list[Record]] = []
    count = 0
    for batch in batches:
        taken.append(batch)
        count += len(batch)
        if count >= step:
            break
    return taken
