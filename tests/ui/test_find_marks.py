"""F3's marks in the detail pane sit on the match, whatever comes before it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.engine.records import Event
from desktop.ui.timeline.model import RECORD_ROLE

from app_driver import drive, open_stream, until
from rawserver import Hang, RawServer, respond, sse

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer


def test_marks_land_on_the_match_after_emoji(loop: AppLoop, viewer: Viewer) -> None:
    data = "😀😀 needle 🎉 x needle ä needle".encode()
    with RawServer(paths={"/api/info": respond(404, b"no")}) as raw:
        raw.add(sse(b"data: " + data + b"\n\n", end=Hang()))

        async def scenario() -> None:
            view = open_stream(viewer, raw.url())
            await until(lambda: view.handle.session.events == 1, 5, "the event")
            viewer.controller.flush()
            row = next(
                i
                for i in range(view.proxy.rowCount())
                if isinstance(view.proxy.index(i, 0).data(RECORD_ROLE), Event)
            )
            view.table.selectRow(row)
            view.filters.search.setText("needle")
            finder = viewer.window.prefs.finders[view]
            assert finder.mark() == 3
            marks = view.detail.text.extraSelections()
            assert [m.cursor.selectedText() for m in marks] == ["needle"] * 3

        drive(loop, scenario(), viewer)
