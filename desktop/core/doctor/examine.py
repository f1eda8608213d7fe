"""One examination: the probe's stages turned into checks as they complete.

``examine`` runs a ``Probe`` and hands each check to ``emit`` the moment the
probe has what it rests on (the response's at once, the rest after the
watch), so a card can fill in; ``judge`` is the whole card from finished
observations, in ``CATALOG`` order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.doctor import reconnect_rules, stream_rules
from desktop.core.doctor.checks import CATALOG, selected
from desktop.core.doctor.probe import Plan, Probe, Stage
from desktop.core.doctor.rules import (
    cors_checks,
    head_checks,
    no_stream,
    skipped_checks,
)
from desktop.core.engine.transport import make_client

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from desktop.core.doctor.checks import Check
    from desktop.core.doctor.probe import Observations
    from desktop.core.engine.options import StreamOptions


def judge(obs: Observations) -> list[Check]:
    """Every check of the card (unselected ones included), in CATALOG order."""
    checks = head_checks(obs)
    reason = no_stream(obs)
    if reason is None:
        checks += [
            stream_rules.timing(obs),
            stream_rules.bursts(obs),
            stream_rules.keepalive(obs),
            stream_rules.retry(obs),
            stream_rules.ids(obs),
            reconnect_rules.resume(obs),
            reconnect_rules.bad_id(obs),
            reconnect_rules.end(obs),
            *stream_rules.spec(obs),
            *cors_checks(obs),
        ]
    done = {c.id for c in checks}
    rest = [i for i in CATALOG if i not in done]
    checks += skipped_checks(rest, f"no stream to examine ({reason})")
    order = list(CATALOG)
    return sorted(checks, key=lambda c: order.index(c.id))


async def examine(
    options: StreamOptions,
    plan: Plan,
    emit: Callable[[Check], None] | None = None,
    *,
    client: httpx.AsyncClient | None = None,
) -> list[Check]:
    """Examine the stream of ``options``; the selected checks, in CATALOG order."""
    done: dict[str, Check] = {}

    def publish(checks: list[Check]) -> None:
        for item in checks:
            if item.id in done or not selected(item.id, plan.checks):
                continue
            done[item.id] = item
            if emit is not None:
                emit(item)

    def on_stage(stage: Stage, obs: Observations) -> None:
        if stage is Stage.HEAD:
            publish(head_checks(obs))
        elif stage is Stage.CORS:
            publish(cors_checks(obs))
        elif stage is Stage.BAD_ID:
            publish([reconnect_rules.bad_id(obs)])
        else:
            publish(judge(obs))

    own = client is None
    http = make_client(options.transport) if client is None else client
    try:
        await Probe(options, plan, http, on_stage).run()
    finally:
        if own:
            await http.aclose()
    return [done[i] for i in CATALOG if i in done]


__all__ = ["Plan", "examine", "judge"]
