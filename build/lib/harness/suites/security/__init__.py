"""The security suite: portable checks (authorisation, CSRF, cookies, transport) and a scan."""
