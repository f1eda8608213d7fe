"""Reconnect decisions and the lifecycle table, as transition tables."""

from __future__ import annotations

from random import Random

import pytest

from desktop.core.engine.errors import InvalidTransition
from desktop.core.engine.options import StreamOptions
from desktop.core.engine.policy import (
    BACKOFF_FLOOR_MS,
    STORM_ATTEMPTS,
    STORM_WINDOW_S,
    ReconnectPolicy,
    Retry,
    Stop,
    Storm,
)
from desktop.core.engine.records import DelaySource, Outcome
from desktop.core.engine.request import retry_after_ms
from desktop.core.engine.state import State, transition

URL = "http://127.0.0.1:1/s"


@pytest.mark.parametrize(
    ("outcome", "status", "expected"),
    [
        (Outcome.EOF, None, Retry(3000, DelaySource.DEFAULT)),
        (Outcome.NETWORK, None, Retry(3000, DelaySource.DEFAULT)),
        (Outcome.TIMEOUT, None, Retry(3000, DelaySource.DEFAULT)),
        (Outcome.NO_CONTENT, 204, Stop(failed=False)),
        (Outcome.STATUS, 500, Stop(failed=True)),
        (Outcome.STATUS, 503, Stop(failed=True)),
        (Outcome.CONTENT_TYPE, 200, Stop(failed=True)),
        (Outcome.BAD_URL, None, Stop(failed=True)),
        (Outcome.REDIRECTS, None, Stop(failed=True)),
        (Outcome.CLOSE_ON, None, Stop(failed=False)),
        (Outcome.COUNT, None, Stop(failed=False)),
        (Outcome.STOPPED, None, Stop(failed=False)),
    ],
)
def test_spec_decisions(outcome: Outcome, status: int | None, expected: object) -> None:
    assert (
        ReconnectPolicy(StreamOptions(URL)).decide(outcome, status=status) == expected
    )


def test_reconnection_time_precedence_default_option_server() -> None:
    policy = ReconnectPolicy(StreamOptions(URL))
    assert policy.delay_in_force() == (3000, DelaySource.DEFAULT)
    policy = ReconnectPolicy(StreamOptions(URL, retry_ms=40))
    assert policy.delay_in_force() == (40, DelaySource.OPTION)
    policy.server_retry_ms = 0
    assert policy.decide(Outcome.EOF) == Retry(0, DelaySource.SERVER)


@pytest.mark.parametrize(
    ("outcome", "failed"),
    [(Outcome.EOF, False), (Outcome.NETWORK, True), (Outcome.TIMEOUT, True)],
)
def test_no_reconnect_ends_on_purpose_only_when_the_server_ends(
    outcome: Outcome, failed: bool
) -> None:
    policy = ReconnectPolicy(StreamOptions(URL, reconnect=False))
    assert policy.decide(outcome) == Stop(failed=failed)


def test_max_attempts_counts_reconnections_and_an_open_resets_it() -> None:
    policy = ReconnectPolicy(StreamOptions(URL, retry_ms=10, max_attempts=2))
    assert isinstance(policy.decide(Outcome.NETWORK), Retry)
    assert isinstance(policy.decide(Outcome.NETWORK), Retry)
    assert policy.decide(Outcome.NETWORK) == Stop(failed=True, exhausted=True)
    policy.opened()
    assert isinstance(policy.decide(Outcome.EOF), Retry)


def test_max_attempts_zero_never_reconnects() -> None:
    policy = ReconnectPolicy(StreamOptions(URL, max_attempts=0))
    assert policy.decide(Outcome.NETWORK) == Stop(failed=True, exhausted=True)


def test_reconnect_on_status_is_opt_in_and_honours_retry_after() -> None:
    options = StreamOptions(URL, retry_ms=100, reconnect_on_status=frozenset({503}))
    policy = ReconnectPolicy(options)
    assert policy.decide(Outcome.STATUS, status=500) == Stop(failed=True)
    assert policy.decide(Outcome.STATUS, status=503) == Retry(100, DelaySource.OPTION)
    assert policy.decide(Outcome.STATUS, status=503, retry_after_ms=2000) == Retry(
        2000, DelaySource.SERVER
    )


def test_backoff_grows_with_jitter_within_the_cap_and_resets_after_events() -> None:
    options = StreamOptions(URL, retry_ms=100, max_backoff_ms=1000)
    policy = ReconnectPolicy(options, Random(7))
    delays = []
    for _ in range(8):
        decision = policy.decide(Outcome.NETWORK)
        assert isinstance(decision, Retry)
        delays.append(decision)
    assert delays[0] == Retry(100, DelaySource.OPTION)
    assert all(d.source is DelaySource.BACKOFF for d in delays[1:])
    assert all(100 <= d.delay_ms <= 1000 for d in delays)
    assert delays[4].delay_ms >= 500  # 250 * 2**4 capped at 1000, at least half
    policy.opened()
    policy.ended(delivered=True, lived_s=1.0)
    assert policy.decide(Outcome.EOF) == Retry(100, DelaySource.OPTION)


def _delays(policy: ReconnectPolicy, n: int, *, opened: bool = False) -> list[int]:
    out = []
    for _ in range(n):
        if opened:  # 200, then closed at once without an event
            policy.opened()
            policy.ended(delivered=False, lived_s=0.001)
        decision = policy.decide(Outcome.EOF)
        assert isinstance(decision, Retry)
        out.append(decision.delay_ms)
    return out


def test_backoff_grows_from_a_floor_when_the_server_says_retry_0() -> None:
    policy = ReconnectPolicy(StreamOptions(URL, max_backoff_ms=5000), Random(1))
    policy.server_retry_ms = 0
    delays = _delays(policy, 8)
    assert delays[0] == 0  # the first reconnect is the spec's
    assert delays[1] >= BACKOFF_FLOOR_MS // 2
    assert all(2500 <= d <= 5000 for d in delays[6:]), delays


def test_a_200_that_closes_at_once_is_backed_off_from() -> None:
    """Opens without an event, or shorter than the base, keep backoff growing."""
    options = StreamOptions(URL, retry_ms=1000, max_backoff_ms=5000)
    delays = _delays(ReconnectPolicy(options, Random(2)), 6, opened=True)
    assert delays[0] == 1000
    assert all(d >= 2500 for d in delays[3:]), delays
    policy = ReconnectPolicy(options, Random(2))
    _delays(policy, 4)
    policy.opened()
    policy.ended(delivered=True, lived_s=0.5)  # an event, but under the 1 s base
    assert policy.decide(Outcome.EOF) != Retry(1000, DelaySource.OPTION)
    policy.opened()
    policy.ended(delivered=True, lived_s=1.0)  # worth it: backoff starts again
    assert policy.decide(Outcome.EOF) == Retry(1000, DelaySource.OPTION)


def test_without_backoff_the_spec_delay_stands_and_an_open_counts_attempts() -> None:
    options = StreamOptions(URL, retry_ms=0, max_attempts=3)
    policy = ReconnectPolicy(options)
    assert _delays(policy, 20, opened=True) == [0] * 20  # max_attempts: any open


def test_a_storm_is_ten_attempts_in_five_seconds_said_once_per_window() -> None:
    policy = ReconnectPolicy(StreamOptions(URL, retry_ms=0))
    said = [policy.storm(i * 0.01) for i in range(STORM_ATTEMPTS * 3)]
    assert said[: STORM_ATTEMPTS - 1] == [None] * (STORM_ATTEMPTS - 1)
    first = said[STORM_ATTEMPTS - 1]
    assert first == Storm(STORM_ATTEMPTS, pytest.approx(0.09), 0, False)
    assert "10 reconnection attempts in 0.09 s" in first.detail()
    assert said[STORM_ATTEMPTS:] == [None] * (STORM_ATTEMPTS * 2)
    later = STORM_WINDOW_S + 1
    again = [policy.storm(later + i * 0.01) for i in range(STORM_ATTEMPTS)]
    assert again[-1] is not None and again[:-1] == [None] * (STORM_ATTEMPTS - 1)


def test_attempts_0_6_s_apart_are_no_storm() -> None:
    policy = ReconnectPolicy(StreamOptions(URL))
    assert all(policy.storm(i * 0.6) is None for i in range(100))


LEGAL = {
    (None, State.CONNECTING),
    (State.CONNECTING, State.OPEN),
    (State.CONNECTING, State.RECONNECTING),
    (State.CONNECTING, State.CLOSED),
    (State.OPEN, State.RECONNECTING),
    (State.OPEN, State.CLOSED),
    (State.RECONNECTING, State.CONNECTING),
    (State.RECONNECTING, State.CLOSED),
}


@pytest.mark.parametrize("current", [None, *State])
@pytest.mark.parametrize("to", list(State))
def test_transition_table(current: State | None, to: State) -> None:
    if (current, to) in LEGAL:
        assert transition(current, to) is to
    else:
        with pytest.raises(InvalidTransition) as caught:
            transition(current, to)
        assert to.value in str(caught.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("5", 5000), (" 2 ", 2000), ("foo, bar", None), ("soon", None), ("", None)],
)
def test_retry_after_parsing_never_raises(header: str, expected: int | None) -> None:
    """A malformed Retry-After (e.g. from a hostile server) is ignored, not a crash."""
    assert retry_after_ms(header) == expected


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    assert retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT") == 0
