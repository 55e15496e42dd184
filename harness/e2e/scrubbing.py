"""Keep auth secrets out of browser evidence: Playwright traces, console logs.

Playwright records every request header and the context options (HTTP credentials, extra
headers) inside trace.zip, so each kept trace is rewritten with those values masked.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

MASK = b"***"
# Header values that are credentials whatever their content.
_HEADER_VALUE = re.compile(
    rb'(?i)("name"\s*:\s*"(?:proxy-)?authorization"\s*,\s*"value"\s*:\s*")((?:[^"\\]|\\.)*)(")'
)
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8")


def secret_needles(
    secrets: Iterable[str], basic_user: str = "", basic_password: str = ""
) -> list[bytes]:
    """Every form a secret can take in a trace: raw, JSON-escaped, URL-encoded, and basic auth."""
    needles: set[bytes] = set()
    values = [s for s in secrets if s and len(s) >= 3]
    if basic_password:
        values.append(base64.b64encode(f"{basic_user}:{basic_password}".encode()).decode())
        values.append(basic_password)
    for value in values:
        needles.add(value.encode())
        needles.add(json.dumps(value)[1:-1].encode())
        needles.add(quote(value, safe="").encode())
    return sorted((n for n in needles if len(n) >= 3), key=len, reverse=True)


def scrub_bytes(data: bytes, needles: Iterable[bytes]) -> bytes:
    """`data` with every needle and every Authorization header value masked."""
    for needle in needles:
        data = data.replace(needle, MASK)
    return _HEADER_VALUE.sub(lambda m: m.group(1) + MASK + m.group(3), data)


def scrub_text_file(path: str | os.PathLike[str], needles: Iterable[bytes]) -> None:
    """Mask secrets in a text file in place."""
    file = Path(path)
    file.write_bytes(scrub_bytes(file.read_bytes(), needles))


def scrub_trace(path: str | os.PathLike[str], needles: Iterable[bytes]) -> None:
    """Rewrite a Playwright trace.zip in place with secrets masked in every non-image member."""
    source = Path(path)
    needles = list(needles)
    fd, tmp = tempfile.mkstemp(suffix=".zip", dir=source.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(source) as zin, zipfile.ZipFile(
            tmp, "w", compression=zipfile.ZIP_DEFLATED
        ) as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if not data.startswith(_IMAGE_MAGIC):
                    data = scrub_bytes(data, needles)
                zout.writestr(info.filename, data)
        os.replace(tmp, source)
    except BaseException:
        os.unlink(tmp)
        raise


def storage_state_secrets(path: str) -> list[str]:
    """Cookie and localStorage values of a login storage state: they are credentials too."""
    if not path:
        return []
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # Nothing to mask: Playwright itself refuses a missing or malformed file when the
        # browser context opens, so the run stops there with a clear error.
        return []
    values = [str(c.get("value", "")) for c in state.get("cookies", [])]
    for origin in state.get("origins", []):
        values += [str(item.get("value", "")) for item in origin.get("localStorage", [])]
    return [v for v in values if len(v) >= 6]
