"""The e2e suite's harness side: settings, the storefront adapter protocol, browser discovery
and the pytest fixtures (`harness.e2e.fixtures`, the only module that imports playwright).
"""

from __future__ import annotations

from harness.e2e.adapter import Storefront, Unsupported
from harness.e2e.settings import E2ESettings

__all__ = ["E2ESettings", "Storefront", "Unsupported"]
