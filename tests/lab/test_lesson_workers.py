"""Lesson "A worker dies" without redis-server: it says how to install it.

The lesson itself runs in tests/lab/test_lessons.py (`test_lesson_passes`); its
continuity line is `desktop.core.lab.continuity.check`, which the naive-client
tests there prove can fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lesson_runs import lesson_named, run_lesson

if TYPE_CHECKING:
    from pathlib import Path

    from desktop.ui.server_child import ServerChild

pytestmark = pytest.mark.timeout(90)


def test_without_redis_server_the_lesson_says_how_to_install_it(
    lab_server: ServerChild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server on it
    result, _ = run_lesson(lab_server, lesson_named("worker-dies").run)
    assert [c.label for c in result.checks] == ["redis-server is installed"]
    assert not result.passed
    assert "apt-get install redis-server" in result.checks[0].observed
