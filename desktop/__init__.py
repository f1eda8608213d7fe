"""sse-viewer: watch, debug and teach Server-Sent Events."""

__version__ = "0.1.0"
