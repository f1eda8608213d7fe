"""The Lab dock against the real bundled server: lanes, badges, naive client, export."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from desktop.core.lab.lanes import match_subscriptions

from app_driver import api_async, drive, open_stream, until

if TYPE_CHECKING:
    from pathlib import Path

    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer


def test_lanes_badges_and_export_after_lab_drops(
    loop: AppLoop, viewer: Viewer, base: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        await api_async(base, "POST", "/api/lab/pulse", {"every_ms": 20})
        view = open_stream(viewer, f"{base}/api/events")
        session = view.handle.session
        viewer.window.show_lab(True)
        lab = viewer.window.lab
        assert lab is not None
        controller = lab.controller
        await until(lambda: controller.available, 10, "the lab probe")
        lab.panel.naive.setChecked(True)
        await until(
            lambda: (
                controller.naive_session is not None
                and controller.naive_session.events >= 5
            ),
            10,
            "naive events",
        )
        await until(lambda: session.events >= 5, 10, "events")
        for _ in range(3):
            await api_async(base, "POST", "/api/lab/drop")
            seen = len(session.attempts)
            await until(
                lambda seen=seen: len(session.attempts) > seen, 10, "a reconnect"
            )
            await asyncio.sleep(0.4)
        await until(lambda: session.attempts[-1].status == 200, 10, "reopened")
        await asyncio.sleep(0.3)
        await api_async(base, "POST", "/api/lab/pulse", {"every_ms": 0})
        await asyncio.sleep(0.3)
        controller.refresh()
        await controller.poll_once()

        # Our lane == the server's subscriptions, in order, same Last-Event-IDs.
        segments = controller.app.builder.segments
        assert len(segments) == 4
        matched = match_subscriptions(segments, controller.sent)
        assert all(sub is not None for sub in matched)
        assert [s.last_event_id for s in segments] == [
            sub.last_event_id for sub in matched if sub is not None
        ]
        assert all(s.last_event_id for s in segments[1:])
        numbers = [sub.number for sub in matched if sub is not None]
        assert numbers == sorted(numbers)

        app, naive = controller.app_result, controller.naive_result
        assert app is not None and naive is not None
        assert (len(app.lost), len(app.repeated)) == (0, 0)
        assert len(naive.lost) > 0
        assert lab.panel.app_badge.text() == "lost 0 · repeated 0"
        assert lab.panel.naive_badge.text().startswith(f"lost {len(naive.lost)} ")

        view_marks = lab.panel.lanes.marks()
        for kind in ("segment", "gap", "tick", "id"):
            assert view_marks.get(kind), kind
            assert all(text.strip() for text in view_marks[kind])

        from desktop.core.lab.export import write_lab_run

        html, ndjson = write_lab_run(controller.run_snapshot(), tmp_path / "run.html")
        root = ET.fromstring(html.read_text("utf-8"))
        ns = {"s": "http://www.w3.org/2000/svg"}
        groups = root.findall(".//s:g[@class='attempt']", ns)
        app_groups = [g for g in groups if g.get("data-lane") == "app"]
        assert len(app_groups) == len(segments)
        assert all(
            g.find("s:rect[@class='segment']/s:title", ns) is not None for g in groups
        )
        assert ndjson.read_text("utf-8").count('"lane": "app"') > 10

    drive(loop, scenario(), viewer, limit_s=60)
