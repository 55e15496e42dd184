"""What a staging provides besides its pages: one-time codes, and a way to move orders on.

Both are declared in the environment (`[e2e.login]` otp_*, `[e2e.orders]` advance_hook). A
hook is either a command (run without a shell; `{phone}` / `{order_id}` are replaced) or an
http(s) URL (the OTP sink is polled with GET; the order hook is called with POST).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from urllib.parse import quote

from harness.e2e.settings import LoginSettings, OrderSettings

#: how long a one-time code may take to reach the sink, and how often it is polled
OTP_TIMEOUT_S = 30.0
OTP_POLL_S = 0.5
HOOK_TIMEOUT_S = 60.0


class HookFailed(RuntimeError):
    """A staging hook (OTP source, order advance) did not do its job."""


def read_otp(login: LoginSettings, phone: str, *, timeout_s: float = OTP_TIMEOUT_S) -> str:
    """The one-time code for `phone`: fixed, read from a sink URL, or printed by a command."""
    if login.otp_fixed:
        return login.otp_fixed
    pattern = re.compile(login.otp_pattern)
    if login.otp_url:
        import httpx

        url = login.otp_url.replace("{phone}", quote(phone, safe=""))
        deadline = time.monotonic() + timeout_s
        last = ""
        while True:
            try:
                response = httpx.get(url, timeout=5.0)
                last = f"HTTP {response.status_code}"
                if response.status_code == 200:
                    found = pattern.search(response.text)
                    if found:
                        return found.group(1) if found.groups() else found.group(0)
                    last = "no code in the answer yet"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise HookFailed(f"e2e.login.otp_url gave no one-time code for {phone} within "
                                 f"{timeout_s:.0f} s ({last})")
            time.sleep(OTP_POLL_S)
    if login.otp_hook:
        output = _run(login.otp_hook, "e2e.login.otp_hook", phone=phone)
        found = pattern.search(output)
        if not found:
            raise HookFailed(f"e2e.login.otp_hook printed no code matching "
                             f"{login.otp_pattern!r}: {output.strip()[:200]!r}")
        return found.group(1) if found.groups() else found.group(0)
    raise HookFailed("e2e.login.method = 'otp' but no otp_fixed, otp_url or otp_hook is set")


def advance_order(orders: OrderSettings, order_id: str) -> None:
    """Ask staging to move `order_id` one step on (what its dark store would do)."""
    hook = orders.advance_hook
    if hook.startswith(("http://", "https://")):
        import httpx

        url = hook.replace("{order_id}", quote(order_id, safe=""))
        try:
            response = httpx.post(url, json={"order_id": order_id}, timeout=HOOK_TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise HookFailed(f"e2e.orders.advance_hook: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise HookFailed(f"e2e.orders.advance_hook answered HTTP {response.status_code} "
                             f"for order {order_id}: {response.text[:200]!r}")
        return
    _run(hook, "e2e.orders.advance_hook", order_id=order_id)


def _run(command: str, key: str, **values: str) -> str:
    """Run a hook command (no shell) with `{name}` placeholders filled; its stdout."""
    argv = [_fill(part, values) for part in shlex.split(command)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=HOOK_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HookFailed(f"{key}: {argv[0]}: {exc}") from None
    if proc.returncode != 0:
        why = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise HookFailed(f"{key} exited {proc.returncode}: {why[0][:200]}")
    return proc.stdout


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text
