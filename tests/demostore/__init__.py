"""Tests of the demo store (real store subprocesses over HTTP, real databases).

pyproject puts `tests/` on sys.path and pytest imports this package under the name
`demostore`, shadowing the real package. Extending `__path__` keeps `demostore.<module>`
resolving to the real modules however the project is installed.
"""

from __future__ import annotations

from pathlib import Path

_REAL_PACKAGE = Path(__file__).resolve().parents[2] / "demostore"
if str(_REAL_PACKAGE) not in __path__:
    __path__.append(str(_REAL_PACKAGE))
