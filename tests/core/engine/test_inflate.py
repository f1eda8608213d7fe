"""Bounded content decoding: same bytes as zlib, never more than a step at a time."""

from __future__ import annotations

import random
import tracemalloc
import zlib

import pytest

from desktop.core.engine.inflate import ContentDecodingError, Inflater


def gzip(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def deflate(data: bytes, *, raw: bool = False) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15 if raw else 15)
    return c.compress(data) + c.flush()


def decode(inflater: Inflater, reads: list[bytes]) -> list[bytes]:
    return [piece for read in reads for piece in inflater.steps(read)]


def cut(data: bytes, rng: random.Random, most: int = 5000) -> list[bytes]:
    reads, i = [], 0
    while i < len(data):
        n = rng.randint(1, most)
        reads.append(data[i : i + n])
        i += n
    return reads


PLAIN = b"".join(b"id: %d\ndata: %s\n\n" % (i, b"x" * (i % 97)) for i in range(3000))


@pytest.mark.parametrize(
    ("header", "body"),
    [
        ([], PLAIN),
        (["identity"], PLAIN),
        (["gzip"], gzip(PLAIN)),
        (["x-gzip"], gzip(PLAIN)),
        (["GZip "], gzip(PLAIN)),
        (["deflate"], deflate(PLAIN)),
        (["deflate"], deflate(PLAIN, raw=True)),  # as httpx accepts it too
        (["deflate, gzip"], gzip(deflate(PLAIN))),  # applied in this order
        (["deflate", "gzip"], gzip(deflate(PLAIN))),
        (["gzip, identity"], gzip(PLAIN)),
        (["br"], PLAIN),  # unknown codings pass through, as in httpx
    ],
)
@pytest.mark.parametrize("seed", [1, 2])
def test_same_bytes_in_bounded_pieces(
    header: list[str], body: bytes, seed: int
) -> None:
    inflater = Inflater.for_header(header, step=1000)
    pieces = decode(inflater, cut(body, random.Random(seed)))
    assert b"".join(pieces) == PLAIN
    assert max(map(len, pieces)) <= 1000


def test_a_bomb_comes_out_one_step_at_a_time() -> None:
    """16 MB of line ends in one 16 KB read: pieces of 64 KiB, memory flat."""
    bomb = gzip(b"\n" * (16 << 20))
    assert len(bomb) < 20_000
    inflater = Inflater.for_header(["gzip"])
    tracemalloc.start()
    try:
        total = steps = 0
        for piece in inflater.steps(bomb):
            assert len(piece) <= 64 << 10
            total += len(piece)
            steps += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 16 << 20
    assert steps == 256
    assert peak < 4 << 20, peak


def test_corrupt_body_raises_content_decoding_error() -> None:
    inflater = Inflater.for_header(["gzip"])
    with pytest.raises(ContentDecodingError):
        decode(inflater, [b"data: a\n\n"])
    inflater = Inflater.for_header(["deflate"])
    with pytest.raises(ContentDecodingError):
        decode(inflater, [deflate(PLAIN)[:100], b"\xff" * 100])
