"""Terminal-safe text: server-controlled controls and bidi marks reach tail escaped."""

from __future__ import annotations

import io

import pytest

from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    DelaySource,
    Error,
    Event,
    Notice,
    NoticeKind,
    Open,
    Outcome,
    Reconnecting,
)
from desktop.core.terminal import terminal_safe
from desktop.tail_output import make_emitter

# Everything a terminal acts on: C0 (ESC, BEL, CR, BS, NUL …), DEL, C1 (CSI
# U+009B, OSC U+009D …) and the bidi controls.
HOSTILE = (
    "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\r\x08\x00\x7f\x9b31m\x9d"
    "\u202eevil\u202c\u2066x\u2069\u200e\u200f\u061c"
)
UNSAFE = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + [
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
    "\u200e",
    "\u200f",
    "\u061c",
]


@pytest.mark.parametrize(
    ("text", "newlines", "shown"),
    [
        ("ünïcödé, 日本, emoji 🎉", False, "ünïcödé, 日本, emoji 🎉"),
        ("a\tb", False, "a\tb"),
        ("a\nb", False, "a\\x0ab"),
        ("a\nb", True, "a\nb"),
        ("\x1b[31mred\x1b[0m", False, "\\x1b[31mred\\x1b[0m"),
        ("\x1b]0;title\x07", False, "\\x1b]0;title\\x07"),
        ("over\rwrite", True, "over\\x0dwrite"),
        ("c1 \x9b1m \x85", False, "c1 \\x9b1m \\x85"),
        ("\u202etxt.exe", False, "\\u202etxt.exe"),
        ("\u2066\u2067\u2068\u2069", False, "\\u2066\\u2067\\u2068\\u2069"),
        ("\\x1b stays", False, "\\x1b stays"),
        ("", False, ""),
    ],
)
def test_terminal_safe_table(text: str, newlines: bool, shown: str) -> None:
    assert terminal_safe(text, newlines=newlines) == shown


@pytest.mark.parametrize("char", UNSAFE)
def test_no_unsafe_character_survives(char: str) -> None:
    shown = terminal_safe(f"a{char}b", newlines=char == "\n")
    if char in "\t\n":
        assert shown == f"a{char}b"
    else:
        assert char not in shown
        assert shown.startswith("a\\") and shown.endswith("b")


def _records() -> list[object]:
    reason = f"HTTP 500 {HOSTILE}"
    return [
        Connecting(2, f"http://127.0.0.1/{HOSTILE}", HOSTILE, 0.0, 0.0),
        Open(200, (), 2, "http://127.0.0.1/", 0.0, 0.0),
        Event(HOSTILE, f"line1 {HOSTILE}\nline2 {HOSTILE}", HOSTILE, None, 2, 0, 0),
        Comment(HOSTILE, 2, 0.0, 0.0),
        Notice(NoticeKind.NO_DATA, HOSTILE, 2, 0.0, 0.0),
        Error(HOSTILE, 2, 0.0, 0.0),
        Reconnecting(10, DelaySource.SERVER, reason, Outcome.NETWORK, 2, 0.0, 0.0),
        Closed(reason, Outcome.STATUS, True, 500, 0.0, 0.0),
    ]


def _visible(text: str) -> None:
    for char in UNSAFE:
        if char in "\t\n":
            continue
        # Our own colours are ESC sequences: none is asked for here.
        assert char not in text, (char, text)


@pytest.mark.parametrize("quiet", [False, True])
def test_every_text_tail_prints_is_terminal_safe(quiet: bool) -> None:
    out, err = io.BytesIO(), io.StringIO()
    emit = make_emitter(
        "text", quiet=quiet, color="never", out=out, err=err, notices=True
    )
    emit(_records())  # type: ignore[arg-type]
    stdout = out.getvalue().decode()
    _visible(stdout)
    _visible(err.getvalue())
    assert "line1 \\x1b[2J" in stdout and "\n    line2 " in stdout  # data lines kept
    assert "\\u202eevil" in stdout
    assert "HTTP 500 \\x1b[2J" in err.getvalue()  # the failure line on stderr


def test_json_format_stderr_lines_are_terminal_safe() -> None:
    out, err = io.BytesIO(), io.StringIO()
    emit = make_emitter("json", quiet=False, color="never", out=out, err=err)
    emit(_records())  # type: ignore[arg-type]
    _visible(err.getvalue())
    assert err.getvalue().count("\n") == 2  # the Error and the failed Closed
