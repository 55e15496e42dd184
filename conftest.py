"""Project-wide pytest customisation for qgate's suites (kept thin on purpose).

qgate's plugin provides the fixtures `harness_config`, `evidence`, `storefront`, `shopper`
and pytest-playwright's `browser_context_args`; a team overrides them here (`qgate init`
writes the same file into a new project). The harness's own tests keep their fixtures in
`tests/`.
"""
