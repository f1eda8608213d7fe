"""``python -m server``: settings from argv and env, then uvicorn and one READY line."""

from __future__ import annotations

import argparse
import os
import sys

from server.app import create_app
from server.runner import bind, is_loopback, serve
from server.settings import Settings

TOKEN_ENV = "SSE_VIEWER_TOKEN"
_DEFAULTS = Settings()


def parser(prog: str = "python -m server") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="The sse-viewer SSE server: jobs, streams with replay, lab faults.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (8000)")
    p.add_argument("--token", help=f"bearer token for every route (or ${TOKEN_ENV})")
    p.add_argument(
        "--lab",
        action="store_true",
        help="mount /api/lab (fault injection, and what was published and sent)",
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback bind without a token",
    )
    p.add_argument(
        "--retry", type=int, default=3000, metavar="MS", help="retry: (3000)"
    )
    p.add_argument("--ping", type=float, default=15.0, metavar="S", help="ping (15 s)")
    p.add_argument(
        "--log-size", type=int, default=10_000, metavar="N", help="events kept (10000)"
    )
    p.add_argument(
        "--max-jobs",
        type=int,
        default=_DEFAULTS.max_running_jobs,
        metavar="N",
        help="jobs running at once; one more gets 429 (64)",
    )
    p.add_argument(
        "--max-body",
        type=int,
        default=_DEFAULTS.max_body_bytes,
        metavar="BYTES",
        help="longest request body; a longer one gets 413 (1048576)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="open connections at most (the fd limit less 64); past it the "
        "longest idle one is closed, streams are told to retry, the API gets 503",
    )
    p.add_argument(
        "--headers-timeout",
        type=float,
        default=_DEFAULTS.headers_timeout_s,
        metavar="S",
        help="close a connection that has not sent a request's headers in S "
        "seconds, 0: never (10)",
    )
    p.add_argument(
        "--send-timeout",
        type=float,
        default=_DEFAULTS.send_timeout_s,
        metavar="S",
        help="drop a stream whose client acknowledged nothing for S seconds (10)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow a page on ORIGIN (repeatable); CORS is off by default",
    )
    p.add_argument(
        "--watch-stdin", action="store_true", help="exit when stdin reaches EOF"
    )
    p.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="stderr log level (info: one JSON access line per request)",
    )
    return p


def main(argv: list[str] | None = None, *, prog: str = "python -m server") -> int:
    args = parser(prog).parse_args(argv)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    problems = []
    if not 0 <= args.port <= 65535:
        problems.append(f"--port {args.port} is not a port")
    if args.retry < 0:
        problems.append("--retry must be >= 0")
    if args.ping <= 0:
        problems.append("--ping must be > 0")
    if args.max_jobs < 1:
        problems.append("--max-jobs must be >= 1")
    if args.max_connections is not None and args.max_connections < 1:
        problems.append("--max-connections must be >= 1")
    if args.headers_timeout < 0:
        problems.append("--headers-timeout must be >= 0")
    if args.send_timeout <= 0:
        problems.append("--send-timeout must be > 0")
    if args.max_body < 0:
        problems.append("--max-body must be >= 0")
    if args.log_size < 1:
        problems.append("--log-size must be >= 1")
    if token is None and not args.insecure and not is_loopback(args.host):
        problems.append(
            f"refusing to bind {args.host} without --token (or ${TOKEN_ENV}): "
            "anyone on the network could use it; add --insecure to do it anyway"
        )
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    settings = Settings(
        retry_ms=args.retry,
        ping_s=args.ping,
        log_size=args.log_size,
        token=token,
        lab=args.lab,
        cors_origins=tuple(args.cors_origin),
        max_body_bytes=args.max_body,
        max_running_jobs=args.max_jobs,
        max_connections=args.max_connections,
        headers_timeout_s=args.headers_timeout,
        send_timeout_s=args.send_timeout,
    )
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 1
    with sock:
        serve(
            create_app(settings),
            sock,
            watch=args.watch_stdin,
            timeout_s=settings.shutdown_timeout_s,
            log_level=args.log_level.upper(),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
