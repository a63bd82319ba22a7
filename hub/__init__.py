"""OpenLines hub: the core every other package points at (models, storage, stream, realtime)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("openlines")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+local"
