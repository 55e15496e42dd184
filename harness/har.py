"""HAR files (HTTP Archive): scrub their secrets and read back the requests they recorded.

The e2e suite can record each journey's requests as a HAR; the security suite seeds its scan
with them, so the JSON API a single-page shop calls from JavaScript is attacked too. A HAR is
an artifact, so its credentials (auth headers, cookies, the configured secrets) are masked
before it is kept.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.redaction import MASK

_STATIC_SUFFIXES = (".js", ".css", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".woff",
                    ".woff2", ".ttf", ".map", ".webp")


@dataclass(frozen=True)
class HarRequest:
    """One recorded request: what a scanner needs to replay or attack it."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    mime_type: str = ""

    @property
    def is_static(self) -> bool:
        """A script, stylesheet, image or font: nothing to attack."""
        return self.url.split("?", 1)[0].lower().endswith(_STATIC_SUFFIXES)


def har_files(path: Path) -> list[Path]:
    """`path` itself when it is a file, else every `*.har` under it (sorted)."""
    if path.is_file():
        return [path]
    return sorted(path.rglob("*.har")) if path.is_dir() else []


def read_requests(path: Path) -> list[HarRequest]:
    """Every request recorded in the HAR file(s) at `path`; unreadable files raise ValueError."""
    out: list[HarRequest] = []
    for file in har_files(path):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            entries = data["log"]["entries"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{file}: not a HAR file ({exc})") from None
        for entry in entries:
            request = entry.get("request", {})
            post = request.get("postData") or {}
            body = str(post.get("text", "") or "")
            if not body and post.get("params"):  # a form recorded as params only
                from urllib.parse import urlencode
                body = urlencode([(p.get("name", ""), p.get("value", ""))
                                  for p in post["params"]])
            out.append(HarRequest(
                method=str(request.get("method", "GET")).upper(), url=str(request.get("url", "")),
                headers=tuple((str(h.get("name", "")), str(h.get("value", "")))
                              for h in request.get("headers", [])),
                body=body, mime_type=str(post.get("mimeType", ""))))
    return out


def scrub_har(path: Path, secrets: Iterable[str] = (), header_names: Iterable[str] = ()) -> None:
    """Rewrite the HAR at `path` with credentials masked (in place, atomically).

    Applies `harness.redaction` (credential headers and cookies by shape, passwords in
    URLs, every occurrence of `secrets`), masks the headers named in `header_names` (e.g. a
    staging's token header), and drops response bodies (only the requests seed a scan).
    """
    from harness.redaction import redact_data

    names = {n.lower() for n in header_names}
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data.get("log", {}).get("entries", []):
        content = entry.get("response", {}).get("content")
        if isinstance(content, dict) and "text" in content:  # pages: bulk, and not needed
            content["text"] = ""

    def clean(value: Any) -> Any:  # a staging's own token header, named in its environment
        if isinstance(value, dict):
            if str(value.get("name", "")).lower() in names and "value" in value:
                value = {**value, "value": MASK}
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    # the shared rules: known secrets, credential headers and cookies by shape, URL passwords
    data = redact_data(data, secrets)
    cleaned = clean(data)
    fd, tmp = tempfile.mkstemp(suffix=".har", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(cleaned, out)
    os.replace(tmp, path)
