"""Two servers starting at once make one local CA, not two (a lock around it).

Two real processes call `certs.local_cert` on the same fresh directory at the
same instant, round after round; without the lock both saw no CA, both made one,
and one process's leaf was signed by a CA the other had overwritten (or one
crashed on the other's temporary file).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

ROUNDS = 6
STEP_S = 0.25
_CHILD = """
import json, sys, time
from pathlib import Path
from server import certs
start, step, root = float(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
for n in range(int(sys.argv[4])):
    at = start + n * step
    while time.time() < at:  # both processes go at the same instant
        pass
    made = certs.local_cert(root / str(n))
    print(json.dumps([n, made.made_ca, made.ca_file.read_text()]), flush=True)
"""


def test_two_processes_starting_at_once_make_one_ca(tmp_path: Path) -> None:
    start = time.time() + 2.0  # after both have imported cryptography
    args = [str(start), str(STEP_S), str(tmp_path), str(ROUNDS)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    ended = [child.communicate(timeout=30) for child in children]
    for child, (_, err) in zip(children, ended, strict=True):
        # Unlocked, both wrote ca.key.tmp at once: O_EXCL failed one of them.
        assert child.returncode == 0, err[-2000:]
    rows = [json.loads(line) for out, _ in ended for line in out.splitlines()]
    for n in range(ROUNDS):
        mine = [row for row in rows if row[0] == n]
        assert len(mine) == 2
        assert sum(1 for row in mine if row[1]) == 1, f"round {n}: two CAs made"
        assert mine[0][2] == mine[1][2], f"round {n}: the processes hold other CAs"
        assert (tmp_path / str(n) / "tls" / "ca.pem").read_text() == mine[0][2]
