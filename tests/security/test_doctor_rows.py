"""`qgate doctor`: wapiti found, and a configured ZAP daemon reachable or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.doctor import _wapiti, _zap_daemons


def test_wapiti_row() -> None:
    row = _wapiti()
    assert row.ok and row.detail.endswith("/wapiti")


def test_zap_daemon_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_zap,
                        closed_port_url: str) -> None:
    (tmp_path / "environments").mkdir()
    for name, url in (("up", fake_zap.url), ("down", closed_port_url)):
        (tmp_path / "environments" / f"{name}.toml").write_text(
            f'base_url = "http://127.0.0.1:1"\nsuites = ["security"]\n'
            f'[security]\nengine = "zap"\nzap_url = "{url}"\n')
    monkeypatch.setenv("QGATE_ROOT", str(tmp_path))
    rows = {r.name: r for r in _zap_daemons()}
    assert rows["zap daemon (up)"].ok
    down = rows["zap daemon (down)"]
    assert not down.ok and not down.optional and "harness/templates/ci/zap-compose.yml" in down.fix


def test_declared_security_rows_show_auth_endpoints_chains_and_races() -> None:
    from json_shop import CARTS, RACES, shop_settings

    from harness.security.declared import declaration_rows

    rows = declaration_rows(shop_settings(CARTS + RACES))
    assert ("auth endpoint", "customer token: POST /api/token (refused within 8; bypass "
            "headers: X-Forwarded-For, X-Real-IP, Forwarded, True-Client-IP)") in rows
    assert ("object", "cart: POST /api/carts [uuid = data.uuid]; read GET /api/carts/{uuid}; "
            "write POST /api/carts/{uuid}/items") in rows
    races = [text for label, text in rows if label == "race"]
    assert races[1] == ("two shoppers buy the last unit: 2 × POST /api/checkout at once (a "
                        "shopper each) after POST /api/carts [cart = data.uuid] → POST "
                        "/api/carts/{cart}/items; at most 1 accepted; stock never below zero")
    assert rows[-1] == ("not declared", "security.csrf, security.hygiene.client_errors "
                                        "(those checks do not run)")


def test_the_docs_declarations_build_and_show_the_demos_rows() -> None:
    """docs/security-checks.md: every TOML example is a valid [security] table, and its
    doctor excerpt is what the demo's declarations print."""
    import re
    import tomllib

    from harness.config import load_environment
    from harness.schema import build
    from harness.security.declared import declaration_rows
    from harness.security.settings import SecuritySettings
    from harness.terminal import wrap

    page = (Path(__file__).resolve().parents[2] / "docs" / "security-checks.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", page, re.S)
    assert len(blocks) >= 6
    for block in blocks:
        build(SecuritySettings, tomllib.loads(block)["security"], "docs", "security")
    shown = re.search(r"```console\n\$ qgate doctor --env demo\n…\n(.*?)```", page, re.S)
    assert shown is not None
    rows = declaration_rows(load_environment("demo").suite_settings("security"))
    width = max(len(label) for label, _ in rows)
    printed = [line for label, text in rows  # the docs' examples run with COLUMNS=100
               for line in wrap(text, f"  {label:<{width}}  ", width=100)]
    assert shown.group(1).splitlines()[1:] == printed
