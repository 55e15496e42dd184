"""The e2e suite's harness side: settings, the storefront adapter protocol, browser discovery
and the pytest fixtures (`harness.e2e.fixtures`, the only module that imports playwright).

Kept empty on purpose: loading any environment imports `harness.e2e.settings`, and that must
not pull the adapter records into `qgate smoke`'s start-up. Import from the submodules.
"""
