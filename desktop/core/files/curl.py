"""A stream's request as a curl command, to reproduce it outside the app.

The headers are the engine's own (:func:`desktop.core.engine.request.request_headers`):
``Accept: text/event-stream``, ``Cache-Control: no-cache``, ``Last-Event-ID``
when there is one, then the user's.  ``-N`` turns off curl's output buffering,
so events show as they arrive; ``-L`` follows redirects, as the engine does.
Every word is quoted with :func:`shlex.quote`.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from desktop.core.engine.request import request_headers

if TYPE_CHECKING:
    from desktop.core.engine.options import StreamOptions

_BREAK = " \\\n  "  # one option per line, as browsers' "Copy as cURL"


def curl_command(options: StreamOptions, last_event_id: str = "") -> str:
    """The command for one attempt that resumes after ``last_event_id`` (none for
    the naive client, ``send_last_event_id=False``, as the engine sends none)."""
    if not options.send_last_event_id:
        last_event_id = ""
    words: list[list[str]] = [["curl", "-N", "-L"]]  # -L: the engine follows redirects
    # curl infers POST from a body and GET without one; say -X only otherwise.
    inferred = "POST" if options.body is not None else "GET"
    if options.method.upper() != inferred:
        words.append(["-X", options.method.upper()])
    for name, value in request_headers(options, last_event_id):
        header = f"{name.decode('utf-8')}: {value.decode('utf-8', 'replace')}"
        words.append(["-H", header])
    if options.body is not None:
        body = options.body.decode("utf-8", "replace")
        # --data-binary @x would read the file x; --data-raw sends it as is.
        flag = "--data-raw" if body.startswith("@") else "--data-binary"
        words.append([flag, body])
    words.append([options.url])
    return _BREAK.join(" ".join(shlex.quote(w) for w in group) for group in words)
