"""The bundled SSE server: jobs, streams with replay, disconnects, lab faults."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sse-viewer")
except PackageNotFoundError:  # running from a bare checkout
    __version__ = "0+unknown"

__all__ = ["__version__"]
