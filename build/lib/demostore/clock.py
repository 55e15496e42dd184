"""The fulfilment clock: a background thread that keeps open orders and challenges moving.

Reads also advance an order (see orders.advance), so the thread only matters for orders nobody
looks at: their stock is consumed at delivery and unanswered 3-D Secure challenges give their
reserved stock back.
"""

from __future__ import annotations

import sys
import threading
import traceback

from sqlalchemy.orm import Session, sessionmaker

from demostore import checkout, orders
from demostore.db import utcnow


class FulfilmentClock:
    """Runs orders.sweep and checkout.expire_challenges every few seconds."""

    def __init__(self, sessions: sessionmaker[Session], tick_seconds: float) -> None:
        self._sessions = sessions
        self._tick = tick_seconds
        self._interval = max(1.0, min(tick_seconds, 10.0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fulfilment-clock", daemon=True)

    def start(self) -> None:
        """Start ticking."""
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking (waits for the current sweep)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with self._sessions() as db:
                    orders.sweep(db, utcnow(), self._tick)
                    checkout.expire_challenges(db, utcnow())
            except Exception:  # keep ticking; a bad sweep must not stop the clock
                traceback.print_exc(file=sys.stderr)
