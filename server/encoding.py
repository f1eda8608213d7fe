"""Encoding: what the writer does to bytes on their way out (lab: gzip, buffering).

Streams are sent as they are unless the lab turns one of these on for new connections.
"""

from __future__ import annotations

import zlib


class Identity:
    """Bytes pass unchanged: the default."""

    content_encoding: str | None = None

    def encode(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


class Gzip:
    """gzip with a sync flush per write, so every event still leaves at once."""

    content_encoding: str | None = "gzip"

    def __init__(self) -> None:
        self._z = zlib.compressobj(wbits=31)

    def encode(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._z.flush(zlib.Z_FINISH)


class Buffering:
    """A proxy that buffers: nothing leaves until ``threshold`` bytes piled up."""

    content_encoding: str | None = None

    def __init__(self, threshold: int) -> None:
        self._threshold = threshold
        self._held: list[bytes] = []
        self._size = 0

    def encode(self, data: bytes) -> bytes:
        self._held.append(data)
        self._size += len(data)
        if self._size < self._threshold:
            return b""
        return self.finish()

    def finish(self) -> bytes:
        out = b"".join(self._held)
        self._held.clear()
        self._size = 0
        return out


Encoder = Identity | Gzip | Buffering
