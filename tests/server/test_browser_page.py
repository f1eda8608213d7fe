"""A real browser's EventSource on the page at `/`, reported to the lab (Chromium).

The page posts what its EventSource sees (open, error, message) to
`/api/lab/browser`; a lab drop must show there as open → messages → error → open:
the browser's own reconnect, with the Last-Event-ID it carried in the server's
sent log.  Chromium is Debian's ``chromium``; tests/run.sh installs it when missing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from chromium import browser, kinds, poll
from liveserver import fast

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer


def test_the_browser_reconnects_after_a_drop_and_the_lab_sees_it(
    make_server: Callable[[Settings], LiveServer], tmp_path: os.PathLike[str]
) -> None:
    live = make_server(fast(retry_ms=200))
    with httpx.Client(base_url=live.url, timeout=5) as client:
        client.post("/api/lab/pulse", json={"every_ms": 50})
        with browser(f"{live.url}/?stream=/api/events", str(tmp_path)):
            before = poll(
                client, lambda s: kinds(s).count("message") >= 3, "3 messages"
            )
            client.post("/api/lab/drop")
            seen = poll(
                client,
                lambda s: "error" in kinds(s) and kinds(s).count("open") >= 2,
                "an error and a second open",
            )
        client.post("/api/lab/pulse", json={"every_ms": 0})
        sent = client.get("/api/lab/sent", params={"topic": "events"}).json()
    assert before[0]["kind"] == "open" and before[0]["ready_state"] == 1
    assert str(before[0]["stream"]).endswith("/api/events")
    # open → message(s) → error → open, in the browser's own order and clock
    ks = kinds(seen)
    first_error = ks.index("error")
    assert ks[0] == "open" and "open" not in ks[1:first_error]
    assert ks[1:first_error].count("message") >= 3
    assert ks[first_error + 1] == "open"
    error, reopen = seen[first_error], seen[first_error + 1]
    assert error["ready_state"] == 0  # CONNECTING: the browser will reconnect
    assert reopen["ready_state"] == 1
    assert 0.2 <= float(reopen["at"]) - float(error["at"]) < 3  # waited retry: 200
    ats = [float(o["at"]) for o in seen]
    assert ats == sorted(ats)
    types = {o["type"] for o in seen if o["kind"] == "message"}
    assert {"pulse", "stats", "lab"} <= types
    # The browser resumed: its second request carried the last id it had seen.
    last_before = seen[first_error - 1]["id"]
    assert last_before and error["id"] == last_before
    rows = sent["subscriptions"]
    assert [r["ending"] for r in rows[:1]] == ["dropped"]
    assert rows[1]["last_event_id"] == last_before


def test_the_page_works_without_the_lab(
    make_server: Callable[[Settings], LiveServer], tmp_path: os.PathLike[str]
) -> None:
    live = make_server(fast(lab=False, stats_interval_s=0.05))
    with (
        httpx.Client(base_url=live.url, timeout=5) as client,
        browser(f"{live.url}/?stream=/api/events", str(tmp_path)),
    ):
        deadline = time.monotonic() + 10
        subs: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            subs = client.get("/api/streams").json()["subscriptions"]
            if subs and int(str(subs[0]["events_sent"])) >= 5:
                break
            time.sleep(0.05)
    assert subs and subs[0]["path"] == "/api/events", subs
    assert int(str(subs[0]["events_sent"])) >= 5
