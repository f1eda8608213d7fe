"""Lesson "A worker dies": checks that can fail, and a missing redis-server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from desktop.core.lab.lessons import workers
from desktop.core.lab.lessons.run import lesson_runner

from lesson_runs import lesson_named, run_lesson, table

if TYPE_CHECKING:
    from pathlib import Path

    from desktop.core.lab.lessons.catalog import LessonResult
    from desktop.ui.server_child import ServerChild

pytestmark = pytest.mark.timeout(90)


def _check(result: LessonResult, label: str) -> bool:
    found = [c for c in result.checks if c.label == label]
    assert found, f"no check {label!r} in\n{table(result)}"
    return found[0].ok


def test_a_client_without_last_event_id_loses_events_when_its_worker_dies(
    lab_server: ServerChild,
) -> None:
    naive = lesson_runner(
        "worker-dies", workers.worker_dies, {"send_last_event_id": False}
    )
    result, feed = run_lesson(lab_server, naive)
    assert not result.passed
    assert not _check(
        result, "app: nothing lost or repeated (against the log in Redis)"
    )
    assert _check(result, "app: the reconnect lands on another worker"), table(result)
    assert feed.batches.get("app", 0) > 0 and feed.batches.get("per-worker", 0) > 0


def test_without_redis_server_the_lesson_says_how_to_install_it(
    lab_server: ServerChild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server on it
    result, _ = run_lesson(lab_server, lesson_named("worker-dies").run)
    assert [c.label for c in result.checks] == ["redis-server is installed"]
    assert not result.passed
    assert "apt-get install redis-server" in result.checks[0].observed
