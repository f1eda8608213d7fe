"""``sse-viewer doctor URL``: examine an SSE server and print a card of checks.

Takes tail's request options (``add_request_arguments`` in desktop/tail.py),
runs desktop/core/doctor and prints the card as text (coloured on a
terminal), JSON, and optionally one HTML page.  Exit status: 0 when no check
failed, 1 when one did (or warned, with ``--fail-on warn``), 2 for a usage
error, so it can run in CI (130 when interrupted with Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
from typing import TYPE_CHECKING

from desktop.core.doctor.checks import CATALOG, unknown_prefixes
from desktop.core.doctor.examine import examine
from desktop.core.doctor.probe import DEFAULT_DURATION_S, Plan
from desktop.core.doctor.report import (
    Subject,
    exit_status,
    html_card,
    json_card,
    text_card,
)
from desktop.core.engine.transport import make_client
from desktop.core.terminal import terminal_safe
from desktop.tail import add_request_arguments, request_options

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

    from desktop.core.doctor.checks import Check
    from desktop.core.engine.options import StreamOptions

PROG = "sse-viewer doctor"


def _duration(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected 0 to 3600 seconds, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Examine an SSE server: connect, watch, reconnect on purpose, "
        "and print what is wrong and how to fix it.",
        epilog="Checks: " + ", ".join(CATALOG) + ". Exit status: 0 nothing failed, "
        "1 a check failed (or warned, with --fail-on warn), 2 usage error.",
    )
    parser.add_argument("url", help="the stream's http:// or https:// URL")
    add_request_arguments(parser)
    doctor = parser.add_argument_group("examination")
    doctor.add_argument(
        "--duration",
        type=_duration,
        default=DEFAULT_DURATION_S,
        metavar="S",
        help=f"watch the stream this long (default {DEFAULT_DURATION_S:g}); the "
        "card says what it could not judge in that time",
    )
    doctor.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="ID",
        help="run only the checks whose id starts with ID (repeatable), e.g. "
        "response or reconnect.resume",
    )
    doctor.add_argument(
        "--reconnect-tests",
        action="store_true",
        help="drop and reconnect on purpose even when the request is not a GET "
        "(a repeated POST may cost money or change things)",
    )
    doctor.add_argument(
        "--fail-on",
        choices=("fail", "warn"),
        default="fail",
        help="exit 1 on a failed check (default) or on a warning too",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=("text", "json"), default="text")
    output.add_argument("--html", metavar="FILE", help="also write the card as HTML")
    output.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser


def _color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


async def _examine(
    client: httpx.AsyncClient, options: StreamOptions, plan: Plan
) -> list[Check]:
    async with client:
        return await examine(options, plan, client=client)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = unknown_prefixes(tuple(args.check))
    if unknown:
        parser.error(f"--check {unknown[0]}: no check id starts with it")
    if args.key and not args.cert:
        parser.error("--key needs --cert")
    try:
        options = request_options(args)
    except (OSError, ValueError) as exc:
        print(f"{PROG}: {terminal_safe(str(exc))}", file=sys.stderr)
        return 2
    plan = Plan(
        duration_s=args.duration,
        reconnect_tests=True if args.reconnect_tests else None,
        checks=tuple(args.check),
    )
    try:
        client = make_client(options.transport)
    except (OSError, ssl.SSLError) as exc:
        print(f"{PROG}: TLS setup: {terminal_safe(str(exc))}", file=sys.stderr)
        return 2
    if sys.stderr.isatty():
        print(f"{PROG}: watching for {args.duration:g} s …", file=sys.stderr)
    try:
        checks = asyncio.run(_examine(client, options, plan))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    subject = Subject(
        options.url, options.method, args.duration, args.fail_on == "warn"
    )
    if args.format == "json":
        sys.stdout.buffer.write(json_card(subject, checks))
    else:
        sys.stdout.write(text_card(subject, checks, color=_color(args.color)))
    sys.stdout.flush()
    if args.html:
        try:
            with open(args.html, "w", encoding="utf-8") as file:
                file.write(html_card(subject, checks))
        except OSError as exc:
            print(f"{PROG}: --html: {terminal_safe(str(exc))}", file=sys.stderr)
            return 2
    return exit_status(checks, fail_on_warn=args.fail_on == "warn")
