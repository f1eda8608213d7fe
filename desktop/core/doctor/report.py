"""Doctor's card as text (coloured on a terminal), JSON, or a self-contained page.

Evidence quotes what the server sent (headers, ids, reason phrases): the text
card passes it through ``terminal_safe``, the HTML card through ``html.escape``.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from desktop.core.doctor.checks import Status, worst
from desktop.core.terminal import terminal_safe

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.core.doctor.checks import Check

_LABELS = {
    Status.PASS: "PASS",
    Status.WARN: "WARN",
    Status.FAIL: "FAIL",
    Status.NOT_APPLICABLE: "N/A ",
    Status.SKIPPED: "SKIP",
}
_COLOURS = {  # SGR: green, yellow, red, dim, dim
    Status.PASS: "32",
    Status.WARN: "33",
    Status.FAIL: "1;31",
    Status.NOT_APPLICABLE: "2",
    Status.SKIPPED: "2",
}
_WIDTH = 100


@dataclass(frozen=True, slots=True)
class Subject:
    """What was examined: the card's heading."""

    url: str
    method: str
    duration_s: float
    fail_on_warn: bool = False


def exit_status(checks: Sequence[Check], *, fail_on_warn: bool) -> int:
    """0 when nothing failed (warnings too, with ``fail_on_warn``), else 1."""
    bad = {Status.FAIL, Status.WARN} if fail_on_warn else {Status.FAIL}
    return 1 if any(c.status in bad for c in checks) else 0


def summary(checks: Sequence[Check]) -> dict[str, int]:
    return {s.value: sum(c.status is s for c in checks) for s in Status}


def _summary_line(checks: Sequence[Check]) -> str:
    counts = summary(checks)
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no checks"


# -- text --------------------------------------------------------------------------


def _paint(text: str, status: Status, color: bool) -> str:
    return f"\x1b[{_COLOURS[status]}m{text}\x1b[0m" if color else text


def _wrapped(label: str, text: str) -> list[str]:
    return textwrap.wrap(
        terminal_safe(text),
        _WIDTH,
        initial_indent=f"        {label}",
        subsequent_indent=" " * (8 + len(label)),
        break_on_hyphens=False,
    )


def text_check(check: Check, *, color: bool) -> str:
    """One check: a line, and for a warning or failure why, fix and source."""
    label = _paint(_LABELS[check.status], check.status, color)
    lines = [f"  {label}  {check.title} [{check.id}]"]
    lines += _wrapped("", check.evidence)
    if check.status in (Status.WARN, Status.FAIL):
        for name, value in (("why: ", check.why), ("fix: ", check.fix)):
            if value:
                lines += _wrapped(name, value)
        if check.source:
            lines += _wrapped("see: ", check.source)
    if check.unjudged:
        lines += _wrapped("could not judge: ", check.unjudged)
    return "\n".join(lines)


def text_card(subject: Subject, checks: Sequence[Check], *, color: bool) -> str:
    heading = (
        f"sse-viewer doctor {terminal_safe(subject.url)} ({subject.method}, "
        f"watched {subject.duration_s:.1f} s)"
    )
    body = "\n".join(text_check(c, color=color) for c in checks)
    return f"{heading}\n{body}\n{_summary_line(checks)}\n"


# -- JSON --------------------------------------------------------------------------


def json_card(subject: Subject, checks: Sequence[Check]) -> bytes:
    """One JSON object: the subject, ``checks`` (each with ``id`` and ``status``),
    the counts and the exit status."""
    document = {
        "url": subject.url,
        "method": subject.method,
        "duration_s": round(subject.duration_s, 3),
        "checks": [c.to_json() for c in checks],
        "summary": summary(checks),
        "exit": exit_status(checks, fail_on_warn=subject.fail_on_warn),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


# -- HTML --------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:62em;padding:0 1em;
color:#1d2330;background:#fbfbfd}
h1{font-size:1.3em;margin-bottom:.2em}.sub{color:#5b6472;margin-top:0}
table{border-collapse:collapse;width:100%}td{padding:.55em .6em;vertical-align:top;
border-top:1px solid #e3e6ec}.st{font-weight:600;white-space:nowrap;width:6em}
.pass .st{color:#1f7a3a}.warn .st{color:#9a6200}.fail .st{color:#b3261e}
.not-applicable .st,.skipped .st{color:#7a8290}.id{color:#7a8290;font-size:.85em}
.ev{font-family:ui-monospace,monospace;font-size:.9em;white-space:pre-wrap;
word-break:break-word}.more{color:#3b4250;font-size:.93em;margin:.3em 0 0}
.more b{font-weight:600}
"""


def _row(check: Check) -> str:
    esc = html.escape
    more = ""
    if check.status in (Status.WARN, Status.FAIL):
        for name, value in (("Why", check.why), ("Fix", check.fix)):
            if value:
                more += f'<p class="more"><b>{name}:</b> {esc(value)}</p>'
        if check.source:
            more += f'<p class="more"><b>See:</b> {esc(check.source)}</p>'
    if check.unjudged:
        more += f'<p class="more"><b>Could not judge:</b> {esc(check.unjudged)}</p>'
    return (
        f'<tr class="{check.status.value}"><td class="st">'
        f"{esc(_LABELS[check.status].strip())}</td><td>{esc(check.title)} "
        f'<span class="id">{esc(check.id)}</span><div class="ev">'
        f"{esc(check.evidence)}</div>{more}</td></tr>"
    )


def html_card(subject: Subject, checks: Sequence[Check]) -> str:
    """One page, no external resource: styles inline, every server text escaped."""
    esc = html.escape
    status = worst(list(checks))
    rows = "\n".join(_row(c) for c in checks)
    verdict = status.value if status is not None else "no checks"
    return (
        "<!doctype html>\n<html lang=en><meta charset=utf-8>"
        f"<title>sse-viewer doctor: {esc(subject.url)}</title>"
        f"<style>{_STYLE}</style>\n<h1>sse-viewer doctor</h1>"
        f'<p class="sub">{esc(subject.method)} {esc(subject.url)} · watched '
        f"{subject.duration_s:.1f} s · worst: {esc(verdict)} · "
        f"{esc(_summary_line(checks))}</p>\n<table>\n{rows}\n</table>\n"
    )
