"""What every benchmark saves next to its figures, and how it saves them.

    from _results import machine, save
    save(RESULTS, {"benchmark": "...", ..., **machine()})
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    """The conditions of a measurement: cores, load when it ended, Python, time (UTC)."""
    return {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def save(path: Path, figures: dict[str, Any]) -> None:
    """Write the figures as JSON (benchmarks/results/) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"saved {path.relative_to(ROOT)}")
