"""The one error a connection form raises: which field is wrong, and a sentence why.

Its own module so the form's parts (``request.py``, ``limits.py``) can both raise
it without importing each other.
"""

from __future__ import annotations


class RequestError(ValueError):
    """The form cannot become a request; ``field`` names the widget to point at."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
