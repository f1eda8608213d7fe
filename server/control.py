"""ControlChannel: messages to the other workers sharing the log (``control`` topic).

With ``serve --workers N --broker redis://…`` a request lands on one worker while
what it acts on may live in another: a job's cancel goes to the worker running it,
a lab fault to the streams every worker holds.  The channel is one more topic of
the broker, so a worker follows it on the broker's one blocking read; a message is
``type`` (what to do) and JSON data ``{"from": <run id>, "body": …}``, handed to
the handler of its type on every worker but the sender.

A question (`ask`) goes to every other worker; each answers with what its
`answer` handler returns, and `ask` gives back the answers that came within a
bounded wait (a worker that died or is slow is left out, not waited for).

Handlers run in `run`, one at a time in order, off the broker's fan-out (a sink
must not block).  When Redis goes away the broker ends the subscription; `run`
subscribes again once Redis answers (what was sent meanwhile could not be sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import TYPE_CHECKING

from server.broker import BrokerUnavailableError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from server.broker import Broker, StoredEvent

    Handler = Callable[[object], Awaitable[None] | None]
    Answerer = Callable[[object], Awaitable[object]]

log = logging.getLogger("server.control")

TOPIC = "control"
RESUBSCRIBE_S = 0.5  # pause before following the topic again after an outage
ANSWER_WAIT_S = 2.0  # how long `ask` waits for the other workers' answers


class ControlChannel:
    """See the module docstring."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._handlers: dict[str, Handler] = {}
        self._inbox: asyncio.Queue[StoredEvent | None] = asyncio.Queue()
        self._subscribed = False
        self._asked: dict[str, tuple[list[object], int, asyncio.Event]] = {}
        self.on("answer", self._answered)

    def on(self, type_: str, handler: Handler) -> None:
        """``handler(body)`` runs here for each ``type_`` message of another worker."""
        self._handlers[type_] = handler

    async def open(self) -> None:
        await self._broker.open_topic(TOPIC, 1000)
        await self._subscribe()

    async def _subscribe(self) -> None:
        await self._broker.subscribe(TOPIC, self, None, history=False)
        self._subscribed = True

    async def send(self, type_: str, body: object) -> None:
        """To every other worker; BrokerUnavailableError when Redis is away."""
        data = json.dumps({"from": self._broker.run_id, "body": body})
        await self._broker.publish(TOPIC, type_, data)

    def answer(self, type_: str, answerer: Answerer) -> None:
        """``await answerer(body)`` answers another worker's `ask` of ``type_``."""

        async def reply(raw: object) -> None:
            assert isinstance(raw, dict)
            found = await answerer(raw.get("body"))
            to = {"to": raw.get("to"), "ask": raw.get("ask"), "body": found}
            await self.send("answer", to)

        self.on(f"ask:{type_}", reply)

    async def ask(
        self, type_: str, body: object, expect: int, wait_s: float = ANSWER_WAIT_S
    ) -> list[object]:
        """Every other worker's answer to ``body``: the ``expect`` first to come,
        or those that came within ``wait_s``.  Sent even when ``expect`` is 0 (so
        the others act on it) but then not waited for."""
        ask = secrets.token_hex(8)
        answers: list[object] = []
        came = asyncio.Event()
        if expect > 0:
            self._asked[ask] = (answers, expect, came)
        try:
            question = {"to": self._broker.run_id, "ask": ask, "body": body}
            await self.send(f"ask:{type_}", question)
            if expect > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(came.wait(), wait_s)
        finally:
            self._asked.pop(ask, None)
        return list(answers)

    def _answered(self, raw: object) -> None:
        if not isinstance(raw, dict) or raw.get("to") != self._broker.run_id:
            return
        asked = self._asked.get(str(raw.get("ask")))
        if asked is None:  # came too late
            return
        answers, expect, came = asked
        answers.append(raw.get("body"))
        if len(answers) >= expect:
            came.set()

    # The broker's sink: never blocks.
    def deliver(self, event: StoredEvent) -> None:
        self._inbox.put_nowait(event)

    def finish(self) -> None:
        self._subscribed = False
        self._inbox.put_nowait(None)

    async def run(self) -> None:
        """Hand messages to their handlers; follow the topic again after an outage."""
        while True:
            event = await self._inbox.get()
            if event is None:
                await self._resubscribe()
                continue
            message = json.loads(event.data)
            handler = self._handlers.get(event.type)
            if handler is None or message.get("from") == self._broker.run_id:
                continue
            try:
                done = handler(message.get("body"))
                if done is not None:
                    await done
            except Exception:
                log.exception("control message %s failed", event.type)

    async def _resubscribe(self) -> None:
        while not self._subscribed:
            try:
                await self._subscribe()
            except BrokerUnavailableError:
                await asyncio.sleep(RESUBSCRIBE_S)

    def close(self) -> None:
        self._broker.unsubscribe(TOPIC, self)
