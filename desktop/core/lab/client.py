"""The bundled server's lab (``/api/lab``) as typed async calls, with readable errors.

The reconnect lab sets faults up and then compares what a client received with
what the server published and sent.  Every failure becomes a `LabError` whose
``message`` a person can read in the UI: the lab is off, the server cannot be
reached, or it answered something unexpected.  Qt-free; the caller owns the
``httpx.AsyncClient``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import httpx

from desktop.core.files.codec import BadValueError, read

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# The broker topic of ``/api/events`` (what `/api/streams` and `/api/lab/sent` call
# it); a job's stream is ``job:<id>``.  The ticker has no publish log.
EVENTS_TOPIC = "events"
# A stream request's lab tag: faults sent with that tag reach it and spare the
# other clients (the query works for a browser's EventSource too).
LAB_TAG_QUERY = "lab_tag"
LAB_TAG_HEADER = "X-Lab-Tag"
_TIMEOUT = httpx.Timeout(10.0)
_T = TypeVar("_T")
_MAX_SENT_PAGES = 1000  # of `/api/lab/sent` in one `sent()`: ~1,000 events each


def new_tag(prefix: str) -> str:
    """A fresh lab tag, e.g. ``lesson-drop-3f9a1c`` (letters, digits, ``-``)."""
    clean = "".join(
        c if c.isascii() and (c.isalnum() or c in "._:-") else "-" for c in prefix
    )
    return f"{clean[:50]}-{secrets.token_hex(3)}"


def tagged_url(url: str, tag: str) -> str:
    """``url`` with ``lab_tag=<tag>`` added to its query (the URL as is for "")."""
    if not tag:
        return url
    return str(httpx.URL(url).copy_merge_params({LAB_TAG_QUERY: tag}))


class LabError(Exception):
    """A lab call failed; ``message`` says why in words for the UI."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status  # the HTTP status, when the server answered


@dataclass(slots=True)
class Published:
    """One event of the broker log: its id, type and publish wall time (s)."""

    id: str
    type: str
    published: float


@dataclass(slots=True)
class Sent:
    """One event a subscription wrote, with the wall time (s) of the write."""

    id: str
    type: str
    sent: float


@dataclass(slots=True)
class SentLog:
    """What one subscription (a connection, as the server saw it) sent.

    ``last_event_id`` is what its request carried ("" when none), ``ending`` how it
    ended (None while open: "dropped", "cut", "gone", "finished", "shutdown" …),
    ``sent`` the last 10,000 events with an id, ``sent_total`` all of them.
    """

    number: int
    topic: str
    client: str
    opened: float
    closed: float | None
    last_event_id: str
    ending: str | None
    sent: list[Sent]
    sent_total: int
    path: str = ""
    tag: str = ""  # the lab tag its request carried ("" when none)


@dataclass(slots=True)
class BrowserObservation:
    """What a browser's EventSource on the page at ``/`` reported.

    ``kind`` is "open", "error" or "message"; ``at`` the browser's wall clock,
    ``received`` the server's (both s); ``id`` the lastEventId after it.
    """

    kind: str
    ready_state: int
    id: str
    type: str
    at: float
    received: float
    stream: str = ""
    source: int = 0  # the pool page's EventSource number (0: the page at /)
    protocol: str = ""  # Resource Timing's nextHopProtocol, when reported


# The answers' envelopes, read whole by `desktop.core.files.codec.read`.


@dataclass(slots=True)
class _PublishedWindow:
    events: list[Published]
    complete: bool  # False when part of the span already fell out of the log


@dataclass(slots=True)
class _SentLogs:
    subscriptions: list[SentLog]
    next: str | None = None  # the cursor of the following page, if any


@dataclass(slots=True)
class _Observations:
    observations: list[BrowserObservation]


class LabClient:
    """Calls ``/api/lab`` on ``base_url`` through ``client``.

    ``headers`` go with every call (e.g. ``("Authorization", "Bearer …")``).
    Every fault takes an optional ``tag``: it then reaches only the streams whose
    request carried that lab tag (see `tagged_url`); without one it acts on every
    client.  ``with_tag`` gives a view whose faults, reset and `sent` default to
    one tag, which is how a lesson keeps to its own streams.
    """

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        headers: Sequence[tuple[str, str]] = (),
        tag: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tag = tag  # the default tag of every fault (None: everyone)
        self._client = client
        self._headers = list(headers)

    def with_tag(self, tag: str | None) -> LabClient:
        """The same server and client, with faults scoped to ``tag`` by default."""
        return LabClient(self.base_url, self._client, self._headers, tag)

    def _scope(self, body: dict[str, object], tag: str | None) -> dict[str, object]:
        """``body`` with the tag asked (or this client's default), if any."""
        chosen = tag if tag is not None else self.tag
        if chosen is not None:
            body["tag"] = chosen
        return body

    # -- faults ----------------------------------------------------------------------

    async def state(self) -> dict[str, object]:
        """The lab's switches now (`GET /api/lab`)."""
        return _object(await self._call("GET", ""), "/api/lab")

    async def drop(self, *, tag: str | None = None) -> None:
        """The server ends open streams (all, or the tag's) cleanly (EOF)."""
        await self._call("POST", "/drop", self._scope({}, tag))

    async def cut(self, *, tag: str | None = None) -> None:
        """The server closes open streams (all, or the tag's) mid-event."""
        await self._call("POST", "/cut", self._scope({}, tag))

    async def stall(self, seconds: float, *, tag: str | None = None) -> None:
        await self._call("POST", "/stall", self._scope({"seconds": seconds}, tag))

    async def refuse(
        self,
        count: int,
        status: int | str,
        retry_after_s: int = 5,
        *,
        tag: str | None = None,
    ) -> None:
        """The next ``count`` connects (with the tag) get ``status``.

        ``status`` is 204, 401, 503 or "html".  With a tag the count is the tag's
        own: other clients connecting meanwhile take none of it.
        """
        body: dict[str, object] = {
            "count": count,
            "status": status,
            "retry_after_s": retry_after_s,
        }
        await self._call("POST", "/refuse", self._scope(body, tag))

    async def retry(self, ms: int, *, tag: str | None = None) -> None:
        await self._call("POST", "/retry", self._scope({"ms": ms}, tag))

    async def forget(self) -> None:
        """Forget every topic's replay log (the server's, so never per tag)."""
        await self._call("POST", "/forget")

    async def omit_end(self, count: int = 1, *, tag: str | None = None) -> None:
        """The next ``count`` jobs (started with the tag) end without `end`."""
        await self._call("POST", "/omit-end", self._scope({"count": count}, tag))

    async def encoding(
        self, mode: str, buffer_bytes: int = 4096, *, tag: str | None = None
    ) -> None:
        """ "identity", "gzip" or "buffer" (a buffering proxy) for new streams."""
        body: dict[str, object] = {"mode": mode, "buffer_bytes": buffer_bytes}
        await self._call("POST", "/encoding", self._scope(body, tag))

    async def reset_id(self, *, tag: str | None = None) -> None:
        """/api/events streams get an event with an empty ``id:`` (resets the id)."""
        await self._call("POST", "/reset-id", self._scope({}, tag))

    async def reset(self, *, tag: str | None = None) -> None:
        """Every switch back to normal, pulse off; with a tag, that tag's only."""
        await self._call("POST", "/reset", self._scope({}, tag))

    async def pulse(self, every_ms: int) -> None:
        """A logged `pulse` event on /api/events every ``every_ms`` (0 stops it)."""
        await self._call("POST", "/pulse", {"every_ms": every_ms})

    # -- records ---------------------------------------------------------------------

    async def published(
        self, topic: str, since: float, until: float
    ) -> tuple[list[Published], bool]:
        """The topic's logged events published in [since, until] (wall s).

        The bool is False when part of the span already fell out of the log.
        """
        path = "/published"
        answer = _object(
            await self._call(
                "GET", path, params={"topic": topic, "since": since, "until": until}
            ),
            path,
        )
        window = _read(_PublishedWindow, answer, path)
        return window.events, window.complete

    async def sent(
        self, topic: str | None = None, *, tag: str | None = None
    ) -> list[SentLog]:
        """Open and recently closed subscriptions (of ``topic``), oldest first.

        Only those with ``tag`` (or this client's default tag) when there is one.
        """
        path = "/sent"
        params: dict[str, str | float] = {}
        if topic is not None:
            params["topic"] = topic
        chosen = tag if tag is not None else self.tag
        if chosen is not None:
            params["tag"] = chosen
        # The server pages this answer (`next` is the following page's since=);
        # a subscription may span pages, its rows then share its number.
        logs: dict[int, SentLog] = {}
        for _ in range(_MAX_SENT_PAGES):
            answer = _object(await self._call("GET", path, params=params or None), path)
            page = _read(_SentLogs, answer, path)
            for log in page.subscriptions:
                if log.number in logs:
                    logs[log.number].sent.extend(log.sent)
                else:
                    logs[log.number] = log
            if page.next is None:
                break
            params["since"] = page.next
        return list(logs.values())

    async def browser(self) -> list[BrowserObservation]:
        """What browsers' EventSources reported, oldest first."""
        path = "/browser"
        answer = _object(await self._call("GET", path), path)
        return _read(_Observations, answer, path).observations

    async def clear_browser(self) -> None:
        await self._call("DELETE", "/browser")

    # -- transport -------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, object] | None = None,
        params: Mapping[str, str | float] | None = None,
    ) -> object:
        url = f"{self.base_url}/api/lab{path}"
        what = f"lab {path.lstrip('/') or 'state'}"
        try:
            response = await self._client.request(
                method,
                url,
                json=body if body is not None else ({} if method == "POST" else None),
                params=params,
                headers=self._headers,
                timeout=_TIMEOUT,
            )
        except httpx.TransportError as exc:
            detail = str(exc) or type(exc).__name__
            raise LabError(
                f"cannot reach the server at {self.base_url} ({what}): {detail}"
            ) from None
        status = response.status_code
        try:
            answer: object = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            answer = None
        if status >= 400:
            raise LabError(_refusal(what, status, answer), status)
        if answer is None:
            snippet = response.text[:80].strip()
            raise LabError(
                f"unexpected answer to {what}: not JSON (HTTP {status}: {snippet!r})",
                status,
            )
        return answer


def _refusal(what: str, status: int, answer: object) -> str:
    detail = ""
    if isinstance(answer, dict):
        message = answer.get("message") or answer.get("detail")
        detail = message if isinstance(message, str) else ""
    if status == 404 and ("lab is off" in detail or detail in ("", "Not Found")):
        return "the lab is off on this server (start it with --lab)"
    if status == 401:
        return f"{what}: the server wants a token (HTTP 401)"
    return f"{what} refused (HTTP {status}): {detail or 'no reason given'}"


def _read(cls: type[_T], answer: object, path: str) -> _T:
    try:
        return read(cls, answer)
    except BadValueError as exc:
        raise LabError(f"unexpected answer from /api/lab{path}: {exc}") from None


def _object(answer: object, path: str) -> dict[str, object]:
    if not isinstance(answer, dict):
        raise LabError(f"unexpected answer from {path}: not a JSON object")
    return answer
