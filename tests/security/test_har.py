"""HAR files: secrets masked before they are kept; requests turned into scan seeds."""

from __future__ import annotations

import json
from pathlib import Path

from harness.har import HarRequest, read_requests, scrub_har
from harness.security.scan import seeds_from_requests

BASE = "http://127.0.0.1:8000"


def test_scrub_masks_credentials_and_drops_response_bodies(tmp_path: Path) -> None:
    har = tmp_path / "j.har"
    har.write_text(json.dumps({"log": {"entries": [{
        "request": {"method": "POST", "url": f"{BASE}/api/auth/login",
                    "headers": [{"name": "Authorization", "value": "Basic cWE6cHc="},
                                {"name": "X-Staging-Token", "value": "tok-123"},
                                {"name": "Cookie", "value": "qs_session=abc"}],
                    "cookies": [{"name": "qs_session", "value": "abc"}],
                    "postData": {"mimeType": "application/json",
                                 "text": '{"email": "a@example.com", "password": "Pw-secret!"}'}},
        "response": {"status": 200, "cookies": [{"name": "qs_session", "value": "new"}],
                     "headers": [{"name": "Set-Cookie", "value": "qs_session=new"}],
                     "content": {"mimeType": "text/html", "text": "<html>big page</html>"}}}]}}))
    scrub_har(har, secrets=["Pw-secret!"], header_names=["X-Staging-Token"])
    text = har.read_text()
    for secret in ("cWE6cHc=", "tok-123", "abc", "new", "Pw-secret!", "big page"):
        assert secret not in text
    request = read_requests(har)[0]
    assert request.body == '{"email": "a@example.com", "password": "***"}'


def test_seeds_keep_the_targets_api_once_per_method_and_path() -> None:
    requests = [
        HarRequest("GET", f"{BASE}/search?q=milk"),
        HarRequest("GET", f"{BASE}/static/store.js"),                   # static: dropped
        HarRequest("POST", "http://other.example/api/x", (), "{}", "application/json"),  # scope
        HarRequest("POST", f"{BASE}/api/checkout", (("Idempotency-Key", "k1"),
                                                    ("Cookie", "s=1")),
                   '{"slot": "now", "payment": {"method": "card", "cvc": 123}}',
                   "application/json"),
        HarRequest("POST", f"{BASE}/api/checkout", (), '{"slot": "later"}', "application/json"),
        HarRequest("POST", f"{BASE}/location", (), "pincode=560001&csrf_token=t",
                   "application/x-www-form-urlencoded"),
    ]
    seeds = seeds_from_requests(requests, BASE)
    assert seeds.get_urls == (f"{BASE}/search?q=milk",)
    assert seeds.openapi is not None
    checkout = seeds.openapi["paths"]["/api/checkout"]["post"]
    assert checkout["parameters"] == [{"name": "Idempotency-Key", "in": "header",
                                       "schema": {"type": "string", "default": "k1"}}]
    body = checkout["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["slot"] == {"type": "string", "default": "now"}
    assert body["properties"]["payment"]["properties"]["cvc"] == {"type": "integer",
                                                                  "default": 123}
    form = seeds.openapi["paths"]["/location"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in form
    assert set(seeds.openapi["paths"]) == {"/api/checkout", "/location"}
