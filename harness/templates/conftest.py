"""Project-wide pytest customisation for qgate's suites.

qgate's plugin provides the fixtures `harness_config` (the loaded environment), `evidence`,
`storefront`, `shopper` and pytest-playwright's `browser_context_args`; override any of them
here, e.g. to add a header every browser request should carry on your staging:

    import pytest

    @pytest.fixture(scope="session")
    def browser_context_args(browser_context_args):
        return {**browser_context_args, "locale": "en-IN"}
"""
