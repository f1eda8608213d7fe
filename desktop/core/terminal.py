"""Terminal-safe text: what a server sent, with the characters a terminal obeys escaped.

A server controls event data, types, ids, comments, status reason phrases and
more.  Printed as they are, ESC starts CSI/OSC sequences (recolour, retitle,
move the cursor, hide text, write the clipboard with OSC 52), BEL rings, CR
overwrites the line, the C1 controls U+0080-U+009F act as 8-bit ESC sequences
in many terminals, and the bidirectional overrides and isolates reorder what the
reader sees ("Trojan Source", https://trojansource.codes/).  ``terminal_safe``
shows each as an escape, as Python's ``repr`` does (``\\x1b``, ``\\u202e``), and
leaves everything else alone: the text stays readable and nothing is dropped.
A backslash is left as it is, so a literal ``\\x1b`` in the data reads the same
as an escaped ESC: telling them apart is what ``--format json`` is for.
"""

from __future__ import annotations

import re

# C0 but TAB and LF, DEL, C1; ALM, LRM, RLM; LRE RLE PDF LRO RLO; LRI RLI FSI PDI.
_UNSAFE_CHARS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
)
_UNSAFE = re.compile(f"[{_UNSAFE_CHARS}]")
_UNSAFE_OR_LF = re.compile(f"[\n{_UNSAFE_CHARS}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control and bidi control escaped; TAB kept.

    ``newlines=True`` keeps LF too (multi-line event data); otherwise it is
    escaped, so that a value that should be one line is one line.
    """
    return (_UNSAFE if newlines else _UNSAFE_OR_LF).sub(_escape, text)
