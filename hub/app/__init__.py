"""The composition root: ``create_app(settings)`` builds one hub process from its parts
(``hub.app.parts``); the keys of what lives on the app are in ``hub.appkeys``."""

from __future__ import annotations

from hub.app.create import create_app
from hub.app.parts import PARTS, ROUTER, STOP_TIMEOUT_S, Part, StartupError, redact, registry
from hub.appkeys import EXIT, HTTP, HUB, KINDS, MONGO, REDIS, SETTINGS, SIO, STORE, ExitStatus

__all__ = [
    "EXIT",
    "HTTP",
    "HUB",
    "KINDS",
    "MONGO",
    "PARTS",
    "REDIS",
    "ROUTER",
    "SETTINGS",
    "SIO",
    "STOP_TIMEOUT_S",
    "STORE",
    "ExitStatus",
    "Part",
    "StartupError",
    "create_app",
    "redact",
    "registry",
]
