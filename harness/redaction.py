"""Keep secrets out of every artifact: reports, logs, JUnit, traces' text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
# Credentials that can be recognised without knowing the secret itself.
_PATTERNS = (
    re.compile(r"(?i)(authorization|proxy-authorization|x-api-key|cookie)(\s*[:=]\s*)"
               r"([^\s,;\"']+(?: [^\s,;\"']+)?)"),
    re.compile(r"(?i)(://[^/\s:@]+:)([^@\s/]+)(@)"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret and credential-looking value masked."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return _PATTERNS[1].sub(lambda m: m.group(1) + MASK + m.group(3), text)


def redact_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Redact every string inside nested dicts/lists."""
    secrets = list(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: redact_data(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v, secrets) for v in value]
    return value
