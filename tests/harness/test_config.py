"""Environment files: valid loads, and every kind of mistake gives one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import load_environment
from harness.errors import ConfigError

GOOD = """
base_url = "https://staging.example.com"
production = false
suites = ["smoke", "e2e"]
[auth]
basic_user = "qa"
basic_password = "${PW}"
headers = { "X-Token" = "${TOKEN}" }
[smoke]
timeout_s = 5
[[smoke.checks]]
name = "health"
path = "/healthz"
expect_json = { status = "ok" }
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "environments").mkdir()
    monkeypatch.setenv("QGATE_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(root: Path, name: str, text: str) -> None:
    (root / "environments" / f"{name}.toml").write_text(text, encoding="utf-8")


def test_loads_and_resolves_secrets_from_dotenv_files(root: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    write(root, "staging", GOOD)
    (root / ".env").write_text("PW=from-dotenv\nTOKEN=generic\n")
    (root / ".env.staging").write_text("TOKEN=from-env-file\n")
    env = load_environment("staging")
    assert env.base_url == "https://staging.example.com"
    assert env.api_url == "https://staging.example.com/api"
    assert env.auth.basic_password == "from-dotenv"
    assert env.auth.headers == {"X-Token": "from-env-file"}  # .env.<name> wins over .env
    assert set(env.secret_values()) == {"from-dotenv", "from-env-file"}
    assert env.suite_settings("smoke").timeout_s == 5.0
    assert env.suite_settings("smoke").checks[0].expect_json == {"status": "ok"}
    monkeypatch.setenv("TOKEN", "from-process")  # the process environment wins over files
    assert load_environment("staging").auth.headers["X-Token"] == "from-process"


def test_variable_default_applies_only_when_unset(root: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write(root, "staging", 'base_url = "${QGATE_TEST_URL:-http://127.0.0.1:8000}"\n'
          '[smoke]\nexpect_version = "${QGATE_TEST_VERSION:-}"')
    env = load_environment("staging")
    assert env.base_url == "http://127.0.0.1:8000"
    assert env.suite_settings("smoke").expect_version == ""
    monkeypatch.setenv("QGATE_TEST_URL", "https://set.example.com")
    monkeypatch.setenv("QGATE_TEST_VERSION", "2.0")
    env = load_environment("staging")
    assert env.base_url == "https://set.example.com"
    assert env.suite_settings("smoke").expect_version == "2.0"


BAD = [
    ("unknown top key", 'base_ur = "http://x"', "base_ur", "did you mean 'base_url'?"),
    ("misspelt suite key", 'base_url = "http://x"\n[smoke]\ntimout_s = 3', "smoke.timout_s",
     "did you mean 'timeout_s'?"),
    ("wrong type", 'base_url = "http://x"\nproduction = "no"', "production",
     "expected true or false"),
    ("bad url", 'base_url = "staging.example.com"', "base_url", "is not an http(s) URL"),
    ("missing variable", 'base_url = "${NOT_SET_ANYWHERE_42}"', "base_url",
     "${NOT_SET_ANYWHERE_42} is not set"),
    ("unknown suite", 'base_url = "http://x"\nsuites = ["smok"]', "suites[0]",
     "did you mean 'smoke'?"),
    ("malformed toml", "base_url = ", "", "malformed TOML"),
    ("missing required key", "production = true", "base_url", "required key is missing"),
    ("bad literal", 'base_url = "http://x"\n[[smoke.checks]]\nname="a"\npath="/"\nmethod="GETT"',
     "smoke.checks[0].method", "did you mean 'GET'?"),
    ("nested unknown key", 'base_url = "http://x"\n[e2e.location]\npincod = "1"',
     "e2e.location.pincod", "did you mean 'pincode'?"),
]


@pytest.mark.parametrize(("text", "key", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_file_names_file_and_key(root: Path, text: str, key: str, message: str) -> None:
    write(root, "broken", text)
    with pytest.raises(ConfigError) as info:
        load_environment("broken")
    line = info.value.one_line()
    assert line.startswith("environments/broken.toml: ")
    assert key in line and message in line
    assert "\n" not in line


def test_unknown_environment_suggests_a_name(root: Path) -> None:
    write(root, "staging", 'base_url = "http://x"')
    with pytest.raises(ConfigError, match="did you mean 'staging'"):
        load_environment("stagin")


def test_shipped_environment_files_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    project = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("QGATE_ROOT", str(project))
    for name in ("STAGING_BASE_URL", "PRODUCTION_BASE_URL"):
        monkeypatch.setenv(name, "https://example.com")
    for name in ("STAGING_BASIC_USER", "STAGING_BASIC_PASSWORD", "STAGING_TOKEN"):
        monkeypatch.setenv(name, "x" * 8)
    for name in ("demo", "staging", "production"):
        env = load_environment(name)
        assert env.suites
    assert load_environment("production").production is True
    assert load_environment("production").suites == ("smoke",)


@pytest.mark.parametrize("table, refused", [
    ("", False),                                     # security runs passive-only by default
    ("[security]\npassive_on_production = false\n", True),
])
def test_production_lets_a_passive_only_suite_through(root: Path, table: str,
                                                      refused: bool) -> None:
    from harness.errors import ProductionRefused

    write(root, "prod", 'base_url = "https://shop.example.com"\nproduction = true\n'
          'suites = ["smoke", "security", "e2e"]\n' + table)
    env = load_environment("prod")
    expected = "refusing security, e2e (" if refused else "refusing e2e ("
    with pytest.raises(ProductionRefused) as exc:
        env.refuse_disallowed(["smoke", "security", "e2e"], allow_production=False)
    assert expected in exc.value.message
    if not refused:
        env.refuse_disallowed(["smoke", "security"], allow_production=False)
