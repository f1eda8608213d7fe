"""Headless tail: command-line options -> the engine -> text or NDJSON records.

Exit status: 0 when the stream closed on purpose (close-on, count, 204, the
server ending it with --no-reconnect, Ctrl-C), 1 when it closed by failure,
2 for a usage error.  Output is flushed after the records of each network
read: nothing waits in a buffer while the engine waits for the network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import getpass
import http.cookiejar
import os
import signal
import ssl
import sys
import time
from typing import TYPE_CHECKING

import httpx
import orjson

from desktop.core.engine.credentials import parse_cookie
from desktop.core.engine.options import (
    DEFAULT_HEADERS_TIMEOUT_S,
    DEFAULT_MAX_EVENT_BYTES,
    StreamOptions,
    check_header,
)
from desktop.core.engine.records import Closed, Outcome
from desktop.core.engine.stream import EventStream
from desktop.core.engine.transport import (
    Transport,
    TrustedCertificate,
    make_client,
    place_of,
)
from desktop.core.terminal import terminal_safe
from desktop.tail_output import PROG, make_emitter

# An encrypted client key's passphrase: from the environment, never an argument
# (the command line is visible to every user of the machine).
KEY_PASSPHRASE_ENV = "SSE_VIEWER_KEY_PASSPHRASE"

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from desktop.core.engine.records import Record


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon:
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    try:
        return check_header(name, value.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cookie(text: str) -> tuple[str, str]:
    try:
        return parse_cookie(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _positive(text: str) -> int:
    value = _natural(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected 1 or more, got 0")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds, got {text}")
    return value


def _seconds_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text}")
    return value or None


def _statuses(text: str) -> frozenset[int]:
    try:
        codes = frozenset(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected statuses like 502,503,504, got {text!r}"
        ) from None
    if not codes or any(not 100 <= code <= 599 for code in codes):
        raise argparse.ArgumentTypeError(f"expected HTTP statuses, got {text!r}")
    return codes


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    """The request options (headers, method and body, timeouts, TLS, proxy,
    credentials): tail's, and every command that makes tail's request (doctor)."""
    request = parser.add_argument_group("request")
    request.add_argument(
        "-H", "--header", action="append", type=_header, default=[],
        metavar="'NAME: VALUE'", help="send this header on every attempt (repeatable)",
    )  # fmt: skip
    request.add_argument(
        "-X", "--method", help="HTTP method (default GET, or POST with a body)"
    )
    body = request.add_mutually_exclusive_group()
    body.add_argument(
        "--data", metavar="TEXT|@FILE", help="request body (POST streams)"
    )
    body.add_argument(
        "--json", metavar="JSON|@FILE", help="JSON request body; sets Content-Type"
    )
    request.add_argument(
        "--last-event-id",
        default="",
        metavar="ID",
        help="Last-Event-ID for the first request",
    )
    request.add_argument(
        "--timeout", type=_seconds, metavar="S",
        help="connect and read timeout: connecting takes at most S (default 30) "
        "and S seconds without a byte become a reconnect; without it an open "
        "stream may stay silent for ever, as in a browser (the response headers "
        "have --headers-timeout)",
    )  # fmt: skip
    request.add_argument(
        "--headers-timeout", type=_seconds_or_none, metavar="S",
        default=DEFAULT_HEADERS_TIMEOUT_S,
        help="no response headers within S seconds of starting an attempt "
        "(redirects included) is a network error and a reconnect (default "
        f"{DEFAULT_HEADERS_TIMEOUT_S:g}; 0: wait for ever)",
    )  # fmt: skip
    tls = parser.add_argument_group(
        "TLS",
        "Certificates are verified against the operating system's trust store "
        "(SSL_CERT_FILE replaces it); SSLKEYLOGFILE=FILE writes the session keys "
        "for Wireshark.",
    )
    tls.add_argument(
        "-k", "--insecure", action="store_true", help="do not verify TLS certificates"
    )
    proxy = request.add_mutually_exclusive_group()
    proxy.add_argument(
        "--proxy", metavar="URL",
        help="connect through this proxy (http://[user:pass@]host:port, CONNECT for "
        "https; socks5://host:port), loopback too; default: HTTP_PROXY, HTTPS_PROXY, "
        "ALL_PROXY and NO_PROXY from the environment, never for loopback",
    )  # fmt: skip
    proxy.add_argument(
        "--noproxy", action="store_true",
        help="connect directly, ignoring the environment's proxy variables",
    )  # fmt: skip
    request.add_argument(
        "--http1.1", dest="http1_1", action="store_true",
        help="speak HTTP/1.1 only (default: HTTP/2 when an https server offers it)",
    )  # fmt: skip
    tls.add_argument(
        "--cacert", metavar="FILE",
        help="also trust the CA certificates in this PEM file",
    )  # fmt: skip
    tls.add_argument(
        "--pin", metavar="SHA256", action="append", default=[],
        help="trust the server certificate with this SHA-256 fingerprint (as a "
        "refused certificate's message prints it; colons optional), for the URL's "
        "own host and port only: a self-signed server without -k (repeatable)",
    )  # fmt: skip
    tls.add_argument(
        "--cert", metavar="FILE",
        help="client certificate (PEM; may hold the key too) for servers that "
        "require one (mTLS)",
    )  # fmt: skip
    tls.add_argument(
        "--key", metavar="FILE",
        help=f"the client certificate's private key (PEM); an encrypted key's "
        f"passphrase is read from ${KEY_PASSPHRASE_ENV}",
    )  # fmt: skip
    credentials = parser.add_argument_group(
        "credentials",
        "sent to the stream's own origin only: a redirect to another origin drops "
        "them all, with Authorization, Proxy-Authorization and every header whose "
        "name holds authorization, cookie, token, secret, key or password",
    )
    credentials.add_argument(
        "-u", "--user", metavar="USER[:PASSWORD]",
        help="Basic auth; without :PASSWORD it is asked for on a terminal",
    )  # fmt: skip
    credentials.add_argument(
        "-b", "--cookie", action="append", type=_cookie, default=[],
        metavar="NAME=VALUE",
        help="send this cookie to the stream's host (repeatable); cookies the "
        "server sets are sent on reconnects, as a browser does",
    )  # fmt: skip
    credentials.add_argument(
        "--cookie-jar", metavar="FILE",
        help="read cookies from this Netscape cookie file (curl's -c, browser "
        "export add-ons); only those matching the URL are sent",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Print a Server-Sent Events stream, reconnecting as a browser "
        "EventSource does.",
        epilog="Exit status: 0 closed on purpose, 1 closed by failure, 2 usage error.",
    )
    parser.add_argument("url", help="the stream's http:// or https:// URL")
    add_request_arguments(parser)
    reconnect = parser.add_argument_group("reconnecting")
    reconnect.add_argument(
        "--retry", type=_natural, metavar="MS",
        help="initial reconnection time (default 3000); retry: from the server wins",
    )  # fmt: skip
    reconnect.add_argument(
        "--max-attempts", type=_natural, metavar="N",
        help="give up after N consecutive failed reconnection attempts",
    )  # fmt: skip
    reconnect.add_argument(
        "--no-reconnect", action="store_true", help="never reconnect"
    )
    reconnect.add_argument(
        "--no-resume", action="store_true",
        help="never send Last-Event-ID: reconnects miss what was sent meanwhile",
    )  # fmt: skip
    reconnect.add_argument(
        "--max-backoff", type=_positive, metavar="MS",
        help="opt-in exponential backoff with jitter, capped at MS (beyond the "
        "spec): from the reconnection time, at least 250 ms; a connection that "
        "brought no event counts as failed",
    )  # fmt: skip
    reconnect.add_argument(
        "--reconnect-on-status", type=_statuses, default=frozenset(), metavar="CODES",
        help="reconnect on these statuses, e.g. 502,503,504 (beyond the spec)",
    )  # fmt: skip
    until = parser.add_argument_group("closing")
    until.add_argument(
        "--close-on", action="append", default=[], metavar="TYPE",
        help="close for good after an event of this type (repeatable)",
    )  # fmt: skip
    until.add_argument(
        "--count", type=_positive, metavar="N", help="close after N events"
    )
    until.add_argument(
        "--max-event-bytes", type=_positive, metavar="N",
        default=DEFAULT_MAX_EVENT_BYTES,
        help="refuse to buffer a line or event larger than N bytes (default 1 MiB)",
    )  # fmt: skip
    output = parser.add_argument_group("output")
    output.add_argument(
        "--format", choices=("text", "json"), default="text",
        help="text (default) or json: NDJSON, one record a line",
    )  # fmt: skip
    output.add_argument(
        "--comments", action="store_true", help="also print comments (pings)"
    )
    output.add_argument(
        "--notices",
        action="store_true",
        help="text: also print what the spec made the client ignore (a bad retry:, "
        "an event without data …)",
    )
    output.add_argument("-q", "--quiet", action="store_true", help="text: events only")
    output.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser


def _body(args: argparse.Namespace) -> tuple[bytes | None, list[tuple[str, str]]]:
    text = args.json if args.json is not None else args.data
    if text is None:
        return None, []
    if text.startswith("@"):
        with open(text[1:], "rb") as file:
            body = file.read()
    else:
        body = text.encode()
    extra = []
    if args.json is not None:
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"--json is not valid JSON: {exc}") from None
        extra.append(("Content-Type", "application/json"))
    return body, extra


def _credentials(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """``-u``'s user and password; the password asked for when left out."""
    if args.user is None:
        return None, None
    user, colon, password = args.user.partition(":")
    if not colon and sys.stdin.isatty():
        password = getpass.getpass(f"{PROG}: password for {user}: ")
    return user, password


def _check_cookie_jar(path: str | None) -> None:
    """A cookie file that cannot be read is a usage error, said before connecting."""
    if path is not None:
        try:
            http.cookiejar.MozillaCookieJar(path).load(ignore_discard=True)
        except OSError as exc:  # LoadError is one
            raise ValueError(f"--cookie-jar {path}: {exc}") from None


def _pins(args: argparse.Namespace) -> frozenset[TrustedCertificate]:
    """``--pin``: certificates trusted by their SHA-256 for the URL's host and port
    (a redirect elsewhere does not carry them)."""
    if not args.pin:
        return frozenset()
    try:
        place = place_of(httpx.URL(args.url))
    except httpx.InvalidURL:
        place = None
    if place is None:
        raise ValueError(
            "--pin needs an https:// URL: it names the certificate of its host and port"
        )
    pins = set()
    for pin in args.pin:
        sha = pin.replace(":", "").lower()
        if len(sha) != 64 or sha.strip("0123456789abcdef"):
            raise ValueError(
                f"--pin {pin}: give the certificate's SHA-256, 64 hex digits (colons "
                "allowed), as the message of a refused certificate prints it"
            )
        pins.add(TrustedCertificate(*place, sha))
    return frozenset(pins)


def request_options(args: argparse.Namespace) -> StreamOptions:
    """The request of ``add_request_arguments``' options (ValueError, OSError:
    a body or cookie file that cannot be read or parsed)."""
    body, extra = _body(args)
    _check_cookie_jar(args.cookie_jar)
    user, password = _credentials(args)
    method = (args.method or ("POST" if body is not None else "GET")).upper()
    return StreamOptions(
        url=args.url,
        method=method,
        headers=(*extra, *args.header),
        body=body,
        last_event_id=args.last_event_id,
        connect_timeout=args.timeout or 30.0,
        read_timeout=args.timeout,
        headers_timeout=args.headers_timeout,
        transport=Transport(
            verify=not args.insecure,
            proxy=args.proxy or None,
            trust_env=not args.noproxy,
            http2=not args.http1_1,
            ca_file=args.cacert,
            trusted_fingerprints=_pins(args),
            client_cert=args.cert,
            client_key=args.key,
            client_key_password=os.environ.get(KEY_PASSPHRASE_ENV) or None,
        ),
        user=user,
        password=password,
        cookies=tuple(args.cookie),
        cookie_file=args.cookie_jar,
    )


def options_from(args: argparse.Namespace) -> StreamOptions:
    return dataclasses.replace(
        request_options(args),
        retry_ms=args.retry,
        max_attempts=args.max_attempts,
        reconnect=not args.no_reconnect,
        send_last_event_id=not args.no_resume,
        close_on=frozenset(args.close_on),
        count=args.count,
        max_event_bytes=args.max_event_bytes,
        max_backoff_ms=args.max_backoff,
        reconnect_on_status=args.reconnect_on_status,
        comments=args.comments,
    )


# -- running -----------------------------------------------------------------------


async def _consume(
    stream: EventStream,
    emit: Callable[[list[Record]], None],
) -> Closed | None:
    last: Closed | None = None
    async for batch in stream.batches():
        emit(batch)
        tail = batch[-1]
        if type(tail) is Closed:
            last = tail
    return last


async def _run(
    args: argparse.Namespace, options: StreamOptions, client: httpx.AsyncClient
) -> int:
    out = sys.stdout.buffer
    err = sys.stderr
    emit = make_emitter(
        args.format,
        quiet=args.quiet,
        color=args.color,
        out=out,
        err=err,
        notices=args.notices,
    )
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    interrupted: list[int] = []

    def interrupt(signum: int) -> None:
        interrupted.append(signum)
        task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupt, signum)
    # desktop/cli.py blocked them during imports: one that came since is
    # delivered now, to the handler above.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        async with client, EventStream(options, client=client) as stream:
            closed = await _consume(stream, emit)
    except asyncio.CancelledError:
        if not interrupted:
            raise
        task.uncancel()
        now = time.monotonic()
        emit([Closed("interrupted", Outcome.STOPPED, False, None, now, time.time())])
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 1 if closed is None or closed.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from(args)
    except (OSError, ValueError) as exc:
        print(f"{PROG}: {terminal_safe(str(exc))}", file=sys.stderr)
        return 2
    if args.key and not args.cert:
        parser.error("--key needs --cert")
    try:
        client = make_client(options.transport)
    except (OSError, ssl.SSLError) as exc:  # a CA file, certificate or key
        print(f"{PROG}: TLS setup: {terminal_safe(str(exc))}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, options, client))
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error.  Point stdout at
        # /dev/null so that the interpreter's final flush does not complain.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
