"""Bad input from the network is worth a line in the log, not a traceback each time.

aiohttp (a malformed request, a 10 kB header), Engine.IO and Socket.IO (a frame that does not
decode) log what a client sent wrong as ERROR with a traceback: anyone could fill the disk and
bury real errors. ``QuietClientErrors`` turns those records into one WARNING line naming the
error, at most ``burst`` per ``window_s`` per kind, and says how many it left out. Our own code
logs its real failures on ``openlines.*`` loggers, which this filter never touches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# The libraries whose ERRORs are about what a client sent (see the module docstring).
NOISY_LOGGERS = ("aiohttp.server", "engineio.server", "socketio.server")


class QuietClientErrors(logging.Filter):
    def __init__(
        self,
        *,
        burst: int = 10,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._burst = burst
        self._window_s = window_s
        self._clock = clock
        # kind -> (window start, lines logged in it, lines left out)
        self._seen: dict[str, tuple[float, int, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        error = record.exc_info[1] if record.exc_info else None
        kind = f"{record.name}:{type(error).__name__ if error else record.msg}"
        now = self._clock()
        start, logged, dropped = self._seen.get(kind, (now, 0, 0))
        if now - start >= self._window_s:
            start, logged, dropped = now, 0, dropped
        if logged >= self._burst:
            self._seen[kind] = (start, logged, dropped + 1)
            return False
        detail = f": {type(error).__name__}: {str(error)[:200]}" if error else ""
        left_out = f" ({dropped} like it left out)" if dropped else ""
        record.msg = f"client error: {record.getMessage()[:200]}{detail}{left_out}"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.levelno = logging.WARNING
        record.levelname = "WARNING"
        self._seen[kind] = (start, logged + 1, 0)
        if len(self._seen) > 1000:  # kinds are bounded in practice; never let them grow
            self._seen.clear()
        return True


def quiet_client_errors() -> None:
    """Install the filter on the noisy libraries' loggers, once per process."""
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietClientErrors) for f in logger.filters):
            logger.addFilter(QuietClientErrors())
