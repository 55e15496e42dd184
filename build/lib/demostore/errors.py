"""The one error type the store's services raise; the web layers map it to 4xx/5xx."""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """A refused request: a stable code, a human message and an HTTP status."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        """The `{"error": {...}}` body of the API."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}
