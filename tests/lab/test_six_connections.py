"""The lesson "Six connections per host", end to end with headless Chromium.

The real bundled server child is restarted over HTTP/1.1 and HTTPS + HTTP/2 (as
the app does), Chromium runs the pool page (its certificate errors ignored: this
test's browser profile does not hold the local CA), and the checklist must pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from desktop.core.serving import ServerProtocol

from chromium import IGNORE_CERTIFICATES, Pages
from lesson_runs import lesson_named, run_lesson, table

if TYPE_CHECKING:
    from pathlib import Path

    from desktop.ui.server_child import ServerChild

pytestmark = pytest.mark.timeout(90)


def test_six_connections_lesson_passes_in_chromium(
    lab_server: ServerChild, tmp_path: Path
) -> None:
    pages = Pages(str(tmp_path), IGNORE_CERTIFICATES)
    try:
        result, feed = run_lesson(lab_server, lesson_named("six").run, open_page=pages)
    finally:
        pages.close()
    print(f"\nLesson six:\n{table(result)}")
    assert result.passed, table(result)
    assert len(pages.opened) == 2
    assert pages.opened[0].startswith("http://localhost:")
    assert pages.opened[1].startswith("https://localhost:")
    # The Lab drew the 7 browser sources and our engine's 7 streams.
    browser = sorted(k for k in feed.batches if k.startswith("browser "))
    assert len(browser) == 7, feed.batches
    assert len([k for k in feed.batches if k.startswith("engine ")]) == 7
    assert ServerProtocol.of_flags(lab_server.flags) is ServerProtocol.HTTP1


def test_without_a_browser_the_lesson_fails_saying_where_to_go(
    lab_server: ServerChild,
) -> None:
    result, _ = run_lesson(lab_server, lesson_named("six").run, open_page=None)
    assert not result.passed
    last = result.checks[-1]
    assert last.label == "Step: a browser opens the page", table(result)
    assert "/api/lab/pool?n=7" in last.observed
    assert ServerProtocol.of_flags(lab_server.flags) is ServerProtocol.HTTP1
