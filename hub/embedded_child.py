"""The embedded MongoDB's own process: SecantusDB run in-process, stopped when its parent dies.

Started by ``hub/embedded.py`` as ``python -m hub.embedded_child <parent pid> <secantus args>``.
A ``kill -9`` of the hub gives it no chance to stop its child, and ``PR_SET_PDEATHSIG`` fires
when the *thread* that forked exits (the hub starts the server from an ``asyncio.to_thread``
worker), so the child watches its parent itself: once it is reparented, it stops as on SIGTERM
and frees the data directory for the next start.

Imports nothing of OpenLines: this process is only the database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time

log = logging.getLogger("openlines.embedded.child")

PARENT_POLL_S = 0.2
# SecantusDB stops in 2-5 s (it closes its connections, then WiredTiger checkpoints). If it
# hangs, the lock on the data directory must still go: journaled writes survive a hard exit.
STOP_GRACE_S = 20.0


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    log.warning("parent process %s is gone; stopping the embedded MongoDB", parent_pid)
    # The daemon's own SIGTERM handler stops the server in the main thread.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_GRACE_S)
    log.error("the embedded MongoDB did not stop within %s s; exiting hard", STOP_GRACE_S)
    os._exit(1)


def _stop_without_the_accept_wait() -> None:
    """SecantusDB's ``stop`` closes its listening socket, then waits up to 2 s for the thread
    blocked in ``accept()`` on it. On Linux a close does not wake that ``accept()`` (a shutdown
    does), so every stop (each restart of a hub) took 2 s longer than the server needs."""
    from secantus.server import SecantusDBServer

    stop = SecantusDBServer.stop

    def stop_at_once(server: SecantusDBServer) -> None:
        listening = getattr(server, "_socket", None)
        if isinstance(listening, socket.socket):
            with contextlib.suppress(OSError):
                listening.shutdown(socket.SHUT_RDWR)  # accept() fails: the thread returns
        stop(server)

    SecantusDBServer.stop = stop_at_once


def main(argv: list[str]) -> int:
    parent_pid, secantus_args = int(argv[0]), argv[1:]
    # Checked from the first poll on: a parent that died before this line is noticed too.
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True
    ).start()
    from secantus.cli import main as serve

    _stop_without_the_accept_wait()
    code: int = serve(secantus_args)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
