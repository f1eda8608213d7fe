"""Generated SSE streams and read cuts, shared by the decoder and raw-map tests.

Both check a reader against an oracle for any stream cut into any reads; they
draw streams from the same line vocabulary (fields, odd spellings, broken UTF-8,
a BOM, NUL in ids) so that a line added here exercises both.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from hypothesis import strategies as st

if TYPE_CHECKING:
    from collections.abc import Iterable

LINES = [
    b"",
    b"",
    b"",
    b"data: a",
    b"data:b",
    b"data",
    b"data:  c",
    b"data: \xe2\x82\xac",
    b"data: \xf0\x9f\x98\x80",
    b"data: \xff",
    b"data: \xe2\x82",
    b"event: e",
    b"event",
    b"id: 1",
    b"id: 22",
    b"id",
    b"id: \x00x",
    b"id:\x00",
    b"id:3",
    b"retry: 10",
    b"retry: 1x",
    b"retry:  5",
    b"retry: \xd9\xa1",
    b": c",
    b":",
    b"foo: bar",
    b"\xef\xbb\xbf",
    b"data: a\xc2\x85b",
]
ENDS = [b"\n", b"\r", b"\r\n"]
ENDS = [b"\n", b"\r", b"\r\n"]
BOMS = [b"", b"\xef\xbb\xbf"]
TAILS = [b"", b"data: partial", b"id: 9", b"\r"]


def sse_streams(
    boms: Iterable[bytes] = BOMS, tails: Iterable[bytes] = TAILS
) -> st.SearchStrategy[bytes]:
    """A BOM (or not), up to 40 lines of ``LINES`` with any line ends, a tail."""
    return st.builds(
        lambda bom, body, tail: bom + b"".join(body) + tail,
        st.sampled_from(list(boms)),
        st.lists(
            st.builds(bytes.__add__, st.sampled_from(LINES), st.sampled_from(ENDS)),
            max_size=40,
        ),
        st.sampled_from(list(tails)),
    )


def cut(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` split at ``cuts`` (positions outside 1..len-1 are ignored)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]
