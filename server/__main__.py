"""``python -m server``: settings from argv and env, then uvicorn and one READY line."""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
from argparse import SUPPRESS
from urllib.parse import urlsplit

from server import certs, hyper
from server.app import create_app
from server.runner import (
    TlsFiles,
    bind,
    is_loopback,
    log_config_at,
    serve,
    url_of,
)
from server.settings import Settings
from server.trust import (
    add_trust_arguments,
    any_ip_host,
    hosts_for_bind,
    own_origins,
    trust_problems,
)

TOKEN_ENV = "SSE_VIEWER_TOKEN"
_DEFAULTS = Settings()


def parser(prog: str = "python -m server") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="The sse-viewer SSE server: jobs, streams with replay, lab faults.",
        epilog="TLS and HTTP/2: --tls serves https with a certificate from a local CA "
        "made on first use (tls/ca.pem in the config directory; trust it once: the "
        "README's 'Trusting the local CA' gives the commands for the app, Debian, "
        "Chrome and Firefox). --tls --http2 adds HTTP/2 by ALPN (Hypercorn): a "
        "browser then carries all its EventSources to this server on one "
        "connection, where over HTTP/1.1 it opens at most 6 per host.",
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
        "--no-token",
        action="store_true",
        help="allow a non-loopback bind without a token (anyone who can reach it "
        "can use every route)",
    )
    # The old name, kept working: once the server speaks TLS "insecure" would read
    # as "no certificate check".
    p.add_argument("--insecure", dest="no_token", action="store_true", help=SUPPRESS)
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
        "--body-timeout",
        type=float,
        default=_DEFAULTS.body_timeout_s,
        metavar="S",
        help="answer 408 and close when a request's body has not all arrived S "
        "seconds after its headers, 0: never (10)",
    )
    p.add_argument(
        "--send-timeout",
        type=float,
        default=_DEFAULTS.send_timeout_s,
        metavar="S",
        help="drop a stream whose client acknowledged nothing for S seconds (10)",
    )
    add_trust_arguments(p)
    p.add_argument(
        "--tls",
        action="store_true",
        help="serve https with a certificate for localhost, 127.0.0.1 and ::1 "
        "signed by a local CA made on first use in the config directory "
        "($SSE_VIEWER_CONFIG_DIR or ~/.config/sse-viewer: tls/ca.pem); trust "
        "that CA once in the app or the browser",
    )
    p.add_argument(
        "--certfile",
        metavar="FILE",
        help="serve https with this certificate chain (PEM) instead; needs --keyfile",
    )
    p.add_argument(
        "--keyfile", metavar="FILE", help="the unencrypted key of --certfile (PEM)"
    )
    p.add_argument(
        "--http2",
        action="store_true",
        help="speak HTTP/2 too (by ALPN; HTTP/1.1 stays available) through "
        "Hypercorn; needs --tls or --certfile",
    )
    p.add_argument(
        "--broker",
        metavar="URL",
        help="keep the event log in Redis Streams at URL (redis://HOST:PORT/DB or "
        "rediss:// for TLS), shared by every server on it: a client resumes on any "
        "of them.  Default: in this process's memory",
    )
    p.add_argument(
        "--redis-prefix",
        default=_DEFAULTS.redis_prefix,
        metavar="TEXT",
        help="prefix of the Redis keys, so deployments can share one Redis "
        f"({_DEFAULTS.redis_prefix})",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve the port with N worker processes (1); more than one needs "
        "--broker, so a client resumes on any of them",
    )
    p.add_argument(
        "--per-worker-logs",
        action="store_true",
        help="allow --workers with the in-memory broker: each worker keeps its own "
        "log, and a client resuming on another worker gets a replay-gap (the lab's "
        "counter-example)",
    )
    p.add_argument(
        "--job-lease",
        type=float,
        default=_DEFAULTS.job_lease_s,
        metavar="S",
        help="with --broker: a job whose worker died ends 'failed' (worker lost) "
        f"within about 1.3 x S seconds ({_DEFAULTS.job_lease_s:g})",
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


def check(args: argparse.Namespace, token: str | None) -> tuple[list[str], list[str]]:
    """(problems that refuse the start, warnings to print) for these arguments."""
    problems: list[str] = []
    warnings: list[str] = []
    if token is not None and (not token.strip() or token != token.strip()):
        problems.append(
            "the token is blank or starts or ends with whitespace (which an "
            "Authorization header cannot carry): give a token of visible characters"
        )
    loopback = is_loopback(args.host)
    if token is None and not loopback:
        if args.no_token:
            warnings.append(
                f"serving {args.host} without a token (--no-token): anyone who can "
                "reach it can start and cancel jobs and read every stream"
            )
        else:
            problems.append(
                f"refusing to bind {args.host} without --token (or ${TOKEN_ENV}): "
                "anyone on the network could use it; add --no-token to do it anyway"
            )
    problems += trust_problems(args)
    if (args.certfile is None) != (args.keyfile is None):
        problems.append("--certfile and --keyfile go together")
    if args.http2 and not (args.tls or args.certfile):
        problems.append(
            "--http2 needs --tls (or --certfile/--keyfile): browsers speak HTTP/2 "
            "only over TLS"
        )
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
    if args.body_timeout < 0:
        problems.append("--body-timeout must be >= 0")
    if args.send_timeout <= 0:
        problems.append("--send-timeout must be > 0")
    if args.max_body < 0:
        problems.append("--max-body must be >= 0")
    if args.log_size < 1:
        problems.append("--log-size must be >= 1")
    if args.broker is not None and urlsplit(args.broker).scheme not in (
        "redis",
        "rediss",
    ):
        problems.append("--broker must be a redis:// or rediss:// URL")
    if args.job_lease <= 0:
        problems.append("--job-lease must be > 0")
    problems += worker_problems(args)
    return problems, warnings


def worker_problems(args: argparse.Namespace) -> list[str]:
    """Why ``--workers``/``--per-worker-logs`` cannot be used as given."""
    if args.workers < 1:
        return ["--workers must be >= 1"]
    if args.per_worker_logs and args.broker is not None:
        return [
            "--per-worker-logs is for the in-memory broker: with --broker every "
            "worker shares the one log in Redis"
        ]
    if args.workers > 1 and args.broker is None and not args.per_worker_logs:
        return [
            f"--workers {args.workers} with the in-memory broker would give each "
            "worker its own event log, so a client reconnecting to another worker "
            "could not resume: add --broker redis://HOST:PORT/DB to share one log, "
            "or --per-worker-logs to get exactly that"
        ]
    if args.workers > 1 and args.http2:
        return ["--workers runs uvicorn workers: it does not go with --http2"]
    return []


def main(argv: list[str] | None = None, *, prog: str = "python -m server") -> int:
    args = parser(prog).parse_args(argv)
    # An empty variable counts as unset; an empty --token is refused by `check`.
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    problems, warnings = check(args, token)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.broker is not None:
        from server.redis_url import mask_url, probe  # redis-py only when asked

        why = asyncio.run(probe(args.broker))
        if why is not None:
            where = mask_url(args.broker)
            print(f"error: cannot reach Redis at {where}: {why}", file=sys.stderr)
            return 1
    try:
        tls = tls_files(args)
        if tls is not None:  # a readable chain and its key, before the bind
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls.certfile, tls.keyfile)
    except (OSError, ssl.SSLError) as exc:
        what = "--certfile/--keyfile" if args.certfile else "the local certificate"
        print(f"error: cannot use {what}: {exc}", file=sys.stderr)
        return 1
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 1
    with sock:
        settings = Settings(
            retry_ms=args.retry,
            ping_s=args.ping,
            log_size=args.log_size,
            token=token,
            lab=args.lab,
            cors_origins=tuple(args.cors_origin),
            own_origins=own_origins(
                int(sock.getsockname()[1]),
                loopback=is_loopback(args.host),
                tls=tls is not None,
            ),
            allowed_hosts=hosts_for_bind(
                args.host,
                str(sock.getsockname()[0]),
                args.allowed_host,
                loopback=is_loopback(args.host),
            ),
            any_ip_host=any_ip_host(args.host),
            max_body_bytes=args.max_body,
            max_running_jobs=args.max_jobs,
            max_connections=args.max_connections,
            headers_timeout_s=args.headers_timeout,
            body_timeout_s=args.body_timeout,
            send_timeout_s=args.send_timeout,
            broker_url=args.broker,
            redis_prefix=args.redis_prefix,
            workers=args.workers,
            per_worker_logs=args.per_worker_logs,
            job_lease_s=args.job_lease,
        )
        if args.workers > 1:
            from server.workers import Supervisor, WorkerSpec

            spec = WorkerSpec(settings, args.log_level.upper(), tls)
            return Supervisor(spec, sock, args.workers, watch=args.watch_stdin).run()
        app = create_app(settings)
        if tls is not None and args.http2:
            hyper.serve(
                app,
                sock,
                tls=tls,
                settings=settings,
                watch=args.watch_stdin,
                timeout_s=settings.shutdown_timeout_s,
                url=url_of(sock, tls=True),
                log_config=log_config_at(args.log_level.upper()),
            )
            return 0
        serve(
            app,
            sock,
            watch=args.watch_stdin,
            timeout_s=settings.shutdown_timeout_s,
            log_level=args.log_level.upper(),
            tls=tls,
        )
    return 0


def tls_files(args: argparse.Namespace) -> TlsFiles | None:
    """The certificate to serve: the user's, the local CA's leaf, or none (http)."""
    if args.certfile is not None:
        return TlsFiles(args.certfile, args.keyfile)
    if not args.tls:
        return None
    local = certs.local_cert()
    if local.made_ca:
        print(
            f"made a local CA: trust {local.ca_file} once (the app's TLS tab "
            "\"CA file\", or your browser's or system's certificate store)",
            file=sys.stderr,
        )
    return TlsFiles(str(local.cert_file), str(local.key_file))


if __name__ == "__main__":
    sys.exit(main())
