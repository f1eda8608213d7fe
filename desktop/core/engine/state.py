"""The stream lifecycle as users see it: one enum, one table of legal moves."""

from __future__ import annotations

from enum import StrEnum

from desktop.core.engine.errors import InvalidTransition
from desktop.core.engine.records import Closed, Connecting, Open, Reconnecting, Record


class State(StrEnum):
    CONNECTING = "connecting"  # a request is on its way; no response yet
    OPEN = "open"  # 200 text/event-stream: events may arrive
    RECONNECTING = "reconnecting"  # the connection ended; waiting out the delay
    CLOSED = "closed"  # over for good: nothing follows


_MOVES: dict[State | None, frozenset[State]] = {
    None: frozenset({State.CONNECTING}),
    State.CONNECTING: frozenset({State.OPEN, State.RECONNECTING, State.CLOSED}),
    State.OPEN: frozenset({State.RECONNECTING, State.CLOSED}),
    State.RECONNECTING: frozenset({State.CONNECTING, State.CLOSED}),
    State.CLOSED: frozenset(),
}


def transition(current: State | None, to: State) -> State:
    """Return ``to`` when the move is legal; raise ``InvalidTransition`` otherwise."""
    if to not in _MOVES[current]:
        raise InvalidTransition(current, to)
    return to


def state_of(record: Record) -> State | None:
    """The state a record moves the stream to, or None for items and errors."""
    if isinstance(record, Connecting):
        return State.CONNECTING
    if isinstance(record, Open):
        return State.OPEN
    if isinstance(record, Reconnecting):
        return State.RECONNECTING
    if isinstance(record, Closed):
        return State.CLOSED
    return None
