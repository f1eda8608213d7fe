"""A process's memory as the kernel reports it (``/proc/PID/status``), for tests."""

from __future__ import annotations

import re
from pathlib import Path


def status_kib(pid: int, key: str) -> int:
    """A ``kB`` field of ``/proc/PID/status``: ``VmRSS`` now, ``VmHWM`` its peak."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {key} for process {pid}")
    return int(match.group(1))
