"""The exported lanes' labels never cover each other, however dense the lanes."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from desktop.core.engine.records import (
    Connecting,
    DelaySource,
    Event,
    Open,
    Outcome,
    Reconnecting,
)
from desktop.core.lab.export import LEFT, WIDTH, svg
from desktop.core.lab.label_layout import Label, box, place, text_width
from desktop.core.lab.lanes import Lane, lane_of

T0 = 1_700_000_000.0
SVG = "{http://www.w3.org/2000/svg}"


def _dense(key: str, attempts: int, ids: bool) -> Lane:
    """``attempts`` connections 0.1 s apart, each with one event and a 40 ms gap."""
    records: list[object] = []
    for n in range(1, attempts + 1):
        t = (n - 1) * 0.1
        last = f"7f3c9a2e-5b1d-4e8f:stream:{n - 1}" if ids and n > 1 else ""
        records += [
            Connecting(n, "http://x/", last, t, T0 + t),
            Open(200, (), n, "http://x/", t + 0.01, T0 + t + 0.01),
            Event(
                "tick",
                "d",
                f"7f3c9a2e-5b1d-4e8f:stream:{n}",
                None,
                n,
                t + 0.02,
                T0 + t + 0.02,
            ),
            Reconnecting(
                40,
                DelaySource.SERVER,
                "dropped",
                Outcome.EOF,
                n,
                t + 0.06,
                T0 + t + 0.06,
            ),
        ]
    return lane_of(key, key, records)  # type: ignore[arg-type]


def _texts(markup: str) -> list[tuple[ET.Element, str]]:
    root = ET.fromstring(markup)
    return [(t, t.text or "") for t in root.iter(f"{SVG}text")]


def test_dense_lanes_labels_never_overlap() -> None:
    lanes = [_dense("app", 90, ids=True), _dense("naive", 90, ids=False)]
    texts = _texts(svg(lanes))
    boxes = [
        box(
            float(t.get("x", "0")),
            float(t.get("y", "0")),
            text,
            bold=t.get("font-weight") == "bold",
        )
        for t, text in texts
    ]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), (texts[i][1], a, texts[j][1], b)
    assert all(b.left >= 0 and b.right <= WIDTH for b in boxes)
    # What is not drawn is counted ("+12") and kept in the hover.
    folded = [t for t, text in texts if " +" in text]
    assert folded
    hovers = "\n".join(
        title.text or "" for t, _ in texts for title in t.iter(f"{SVG}title")
    )
    for n in range(1, 90):
        assert f"Last-Event-ID sent: 7f3c9a2e-5b1d-4e8f:stream:{n}\n" in hovers + "\n"
    id_labels = [t for t in texts if t[0].get("data-label") == "id"]
    assert 1 < len(id_labels) < 89  # some shown, not all


def test_place_folds_what_would_collide_and_keeps_order() -> None:
    labels = [Label(x, f"label {x}", f"title {x}") for x in (10, 12, 14, 200, 205)]
    placed = place(labels, left=LEFT, right=220)
    assert [p.titles for p in placed] == [
        ("title 10", "title 12", "title 14"),
        ("title 200", "title 205"),
    ]
    assert placed[0].text == "label 10 +2"
    ends = [p.x + text_width(p.text) for p in placed]
    assert ends[0] < placed[1].x
    assert ends[1] <= 220  # kept inside the right edge, moved left
