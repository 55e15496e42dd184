"""The security suite's engines: wapiti (embedded default) and ZAP (a daemon, via zapv2).

Both produce normalised `harness.results.Finding`s; a zap-baseline rules file sets each
finding's level. The checks no scanner does live in `checks`/`transport` and run as
`suites/security/`. Nothing here imports zapv2 at module level.
"""
