"""Bounded content decoding: Content-Encoding undone one bounded step at a time.

httpx's own decoders (``httpx._decoders.GZipDecoder`` …) call
``zlib.decompressobj().decompress(data)`` without ``max_length``: one 64 KiB
network read of a gzip "bomb" (a body of repeated newlines or tiny events,
about 1000:1) comes back as one 64 MB ``bytes``, which the event decoder then
works through without giving the loop a turn, so Ctrl-C and every other task
wait for tens of seconds and memory grows past a gigabyte.  Here the stream
reads the body with ``aiter_raw`` and a :class:`Inflater` hands out at most
``step`` decoded bytes per call (``max_length`` and ``unconsumed_tail``), so
memory per step is bounded and the stream can yield to the loop between steps.

The codings are httpx's without the optional libraries: ``gzip`` (and
``x-gzip``), ``deflate`` (zlib-wrapped or raw, as httpx accepts both) and
``identity``.  As in httpx, a coding it does not know is passed through as is;
the stream asks only for ``gzip, deflate`` unless the user sends their own
``Accept-Encoding``.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

ACCEPT_ENCODING = "gzip, deflate"
STEP_BYTES = 64 << 10  # as much as one network read of an uncompressed body


class ContentDecodingError(ValueError):
    """The body is not valid for its Content-Encoding (stream.py maps it)."""


class _Zlib:
    """One coding layer, pulling compressed bytes from the layer before it."""

    def __init__(self, coding: str, source: _Source | _Zlib) -> None:
        gzip = coding != "deflate"
        self._first = not gzip  # deflate: zlib-wrapped, or else raw
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        self._source = source
        self._input = b""
        self._more = False  # the last call filled its limit: output may be pending

    def feed(self, data: bytes) -> None:
        self._source.feed(data)

    def read(self, limit: int) -> bytes:
        """Up to ``limit`` decoded bytes; b"" when the input so far is used up."""
        while True:
            if not self._input and not self._more:
                self._input = self._source.read(limit)
                if not self._input:
                    return b""
            data = self._input
            try:
                out = self._zlib.decompress(data, limit)
            except zlib.error as exc:
                if not self._first:
                    raise ContentDecodingError(str(exc)) from exc
                # httpx's DeflateDecoder: a "deflate" body without the zlib
                # wrapper (as some servers send) is retried as raw deflate.
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                continue
            self._first = False
            self._input = self._zlib.unconsumed_tail
            self._more = len(out) == limit
            if out:
                return out
            # Nothing yet (a gzip header alone …): all input was used, fetch more.


class _Source:
    """The undecoded body: what the network gave, handed out in ``read`` slices."""

    def __init__(self) -> None:
        self._data = b""

    def feed(self, data: bytes) -> None:
        self._data = self._data + data if self._data else data

    def read(self, limit: int) -> bytes:
        data, self._data = self._data[:limit], self._data[limit:]
        return data


class Inflater:
    """Decode one response body; ``steps(raw)`` gives it back in bounded pieces."""

    def __init__(self, codings: Sequence[str], step: int = STEP_BYTES) -> None:
        self.step = step
        self._source = _Source()
        layer: _Source | _Zlib = self._source
        # Content-Encoding lists codings in the order applied: the last one
        # applied is undone first, so it reads the network's bytes.
        for coding in reversed(codings):
            name = coding.strip().lower()
            if name in ("gzip", "x-gzip", "deflate"):
                layer = _Zlib(name, layer)
        self._top = layer

    @classmethod
    def for_header(cls, values: Sequence[str], step: int = STEP_BYTES) -> Inflater:
        """From the Content-Encoding header's values (comma-separated lists)."""
        return cls([c for v in values for c in v.split(",") if c.strip()], step)

    def steps(self, raw: bytes) -> Iterator[bytes]:
        """The decoded bytes of ``raw`` (and of what earlier reads left), in
        pieces of at most ``step`` bytes.  Raises ContentDecodingError."""
        self._top.feed(raw)
        while piece := self._top.read(self.step):
            yield piece
