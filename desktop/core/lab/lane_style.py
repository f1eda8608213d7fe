"""How the lab's lanes look: the fill of each connection ending and the legend.

One table for the live lanes view (desktop/ui/lab/legend.py, which picks the
light or dark fill by theme) and the HTML export (desktop/core/lab/export.py,
light fills), so a colour or a legend word cannot drift between them.
"""

from __future__ import annotations

from desktop.core.lab.lanes import ConnectionEnd

# How a connection ended -> (light, dark) fill.
ENDING_COLOURS: dict[ConnectionEnd, tuple[str, str]] = {
    ConnectionEnd.OPEN: ("#16a34a", "#22c55e"),
    ConnectionEnd.SERVER_CLOSED: ("#2563eb", "#60a5fa"),
    ConnectionEnd.MID_EVENT: ("#ea580c", "#fb923c"),
    ConnectionEnd.TIMEOUT: ("#a16207", "#facc15"),
    ConnectionEnd.NETWORK: ("#b91c1c", "#f87171"),
    ConnectionEnd.NO_CONTENT: ("#7c3aed", "#a78bfa"),
    ConnectionEnd.STATUS: ("#dc2626", "#ef4444"),
    ConnectionEnd.CONTENT_TYPE: ("#dc2626", "#ef4444"),
    ConnectionEnd.DONE: ("#0f766e", "#2dd4bf"),
    ConnectionEnd.STOPPED: ("#6b7280", "#9ca3af"),
    ConnectionEnd.GAVE_UP: ("#991b1b", "#fca5a5"),
    ConnectionEnd.ERROR: ("#db2777", "#f472b6"),
}
# The endings the legend names, in its order, with their words.
LEGEND: tuple[tuple[ConnectionEnd, str], ...] = (
    (ConnectionEnd.OPEN, "open"),
    (ConnectionEnd.SERVER_CLOSED, "server closed"),
    (ConnectionEnd.MID_EVENT, "cut mid-event"),
    (ConnectionEnd.TIMEOUT, "read timeout"),
    (ConnectionEnd.STATUS, "HTTP error"),
    (ConnectionEnd.NO_CONTENT, "204"),
    (ConnectionEnd.NETWORK, "network"),
    (ConnectionEnd.ERROR, "browser error"),
)
# Ticks of events replayed from the log, (light, dark).
REPLAYED_COLOURS = ("#c2410c", "#f59e0b")
# Ticks of the events themselves, (light, dark).
INK_COLOURS = ("#1f2937", "#e5e7eb")
