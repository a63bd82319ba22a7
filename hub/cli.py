"""The ``openlines`` command. The only place that configures logging and reads settings."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from aiohttp import web
from pydantic import ValidationError

from hub import __version__
from hub.settings import Settings

# How long a stop waits for requests still running (open sockets are closed at once).
SHUTDOWN_TIMEOUT_S = 1.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openlines", description="OpenLines hub")
    parser.add_argument("--version", action="version", version=f"openlines {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run one hub process")
    # Unset: OPENLINES_HOST / OPENLINES_PORT, else 127.0.0.1:8080 (hub/settings.py).
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    return parser


def _settings_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        name = "OPENLINES_" + "_".join(str(p) for p in error["loc"]).upper()
        parts.append(f"{name}: {error['msg']}")
    return "invalid setting " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        # --host / --port win over OPENLINES_HOST / OPENLINES_PORT.
        given = {"host": getattr(args, "host", None), "port": getattr(args, "port", None)}
        settings = Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        print(f"openlines: {_settings_error(exc)}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # These libraries log whole payloads and database documents (secrets included) at DEBUG:
    # they stay at WARNING whatever the level, so no message body or secret reaches the log.
    for noisy in ("engineio", "socketio", "aiohttp.access", "pymongo", "redis"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "serve":
        return _serve(settings)
    return 2


def _serve(settings: Settings) -> int:
    from hub.app import StartupError

    # What is imported by now (aiogram's and pydantic's models: ~240,000 objects) lives as long
    # as the process. Frozen, the collector stops walking it: a full collection took ~0.2 s of
    # the event loop, and the interpreter's exit ~1 s of every stop and restart.
    gc.freeze()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_run(settings))
    except StartupError as exc:
        print(f"openlines: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{settings.host}:{settings.port}"
        print(f"openlines: cannot listen on {where}: {exc.strerror}", file=sys.stderr)
        return 1


async def _run(settings: Settings) -> int:
    """Serve until SIGINT or SIGTERM; the exit code the app asks for (1: a part died).

    Not ``web.run_app``: it starts the app outside its ``try``, so a part that fails to start
    would leave the parts started before it running (they would only be cancelled, never
    stopped). Here the runner is cleaned up whatever happens, which stops every part started.
    """
    from hub.app import EXIT, create_app

    app = await create_app(settings)
    # Open sockets are closed as the stop begins (create_app); a request still running after
    # this long is cut, so a stop with browser tabs open ends within seconds.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await runner.setup()  # starts the parts in order
        await web.TCPSite(runner, settings.host, settings.port).start()
        if settings.port == 0:  # any free port: say which one it got
            settings = settings.model_copy(update={"port": runner.addresses[0][1]})
        print(f"OpenLines {__version__} on {settings.served_url}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()  # stops the parts started, in reverse order
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return app[EXIT].code


if __name__ == "__main__":
    sys.exit(main())
