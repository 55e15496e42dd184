"""Start-up settings of one demo store process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TICK_SECONDS = 20.0


@dataclass(frozen=True)
class StoreConfig:
    """Everything a store process is started with (CLI flags, already validated)."""

    db_url: str
    faults: frozenset[str] = field(default_factory=frozenset)
    version: str = "1.0.0"
    commit: str = "demo"
    tick_seconds: float = DEFAULT_TICK_SECONDS
    log_dir: Path | None = None

    def has(self, fault: str) -> bool:
        """Whether the named fault switch is on."""
        return fault in self.faults
