"""Fan-out timings for bench/realtime.py: off (one `if` per send) unless REALTIME_STATS_DIR is set.

Per event sequence number: when the hub started to hand out its frames (after rendering),
when it was done, when the last socket got its bytes, to how many sockets, the frame size
and the render time. A thread writes them every 0.2 s to ``<dir>/<pid>.json``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

KEEP = 2000  # events kept (the newest)


class _Recorder:
    def __init__(self, directory: str) -> None:
        self.path = Path(directory) / f"{os.getpid()}.json"
        self.events: dict[int, list[float]] = {}
        self.dirty = False
        threading.Thread(target=self._write_loop, name="realtime-stats", daemon=True).start()

    def _write_loop(self) -> None:
        while True:
            time.sleep(0.2)
            if self.dirty:
                self.dirty = False
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.events))
                tmp.replace(self.path)


_recorder: _Recorder | None = None


def enable(directory: str | None) -> None:
    """Start recording into `directory` (None: stay off)."""
    global _recorder
    if directory and _recorder is None:
        _recorder = _Recorder(directory)


def dispatching(seq: int, sockets: int, size: int, render_seconds: float) -> None:
    """The hub starts handing out the frame of event `seq` to `sockets` sockets."""
    if _recorder is None:
        return
    now = time.monotonic()
    row = _recorder.events.setdefault(seq, [now, now, now, 0, 0, 0.0])
    row[3] += sockets
    row[4] = max(row[4], size)
    row[5] += render_seconds
    if len(_recorder.events) > KEEP:
        del _recorder.events[min(_recorder.events)]


def dispatched(seq: int) -> None:
    """The hub has handed the frame of `seq` to every socket (sent or queued)."""
    if _recorder is not None and seq in _recorder.events:
        _recorder.events[seq][1] = time.monotonic()
        _recorder.dirty = True


def sent(seq: int) -> None:
    """One socket got the frame of `seq` (the last call is the end of the fan-out)."""
    if _recorder is not None and seq in _recorder.events:
        _recorder.events[seq][2] = time.monotonic()
        _recorder.dirty = True
