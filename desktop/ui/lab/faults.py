"""The fault buttons' effects: one `FaultRequest` becomes one lab call.

`FaultRunner` turns what the fault bar asked for into a `LabClient` call (or
the bundled server's restart) and says in one line what happened, so a refused
call reads as a sentence in the dock, never as a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.lab.client import LabError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from desktop.core.lab.client import LabClient
    from desktop.ui.lab.fault_bar import FaultRequest

PULSE_MS = 100


class FaultRunner:
    """Runs fault requests against the lab of the stream in front."""

    def __init__(
        self,
        lab: Callable[[], LabClient | None],
        restart: Callable[[], Awaitable[None]] | None,
        say: Callable[[str], None],
    ) -> None:
        self._lab = lab
        self.restart = restart
        self._say = say

    async def run(self, request: FaultRequest) -> None:
        if request.action == "restart":
            await self._restart()
            return
        lab = self._lab()
        if lab is None:
            self._say("The lab is not on for this stream: nothing was sent.")
            return
        number, choice = request.number, request.choice
        calls: dict[str, Callable[[], Coroutine[object, object, None]]] = {
            "drop": lab.drop,
            "cut": lab.cut,
            "stall": lambda: lab.stall(number),
            "refuse": lambda: lab.refuse(
                int(number), int(choice) if choice.isdigit() else choice
            ),
            "retry": lambda: lab.retry(int(number)),
            "forget": lab.forget,
            "omit-end": lambda: lab.omit_end(int(number) or 1),
            "encoding": lambda: lab.encoding(choice),
            "reset": lab.reset,
        }
        call = calls.get(request.action)
        if call is None:
            self._say(f"Unknown lab action {request.action!r}.")
            return
        try:
            await call()
        except LabError as exc:
            self._say(f"The lab refused {request.action}: {exc.message}")
            return
        self._say(f"Lab: {_done(request)}")

    async def _restart(self) -> None:
        if self.restart is None:
            self._say("Only the app's bundled server can be restarted.")
            return
        self._say("Restarting the bundled server on the same port…")
        try:
            await self.restart()
        except Exception as exc:  # a readable line in the dock, never a traceback
            self._say(f"The server did not restart: {exc}")
            return
        self._say(
            "The server restarted on the same port: its in-memory log is gone, "
            "so a resume gets replay-gap."
        )

    async def pulse(self, on: bool) -> None:
        lab = self._lab()
        if lab is None:
            return
        try:
            await lab.pulse(PULSE_MS if on else 0)
        except LabError as exc:
            self._say(f"The pulse could not be set: {exc.message}")


def _done(request: FaultRequest) -> str:
    """What the server now does, in the words of the button."""
    action, number, choice = request.action, request.number, request.choice
    return {
        "drop": "every open stream was ended cleanly; clients reconnect after retry.",
        "cut": "every open stream was cut mid-event; the half event is discarded.",
        "stall": f"open streams send nothing for {number:g} s.",
        "refuse": f"the next {int(number)} connect(s) get {choice}.",
        "retry": f"retry: {int(number)} ms announced to open and new streams.",
        "forget": "the replay log is forgotten; a resume gets replay-gap.",
        "omit-end": "the next job ends without its end event.",
        "encoding": f"new streams are sent as {choice}.",
        "reset": "every switch is back to normal.",
    }.get(action, f"{action} done.")
