"""Entry point for `python -m demostore`."""

from __future__ import annotations

import sys

from demostore.cli import main

if __name__ == "__main__":
    sys.exit(main())
