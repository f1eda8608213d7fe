"""How the lab's lanes look: the fill of each connection ending and the legend.

One table for the live lanes view (desktop/ui/lab/legend.py, which picks the
light or dark fill by theme) and the HTML export (desktop/core/lab/export.py,
light fills), so a colour or a legend word cannot drift between them.
"""

from __future__ import annotations

from desktop.core.lab.lanes import Ending

# How a connection ended -> (light, dark) fill.
ENDING_COLOURS: dict[Ending, tuple[str, str]] = {
    Ending.OPEN: ("#16a34a", "#22c55e"),
    Ending.SERVER_CLOSED: ("#2563eb", "#60a5fa"),
    Ending.MID_EVENT: ("#ea580c", "#fb923c"),
    Ending.TIMEOUT: ("#a16207", "#facc15"),
    Ending.NETWORK: ("#b91c1c", "#f87171"),
    Ending.NO_CONTENT: ("#7c3aed", "#a78bfa"),
    Ending.STATUS: ("#dc2626", "#ef4444"),
    Ending.CONTENT_TYPE: ("#dc2626", "#ef4444"),
    Ending.DONE: ("#0f766e", "#2dd4bf"),
    Ending.STOPPED: ("#6b7280", "#9ca3af"),
    Ending.GAVE_UP: ("#991b1b", "#fca5a5"),
    Ending.ERROR: ("#db2777", "#f472b6"),
}
# The endings the legend names, in its order, with their words.
LEGEND: tuple[tuple[Ending, str], ...] = (
    (Ending.OPEN, "open"),
    (Ending.SERVER_CLOSED, "server closed"),
    (Ending.MID_EVENT, "cut mid-event"),
    (Ending.TIMEOUT, "read timeout"),
    (Ending.STATUS, "HTTP error"),
    (Ending.NO_CONTENT, "204"),
    (Ending.NETWORK, "network"),
    (Ending.ERROR, "browser error"),
)
# Ticks of events replayed from the log, (light, dark).
REPLAYED_COLOURS = ("#c2410c", "#f59e0b")
# Ticks of the events themselves, (light, dark).
INK_COLOURS = ("#1f2937", "#e5e7eb")
