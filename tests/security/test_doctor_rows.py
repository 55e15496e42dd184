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
