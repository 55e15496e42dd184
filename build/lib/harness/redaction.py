"""Keep secrets out of every artifact: reports, logs, JUnit, traces, HARs.

Two kinds of secret are masked:
- values qgate knows (passwords, tokens, API keys from the environment's secrets);
- credentials recognised by their shape, whatever their value: `Authorization`, `Cookie`
  and `Set-Cookie` headers (as text lines, JSON keys, or HAR/trace `{"name", "value"}`
  header objects), cookie objects in HARs and Playwright traces, and passwords in URLs.
  Cookies a shop issues during the run are unknown in advance, so only the shape can
  catch them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MASK = "***"
#: Header names whose value is a credential whatever it contains.
SENSITIVE_HEADERS = frozenset({
    "authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie",
    "x-auth-token", "x-csrf-token", "x-xsrf-token",
})
_NAMES = r"(?:proxy-authorization|authorization|x-api-key|x-auth-token|set-cookie|cookie)"
_PATTERNS = (
    # JSON-shaped: "authorization": "Bearer …"  /  "Set-Cookie": "sid=…"
    re.compile(r'(?i)("' + _NAMES + r'"\s*:\s*")((?:[^"\\]|\\.)*)(")'),
    # header objects written as JSON text: {"name": "cookie", "value": "…"}
    re.compile(r'(?i)("name"\s*:\s*"' + _NAMES + r'"\s*,\s*"value"\s*:\s*")((?:[^"\\]|\\.)*)(")'),
    # header lines: the whole value (a Cookie line carries several name=value pairs)
    re.compile(r"(?im)^(\s*(?:<\s*|>\s*)?" + _NAMES + r"\s*:\s*)()([^\r\n]+)$"),
    # inline "authorization=…" inside other text: one token (two for "Bearer x"). Cookies
    # are not matched inline: prose such as "session cookie: missing HttpOnly" is evidence.
    re.compile(r"(?i)\b(proxy-authorization|authorization|x-api-key|x-auth-token)"
               r"(\s*[:=]\s*)([^\s,;\"']+(?: [^\s,;\"']+)?)"),
    # credentials in URLs: scheme://user:password@host
    re.compile(r"(?i)(://[^/\s:@]+:)([^@\s/]+)(@)"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret and credential-looking value masked."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(lambda m: m.group(1) + MASK + m.group(3), text)
    text = _PATTERNS[1].sub(lambda m: m.group(1) + MASK + m.group(3), text)
    text = _PATTERNS[2].sub(lambda m: m.group(1) + MASK, text)
    text = _PATTERNS[3].sub(lambda m: m.group(1) + m.group(2) + MASK
                            if m.group(3) != MASK else m.group(0), text)
    return _PATTERNS[4].sub(lambda m: m.group(1) + MASK + m.group(3), text)


def redact_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Redact every string inside nested dicts/lists, and mask credentials by structure:
    sensitive header keys, `{"name": <sensitive header>, "value": …}` objects and the
    values of `cookies` lists (HAR and Playwright trace shapes)."""
    secrets = list(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        name = value.get("name")
        out: dict[Any, Any] = {}
        for key, item in value.items():
            lowered = key.lower() if isinstance(key, str) else key
            if lowered in SENSITIVE_HEADERS and isinstance(item, str):
                out[key] = MASK
            elif key == "value" and isinstance(name, str) and name.lower() in SENSITIVE_HEADERS:
                out[key] = MASK
            elif lowered == "cookies" and isinstance(item, list):
                out[key] = [_mask_cookie(c, secrets) for c in item]
            else:
                out[key] = redact_data(item, secrets)
        return out
    if isinstance(value, (list, tuple)):
        return [redact_data(v, secrets) for v in value]
    return value


def _mask_cookie(cookie: Any, secrets: list[str]) -> Any:
    if isinstance(cookie, dict) and "value" in cookie:
        return {k: (MASK if k == "value" else redact_data(v, secrets)) for k, v in cookie.items()}
    return redact_data(cookie, secrets)


#: Text files `scrub_folder` masks in place (binary attachments are left alone).
_TEXT_SUFFIXES = (".txt", ".log", ".html", ".csv", ".xml", ".har", ".md")


def scrub_folder(folder: Path, secrets: Iterable[str] = ()) -> None:
    """Mask secrets in every JSON and text file directly in `folder` (allure-pytest's results,
    captured logs and text attachments), in place."""
    import json

    secrets = list(secrets)
    for path in folder.iterdir():
        if not path.is_file():
            continue
        try:
            if path.suffix == ".json":
                data = json.loads(path.read_text(encoding="utf-8"))
                path.write_text(json.dumps(redact_data(data, secrets)), encoding="utf-8")
            elif path.suffix in _TEXT_SUFFIXES:
                path.write_text(redact(path.read_text(encoding="utf-8"), secrets),
                                encoding="utf-8")
        except (OSError, ValueError):
            continue  # not text after all (a binary with a text-like suffix)
