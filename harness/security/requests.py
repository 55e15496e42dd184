"""Declared request templates (`RequestSpec`) filled with per-run values and sent with httpx.

The portable checks only ever send what the environment declared, so they know no shop's
routes. Placeholders (`{email}`, `{order_id}`…) are filled wherever they appear: path, JSON
values, form values, raw body and headers. Unknown placeholders are left as they are.
"""

from __future__ import annotations

import re
import secrets
import shlex
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.security.settings import RequestSpec

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass
class Identity:
    """A synthetic shopper's values for the placeholders (example.com, random password)."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def fresh(cls, label: str = "security") -> Identity:
        """New values: nothing here can reach a real person."""
        token = uuid.uuid4().hex[:12]
        return cls({
            "email": f"{label}+{token}@example.com",
            "password": f"Pw-{secrets.token_urlsafe(12)}",
            "name": f"Security Shopper {token[:6]}",
            "digits10": "9" + "".join(secrets.choice("0123456789") for _ in range(9)),
            "uuid": uuid.uuid4().hex,
        })


def fill(value: Any, values: Mapping[str, str]) -> Any:
    """`value` (str, list or dict, recursively) with known placeholders replaced."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Filled:
    """A request ready to send (and to show as a curl line)."""

    method: str
    url: str
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    #: multipart/form-data fields (name -> value)
    files: dict[str, str] = field(default_factory=dict)

    def curl(self) -> str:
        """The request as a curl line (for a finding's `reproduce`)."""
        parts = ["curl", "-i", "-X", self.method, self.url]
        for name, value in self.headers.items():
            parts += ["-H", f"{name}: {value}"]
        if self.json is not None:
            import json as _json
            parts += ["-H", "Content-Type: application/json", "--data",
                      _json.dumps(self.json)]
        elif self.form:
            for name, value in self.form.items():
                parts += ["--data-urlencode", f"{name}={value}"]
        elif self.files:
            for name, value in self.files.items():
                parts += ["-F", f"{name}={value}"]
        elif self.body:
            parts += ["--data-raw", self.body]
        return shlex.join(parts)


def prepare(spec: RequestSpec, base_url: str, values: Mapping[str, str]) -> Filled:
    """`spec` with placeholders filled and its path made absolute against `base_url`."""
    path = fill(spec.path, values)
    url = path if path.startswith(("http://", "https://")) else base_url.rstrip("/") + path
    return Filled(spec.method, url, fill(spec.json, values), fill(dict(spec.form), values),
                  fill(spec.body, values), fill(dict(spec.headers), values))


def send(client: Any, request: Filled, **extra_headers: str) -> Any:
    """Send `request` with the httpx `client` (cookies kept by the client); no redirects."""
    headers = {**request.headers, **extra_headers}
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if request.json is not None:
        kwargs["json"] = request.json
    elif request.form:
        kwargs["data"] = request.form
    elif request.files:
        kwargs["files"] = {name: (None, value) for name, value in request.files.items()}
    elif request.body:
        kwargs["content"] = request.body.encode()
    return client.request(request.method, request.url, **kwargs)


def json_path(data: Any, path: str) -> Any:
    """The value at a dotted path (`order.id`, `items.0.id`) of parsed JSON, or None."""
    current = data
    for part in path.split(".") if path else []:
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def captured(spec: RequestSpec, response: Any) -> dict[str, str]:
    """The values `spec.capture` takes from `response`; raises ValueError naming a missing one."""
    values: dict[str, str] = {}
    if not spec.capture:
        return values
    try:
        data = response.json()
    except ValueError:
        data = None
    for name, where in spec.capture.items():
        if where.lower().startswith("header:"):
            value = response.headers.get(where.split(":", 1)[1].strip())
        else:
            value = json_path(data, where)
        if value in (None, "") or isinstance(value, (dict, list)):
            raise ValueError(f"capture '{name}': nothing at '{where}' in the answer "
                             f"({response.status_code}: {response.text[:160]})")
        values[name] = str(value)
    return values
