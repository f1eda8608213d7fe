"""Doctor's rules for the response and the browser: observations in, checks out.

The stream's behaviour over time (timing, delivery, reconnects, spec traps) is
judged in stream_rules.py.  Every rule is a pure function of ``Observations``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.doctor.checks import CATALOG, Check, Status
from desktop.core.doctor.probe import CORS_ORIGIN
from desktop.core.engine.records import Outcome

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.core.doctor.probe import Attempt, Observations

SSE = "WHATWG HTML 9.2 Server-sent events"
PROCESSING = "WHATWG HTML 9.2.3 Processing model"
AUTHORING = "WHATWG HTML 9.2.7 Authoring notes"
INTERPRETING = "WHATWG HTML 9.2.6 Interpreting an event stream"


def check(
    check_id: str,
    status: Status,
    evidence: str,
    why: str = "",
    fix: str = "",
    source: str = "",
    unjudged: str = "",
) -> Check:
    return Check(
        check_id, CATALOG[check_id], status, evidence, why, fix, source, unjudged
    )


def header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def head_headers(attempt: Attempt) -> tuple[tuple[str, str], ...] | None:
    """The response headers of an attempt, stream or not (None: no response)."""
    if attempt.open is not None:
        return attempt.open.headers
    if attempt.closed is not None and attempt.closed.response is not None:
        return attempt.closed.response.headers
    return None


def no_stream(obs: Observations) -> str | None:
    """Why there is no stream to examine, or None when the watch opened one."""
    head = obs.head
    if head is None:
        return "nothing was tried"
    if head.open is not None:
        return None
    if head.closed is not None:
        return f"no stream: {head.closed.reason}"
    return f"no response in {obs.plan.duration_s:g} s"


# -- the response ------------------------------------------------------------------


def _status(obs: Observations) -> Check:
    head = obs.head
    assert head is not None
    if head.open is not None:
        return check("response.status", Status.PASS, f"HTTP {head.open.status}")
    closed = head.closed
    why = (
        "A browser's EventSource fails the connection on any status but 200 "
        "and stops for good (only network errors make it reconnect)."
    )
    if closed is None:
        return check(
            "response.status",
            Status.FAIL,
            f"no response headers within {obs.plan.duration_s:g} s",
            why,
            "Send the response headers at once, before the first event.",
            PROCESSING,
        )
    if closed.outcome is Outcome.CONTENT_TYPE:
        return check("response.status", Status.PASS, f"HTTP {closed.status}")
    if closed.outcome is Outcome.NO_CONTENT:
        return check(
            "response.status",
            Status.FAIL,
            "HTTP 204 No Content on the first request: the server says stop",
            why,
            "Answer 200 with text/event-stream; keep 204 for a stream that is over.",
            PROCESSING,
        )
    evidence = closed.reason
    response = closed.response
    if response is not None and response.body.strip():
        first = response.body.strip().splitlines()[0][:200]
        evidence = f"{evidence}; body: {first}"
    return check(
        "response.status",
        Status.FAIL,
        evidence,
        why,
        "Answer the stream's URL with 200 and Content-Type: text/event-stream "
        "(check the URL, method, credentials and any proxy on the way).",
        PROCESSING,
    )


def _content_type(obs: Observations, headers: Sequence[tuple[str, str]]) -> Check:
    value = header(headers, "content-type")
    shown = f"Content-Type: {value}" if value is not None else "no Content-Type"
    head = obs.head
    assert head is not None
    if head.open is not None:
        return check("response.content-type", Status.PASS, shown)
    return check(
        "response.content-type",
        Status.FAIL,
        shown,
        "A browser fails an EventSource whose response is not text/event-stream "
        "and never reconnects; onmessage never fires.",
        "Send Content-Type: text/event-stream (charset, if any, utf-8).",
        PROCESSING,
    )


def _cache_control(headers: Sequence[tuple[str, str]]) -> Check:
    value = header(headers, "cache-control")
    why = (
        "A cache or proxy may store the stream or hand a client a stale copy, "
        "and one that transforms bodies (compression, minifying) holds bytes back."
    )
    fix = "Send Cache-Control: no-cache, no-transform (or no-store, no-transform)."
    source = "RFC 9111 5.2.2 (no-cache, no-store, no-transform)"
    if value is None:
        return check(
            "response.cache-control",
            Status.WARN,
            "no Cache-Control",
            why,
            fix,
            source,
        )
    words = {w.strip().lower() for w in value.split(",")}
    missing = [w for w in ("no-transform",) if w not in words]
    if not words & {"no-cache", "no-store"}:
        missing.insert(0, "no-cache")
    if missing:
        return check(
            "response.cache-control",
            Status.WARN,
            f"Cache-Control: {value} (without {' and '.join(missing)})",
            why,
            fix,
            source,
        )
    return check("response.cache-control", Status.PASS, f"Cache-Control: {value}")


def _accel(headers: Sequence[tuple[str, str]]) -> Check:
    value = header(headers, "x-accel-buffering")
    server = header(headers, "server") or ""
    via = header(headers, "via")
    why = (
        "nginx buffers proxied responses by default and passes events on only "
        "when its buffer fills or the response ends, unless the upstream says "
        "X-Accel-Buffering: no."
    )
    fix = "Send X-Accel-Buffering: no (or proxy_buffering off; for the route)."
    source = "nginx docs: ngx_http_proxy_module, proxy_buffering"
    if value is not None and value.strip().lower() == "no":
        return check(
            "response.x-accel-buffering", Status.PASS, f"X-Accel-Buffering: {value}"
        )
    if value is not None:
        return check(
            "response.x-accel-buffering",
            Status.FAIL,
            f"X-Accel-Buffering: {value}",
            why,
            fix,
            source,
        )
    proxied = "nginx" in server.lower() or via is not None
    if proxied:
        sign = f"Server: {server}" if "nginx" in server.lower() else f"Via: {via}"
        return check(
            "response.x-accel-buffering",
            Status.WARN,
            f"not sent, behind a proxy ({sign})",
            why,
            fix,
            source,
        )
    return check(
        "response.x-accel-buffering",
        Status.NOT_APPLICABLE,
        "not sent; no sign of nginx or another proxy (Server, Via)",
        why,
        "Send it anyway if nginx may ever stand in front.",
        source,
    )


def _encoding(headers: Sequence[tuple[str, str]]) -> Check:
    value = header(headers, "content-encoding")
    if value is None or value.strip().lower() == "identity":
        return check("response.content-encoding", Status.PASS, "not compressed")
    return check(
        "response.content-encoding",
        Status.WARN,
        f"Content-Encoding: {value}",
        "A compressor holds bytes until its block fills unless the server flushes "
        "after every event, so events can arrive late and in bursts; some proxies "
        "buffer compressed responses whole.",
        "Turn compression off for text/event-stream responses, in the app and in "
        "any proxy (e.g. GZipMiddleware, nginx gzip_types).",
        AUTHORING,
    )


def _length(headers: Sequence[tuple[str, str]]) -> Check:
    value = header(headers, "content-length")
    if value is None:
        return check("response.content-length", Status.PASS, "no Content-Length")
    return check(
        "response.content-length",
        Status.FAIL,
        f"Content-Length: {value}",
        "A stream has no length: clients and proxies stop reading after that "
        "many bytes, or wait for them all before passing anything on.",
        "Send no Content-Length: stream with chunked encoding (HTTP/1.1) or "
        "HTTP/2 frames.",
        "RFC 9112 6.3 Message body length",
    )


def _http_version(obs: Observations) -> Check:
    head = obs.head
    assert head is not None and head.open is not None
    version = head.open.http_version
    if version != "HTTP/1.1":
        return check(
            "browser.http-version",
            Status.PASS,
            f"{version}: many streams share one connection",
        )
    return check(
        "browser.http-version",
        Status.WARN,
        "HTTP/1.1",
        "Over HTTP/1.1 a browser opens at most six connections per host, and "
        "every open EventSource keeps one: a seventh tab of the site waits, "
        "fetches included.",
        "Serve over HTTPS with HTTP/2 (browsers speak HTTP/2 only over TLS), or "
        "share one EventSource between tabs (a SharedWorker, BroadcastChannel).",
        AUTHORING,
    )


def head_checks(obs: Observations) -> list[Check]:
    """The response's checks (and the HTTP version), from the watch's first answer."""
    head = obs.head
    assert head is not None
    out = [_status(obs)]
    headers = head_headers(head)
    if headers is None:
        return out
    out.append(_content_type(obs, headers))
    if head.open is None:
        return out
    out += [
        _cache_control(headers),
        _accel(headers),
        _encoding(headers),
        _length(headers),
        _http_version(obs),
    ]
    return out


# -- the browser -------------------------------------------------------------------

_CORS_SOURCE = "WHATWG Fetch 3.2 CORS protocol; WHATWG HTML 9.2.2 withCredentials"


def cors_checks(obs: Observations) -> list[Check]:
    """``browser.cors`` and ``browser.cors-credentials``."""
    ids = ("browser.cors", "browser.cors-credentials")
    if obs.method != "GET":
        return [
            check(
                i,
                Status.NOT_APPLICABLE,
                f"a {obs.method}: a page's EventSource only makes GET requests",
            )
            for i in ids
        ]
    attempt = obs.cors
    if attempt is None:
        return [check(i, Status.SKIPPED, "not run") for i in ids]
    headers = head_headers(attempt)
    if headers is None or attempt.open is None:
        why = attempt.closed.reason if attempt.closed is not None else "no answer"
        return [
            check(
                i,
                Status.FAIL,
                f"with Origin: {CORS_ORIGIN}: {why}",
                "The stream refuses requests from pages of other origins.",
                "Answer cross-origin GETs of the stream (with the CORS headers).",
                _CORS_SOURCE,
            )
            for i in ids
        ]
    allow = header(headers, "access-control-allow-origin")
    credentials = (header(headers, "access-control-allow-credentials") or "").strip()
    shown = (
        f"Access-Control-Allow-Origin: {allow}"
        if allow
        else ("no Access-Control-Allow-Origin")
    )
    fix = (
        "Allow the page's origin: Access-Control-Allow-Origin: <origin> (or * "
        "without credentials), e.g. starlette's CORSMiddleware."
    )
    custom = [h for h in obs.custom_headers if h not in ("last-event-id",)]
    note = ""
    if custom:
        note = (
            f"; the request adds {', '.join(custom)}, which an EventSource cannot "
            "send (only the URL and cookies)"
        )
    if allow is None:
        plain = check(
            "browser.cors",
            Status.WARN,
            f"with Origin: {CORS_ORIGIN}: {shown}{note}",
            "Only pages of the stream's own origin can open it: on any other the "
            "EventSource fails at once (onerror, readyState CLOSED).",
            fix,
            _CORS_SOURCE,
        )
    elif allow.strip() in ("*", CORS_ORIGIN):
        status = Status.WARN if custom else Status.PASS
        plain = check(
            "browser.cors",
            status,
            f"{shown}{note}",
            "An EventSource cannot send headers: a page can only authenticate it "
            "with cookies or the URL."
            if custom
            else "",
            "",
            _CORS_SOURCE,
        )
    else:
        plain = check(
            "browser.cors",
            Status.WARN,
            f"{shown} (not {CORS_ORIGIN}){note}",
            "Only that origin's pages can open it.",
            fix,
            _CORS_SOURCE,
        )
    echoes = allow is not None and allow.strip() == CORS_ORIGIN
    if echoes and credentials.lower() == "true":
        with_credentials = check(
            "browser.cors-credentials",
            Status.PASS,
            f"{shown}, Access-Control-Allow-Credentials: true",
        )
    else:
        missing = "Access-Control-Allow-Credentials: true"
        if not echoes:
            missing = f"Access-Control-Allow-Origin: {CORS_ORIGIN} (the page's own)"
        with_credentials = check(
            "browser.cors-credentials",
            Status.WARN,
            f"{shown}; missing {missing}",
            "new EventSource(url, {withCredentials: true}) sends cookies and needs "
            "the page's origin echoed (never *) and Allow-Credentials: true.",
            "Echo an allowed Origin and send Access-Control-Allow-Credentials: true "
            "(CORSMiddleware(allow_credentials=True, allow_origins=[...])).",
            _CORS_SOURCE,
        )
    return [plain, with_credentials]


def skipped_checks(ids: Sequence[str], why: str) -> list[Check]:
    return [check(i, Status.SKIPPED, why) for i in ids]
