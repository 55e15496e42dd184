"""Keep auth secrets out of browser evidence: Playwright traces, console logs.

Playwright records every request header, cookie and the context options (HTTP credentials,
extra headers) inside trace.zip, so each kept trace is rewritten with those values masked:
known secrets byte for byte, and credentials by shape (`harness.redaction`): Authorization,
Cookie and Set-Cookie headers and cookie objects, including cookies the shop issued during
the run.
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


def scrub_bytes(data: bytes, needles: Iterable[bytes], *, json_lines: bool = False) -> bytes:
    """`data` with every needle masked and credentials masked by shape.

    `json_lines` (a trace's `.trace`/`.network` members) redacts each JSON line by
    structure (header objects, cookie lists); other text gets the line/JSON-text patterns.
    """
    from harness.redaction import redact, redact_data

    for needle in needles:
        data = data.replace(needle, MASK)
    data = _HEADER_VALUE.sub(lambda m: m.group(1) + MASK + m.group(3), data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    if json_lines:
        lines = []
        for line in text.split("\n"):
            try:
                lines.append(json.dumps(redact_data(json.loads(line)), ensure_ascii=False)
                             if line.strip() else line)
            except ValueError:
                lines.append(redact(line))
        return "\n".join(lines).encode("utf-8")
    return redact(text).encode("utf-8")


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
                    data = scrub_bytes(data, needles, json_lines=info.filename.endswith(
                        (".trace", ".network")))
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
