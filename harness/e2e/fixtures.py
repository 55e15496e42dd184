"""Pytest fixtures and hooks of the e2e suite, on top of pytest-playwright.

Chain: `e2e_settings` → `browser_type_launch_args` / `browser_context_args` (pytest-playwright
overrides) → `page` → `storefront` (the environment's adapter). Each journey also gets a fresh
`shopper` and a `step` timer. On failure the trace (secrets masked), a screenshot and the
console errors are kept and registered as evidence; on a skip for an unsupported adapter step
too (the evidence up to that step).

Before anything runs, the adapter is checked (configure) and so are the facts the selected
journeys need (end of collection): a mistake is one line naming the key. A journey whose
concept the environment declares absent is *not applicable* and never starts a browser.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.e2e.adapter import RateLimited, Shopper, Storefront, Unsupported
from harness.e2e.browser import LAUNCH_ARGS, BrowserNotFound, discover_browser, http_credentials
from harness.e2e.journey import AccountLease, Journey
from harness.e2e.ratelimit import RateLimitHit, limiter_answer, rate_limit_message
from harness.e2e.scrubbing import (
    scrub_text_file,
    scrub_trace,
    secret_needles,
    storage_state_secrets,
)
from harness.e2e.settings import E2ESettings

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_UNSUPPORTED = pytest.StashKey[str]()
_ADAPTER = pytest.StashKey[type]()
# the rate limiters' answers the browser saw during a journey, and the step in progress
_RATE_LIMITS = pytest.StashKey[list[RateLimitHit]]()
_CURRENT_STEP = pytest.StashKey[str]()
_BASE_URL = pytest.StashKey[str]()
# the journey's context started from its worker's saved login ([e2e.accounts])
_RESTORED = pytest.StashKey[bool]()
# The fixture that marks a test as a journey (browser + adapter).
JOURNEY_FIXTURE = "storefront"


class StepFailed(AssertionError):
    """A journey step failed; the message names the journey and the step."""


# --- settings -------------------------------------------------------------------------


def e2e_settings_for(config: pytest.Config) -> E2ESettings:
    """The `[e2e]` settings of the session's environment (qgate's plugin loaded it)."""
    from harness.plugin import environment_of

    settings: E2ESettings = environment_of(config).suite_settings("e2e")
    return settings


@pytest.fixture(scope="session")
def e2e_settings(harness_config: Any) -> E2ESettings:
    """The e2e suite's settings from the environment file."""
    settings: E2ESettings = harness_config.suite_settings("e2e")
    return settings


@pytest.fixture(scope="session")
def _e2e_auth(harness_config: Any) -> Any:
    """The environment's AuthSettings (basic auth, headers, storage state)."""
    return harness_config.auth


@pytest.fixture(scope="session")
def _e2e_secret_needles(harness_config: Any, _e2e_auth: Any) -> list[bytes]:
    """Byte patterns to mask in traces and logs."""
    auth = _e2e_auth
    values = [*harness_config.secret_values(), *auth.headers.values(),
              *storage_state_secrets(auth.storage_state)]
    return secret_needles(values, auth.basic_user, auth.basic_password)


# --- collection: viewports and retries ------------------------------------------------


def _runs_e2e(config: pytest.Config) -> bool:
    from harness.plugin import suites_in_args
    return "e2e" in suites_in_args(config)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse settings or an adapter pytest cannot run with before anything starts."""
    if not config.getoption("--env", default=None):
        return
    viewports = e2e_settings_for(config).viewports
    unknown = sorted(set(viewports) - {"desktop", "mobile"})
    if unknown or not viewports:
        raise pytest.UsageError(
            f"e2e.viewports: {', '.join(unknown) or 'empty'}; use 'desktop' and/or 'mobile'"
        )
    # A declared adapter is checked now; an undeclared one only once journeys are collected
    # (an e2e folder without journeys needs none).
    if _runs_e2e(config) and e2e_settings_for(config).adapter:
        from harness.e2e.coverage import load_checked_adapter
        from harness.errors import HarnessError
        from harness.plugin import environment_of

        try:
            config.stash[_ADAPTER] = load_checked_adapter(environment_of(config))
        except HarnessError as exc:
            raise pytest.UsageError(exc.one_line()) from None


def pytest_collection_finish(session: pytest.Session) -> None:
    """The facts the selected journeys need must be declared (a config error naming them)."""
    if not session.config.getoption("--env", default=None) or not _runs_e2e(session.config):
        return
    from harness.e2e.coverage import check_environment
    from harness.errors import HarnessError
    from harness.plugin import environment_of

    tests = {getattr(item, "originalname", item.name) for item in session.items
             if JOURNEY_FIXTURE in getattr(item, "fixturenames", ())}
    if not tests:
        return
    try:
        check_environment(environment_of(session.config), tests)
    except HarnessError as exc:
        raise pytest.UsageError(exc.one_line()) from None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The request graph of every journey's HAR (`api-graph.json`), and its drift from the
    graph the team committed, as the e2e suite's evidence (before the plugin writes it)."""
    config = session.config
    if hasattr(config, "workerinput") or not config.getoption("--env", default=None) \
            or not _runs_e2e(config):
        return
    from harness.plugin import _RECORDER
    recorder = config.stash.get(_RECORDER, None)
    settings = e2e_settings_for(config)
    if recorder is None or not settings.har_dir:
        return
    from harness.apigraph import record_graph
    for note, artifact, metric, details in record_graph(recorder.run_dir / settings.har_dir,
                                                        settings.api_graph):
        recorder.add_suite_evidence("e2e", note=note, artifact=artifact, metric=metric,
                                    details=details)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every journey once per viewport, and coupon journeys once per declared coupon."""
    if JOURNEY_FIXTURE not in metafunc.fixturenames:
        return
    settings = e2e_settings_for(metafunc.config)
    viewports = settings.viewports
    metafunc.fixturenames.append("e2e_viewport")
    metafunc.parametrize("e2e_viewport", viewports, ids=viewports, scope="function")
    if "coupon" in metafunc.fixturenames:
        live = [c for c in settings.coupons or () if not c.expired]
        # With none declared, one instance stays: it is reported not applicable at setup.
        metafunc.parametrize("coupon", live or [None], ids=[c.code for c in live] or ["none"])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give journeys the configured reruns; a pass on a rerun is then reported as flaky."""
    retries = e2e_settings_for(config).retries
    if retries <= 0:
        return
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        if JOURNEY_FIXTURE in fixturenames and item.get_closest_marker("flaky") is None:
            item.add_marker(pytest.mark.flaky(reruns=retries))


# --- not applicable (declared) and Unsupported (adapter gap) ---------------------------


def _skip_unsupported(item: pytest.Item) -> Iterator[None]:
    try:
        yield
    except Unsupported as exc:
        item.stash[_UNSUPPORTED] = str(exc)
        raise pytest.skip.Exception(f"unsupported by the storefront adapter: {exc}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """A journey the environment declares not applicable stops here (before any browser);
    a fixture hitting an unsupported step skips the journey."""
    if JOURNEY_FIXTURE in getattr(item, "fixturenames", ()):
        from harness.e2e.coverage import not_applicable_reason
        from harness.plugin import not_applicable

        reason = not_applicable_reason(getattr(item, "originalname", item.name),
                                       e2e_settings_for(item.config))
        if reason:
            not_applicable(reason)
    return (yield from _skip_unsupported(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A journey hitting an unsupported step is skipped with the adapter's reason."""
    return (yield from _skip_unsupported(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report, so fixtures know in teardown whether the test failed."""
    report = yield
    if report.when == "setup":
        item.stash[_REPORTS] = {}  # a rerun starts afresh (pytest-rerunfailures)
        item.user_properties[:] = [p for p in item.user_properties if p[0] != "qgate.error"]
    if report.failed and report.when in ("setup", "call"):
        _rate_limited_is_an_error(item, call, report)
    elif report.passed and report.when == "call" and item.stash.get(_RATE_LIMITS, []):
        hits = item.stash[_RATE_LIMITS]
        more = f" and {len(hits) - 1} more" if len(hits) > 1 else ""
        report.user_properties.append(("qgate.note", (
            f"'{_journey_name(item)}' passed, but the shop's rate limiter answered during it "
            f"({hits[0].describe(item.stash.get(_BASE_URL, ''))}{more}): the limit is close; "
            "a busier run will stop journeys at it")))
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    if report.when == "teardown":
        _scrub_playwright_artifacts(item, report)
    return report


def _rate_limited_is_an_error(item: pytest.Item, call: pytest.CallInfo[None],
                              report: pytest.TestReport) -> None:
    """A journey that failed after the shop's limiter answered has no evidence about the
    product: tell the recorder it is an error, naming the limiter (`qgate.error`)."""
    base_url = item.stash.get(_BASE_URL, "")
    failing_step = item.stash.get(_CURRENT_STEP, "")
    # The shop's own limiter (same origin), or any limiter in the step that failed; a
    # third-party widget's 429 in an earlier step does not excuse a wrong total.
    hits = [h for h in item.stash.get(_RATE_LIMITS, [])
            if h.step == failing_step or _same_origin(h.url, base_url)]
    excinfo = call.excinfo
    refused = None
    if excinfo is not None:
        chain: BaseException | None = excinfo.value
        while chain is not None and refused is None:
            refused = chain if isinstance(chain, RateLimited) else None
            chain = chain.__cause__
    if not hits and refused is None:
        return
    failure = (str(excinfo.value).strip().splitlines() or [""])[0] if excinfo else ""
    if hits:
        message = rate_limit_message(hits, base_url, failure)
    else:
        from harness.e2e.ratelimit import ADVICE
        where = f" in step '{failing_step}'" if failing_step else ""
        message = f"rate-limited{where} — {ADVICE}\nthe adapter said: {failure}"
    report.user_properties.append(("qgate.error", message))


def _same_origin(url: str, base_url: str) -> bool:
    from urllib.parse import urlsplit
    a, b = urlsplit(url), urlsplit(base_url)
    return not base_url or (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _scrub_playwright_artifacts(item: pytest.Item, report: pytest.TestReport) -> None:
    har = item.stash.get(_HAR, None)
    if har is not None and har[0].is_file():  # written when the context closed
        from harness.apigraph import record_flow
        from harness.har import scrub_har
        record_flow(har[0])  # the request graph reads the answers the scrub then drops
        scrub_har(har[0], har[1], har[2])
    # Traces pytest-playwright kept itself (`--tracing on`) get the same masking as ours.
    needles = item.stash.get(_NEEDLES, None)
    if not needles:
        return
    for name, value in report.user_properties:
        path = str(value)
        if name == "playwright_trace" and os.path.isfile(path):
            scrub_trace(path, needles)


_NEEDLES = pytest.StashKey[list[bytes]]()
# (HAR path, secrets to mask, extra header names) of a journey recording a HAR
_HAR = pytest.StashKey[tuple[Path, list[str], list[str]]]()


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


# --- browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def delete_output_dir() -> None:
    """Keep the output folder: pytest-playwright would wipe it at session start.

    qgate gives every run its own artifact folder, and `qgate run` is already writing the
    suite's pytest.log there when the session starts.
    """


@pytest.fixture(scope="session")
def browser_type_launch_args(
    pytestconfig: pytest.Config, e2e_settings: E2ESettings
) -> dict[str, Any]:
    """Launch the discovered Chromium headless, with flags that work in containers and CI."""
    args: dict[str, Any] = {
        "headless": e2e_settings.headless and not pytestconfig.getoption("--headed"),
        "args": list(LAUNCH_ARGS),
    }
    try:
        executable = discover_browser(e2e_settings.browser_path)
    except BrowserNotFound as exc:
        missing = exc.one_line()  # failed outside the handler: one line, no chained repeat
    else:
        missing = ""
    if missing:
        pytest.fail(missing, pytrace=False)
    if executable:
        args["executable_path"] = executable
    slowmo = pytestconfig.getoption("--slowmo")
    if slowmo:
        args["slow_mo"] = slowmo
    return args


@pytest.fixture
def e2e_viewport(request: pytest.FixtureRequest) -> str:
    """The viewport this journey runs in ("desktop" or "mobile")."""
    return str(getattr(request, "param", "desktop"))


@pytest.fixture
def browser_context_args(
    request: pytest.FixtureRequest,
    playwright: Any,
    base_url: str | None,
    e2e_settings: E2ESettings,
    e2e_viewport: str,
    _e2e_auth: Any,
) -> dict[str, Any]:
    """Context for one journey: viewport or device profile, base URL and staging auth."""
    args: dict[str, Any] = {}
    if e2e_viewport == "mobile":
        if e2e_settings.mobile_device not in playwright.devices:
            pytest.fail(
                f"e2e.mobile_device {e2e_settings.mobile_device!r} is not a Playwright device "
                "profile (e.g. 'Pixel 7', 'iPhone 13')", pytrace=False,
            )
        device = dict(playwright.devices[e2e_settings.mobile_device])
        device.pop("default_browser_type", None)
        args.update(device)
    else:  # "desktop"; other names are refused at collection
        args["viewport"] = {
            "width": e2e_settings.desktop_width,
            "height": e2e_settings.desktop_height,
        }
    if base_url:
        args["base_url"] = base_url
    auth = _e2e_auth
    credentials = http_credentials(auth, base_url or "")
    if credentials:
        args["http_credentials"] = credentials
    if auth.headers:
        args["extra_http_headers"] = dict(auth.headers)
    if auth.storage_state:
        args["storage_state"] = auth.storage_state
    account = request.getfixturevalue("_e2e_worker_account")
    restored = bool(account is not None and _reuses_account(request.node)
                    and account.state.is_file())
    if restored:  # the worker's saved login: no sign-up or login request for this journey
        args["storage_state"] = str(account.state)
    request.node.stash[_RESTORED] = restored
    if e2e_settings.har_dir:  # requests for the security scan (response bodies dropped later)
        run_dir = request.getfixturevalue("qgate_run_dir")
        har = Path(run_dir) / e2e_settings.har_dir / f"{_slug(request.node.nodeid)}.har"
        har.parent.mkdir(parents=True, exist_ok=True)
        args.update(record_har_path=str(har), record_har_content="embed")
        secrets_ = [*request.getfixturevalue("harness_config").secret_values(),
                    auth.basic_password, request.getfixturevalue("shopper").password]
        request.node.stash[_HAR] = (har, secrets_, list(auth.headers))
    return args


# --- evidence ---------------------------------------------------------------------------


@pytest.fixture
def e2e_evidence(evidence: Any) -> Any:
    """qgate's `evidence` recorder (metrics, artifacts and the current step of this test)."""
    return evidence


@dataclass
class _ConsoleLog:
    """Console errors, warnings and uncaught page errors seen during one journey."""

    lines: list[str] = field(default_factory=list)

    def on_console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            location = message.location or {}
            where = f" ({location.get('url', '')}:{location.get('lineNumber', '')})"
            self.lines.append(f"console.{message.type}: {message.text}{where}")

    def on_page_error(self, error: Any) -> None:
        self.lines.append(f"pageerror: {error}")


@pytest.fixture
def console_errors(page: Any) -> list[str]:
    """Console errors and uncaught exceptions of this journey's page, as they happen."""
    log = _ConsoleLog()
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    return log.lines


@pytest.fixture
def _e2e_recorder(
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
    context: Any,
    page: Any,
    output_path: str,
    console_errors: list[str],
    e2e_evidence: Any,
    e2e_settings: E2ESettings,
    _e2e_secret_needles: list[bytes],
    shopper: Shopper,
) -> Iterator[None]:
    """Trace every journey; on failure keep the trace, a screenshot and the console log."""
    needles = _e2e_secret_needles + secret_needles([shopper.password])
    request.node.stash[_NEEDLES] = needles
    # pytest-playwright traces by itself with --tracing; its traces are scrubbed in makereport.
    own_trace = pytestconfig.getoption("--tracing") == "off"
    if own_trace:
        # DOM snapshots give the viewer's before/after views; the screencast filmstrip costs
        # CPU in every journey, so it is opt-in. sources=False: no suite sources in traces.
        context.tracing.start(
            screenshots=e2e_settings.trace_screenshots, snapshots=True, sources=False
        )
    yield
    failed = _failed(request.node)
    # A journey stopped by an unsupported adapter step keeps what it did up to there.
    unsupported = request.node.stash.get(_UNSUPPORTED, "")
    if not failed and not unsupported:
        if own_trace:
            context.tracing.stop()
        return
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(Exception):  # a crashed page has no screenshot; keep the rest
        page.screenshot(path=str(folder / "screenshot.png"), timeout=5000)
    at = "page at failure" if failed else "page at the unsupported step"
    if (folder / "screenshot.png").exists():
        e2e_evidence.artifact(folder / "screenshot.png", "screenshot", at)
    if own_trace:
        fd, raw = tempfile.mkstemp(suffix=".zip", dir=folder)
        os.close(fd)
        context.tracing.stop(path=raw)
        scrub_trace(raw, needles)
        shutil.move(raw, folder / "trace.zip")
        e2e_evidence.artifact(folder / "trace.zip", "trace", "playwright show-trace")
    console_file = folder / "console.log"
    console_file.write_text("\n".join(console_errors) + "\n", encoding="utf-8")
    scrub_text_file(console_file, needles)
    label = f"console errors and warnings: {len(console_errors)}"
    e2e_evidence.artifact(console_file, "log", label)


# --- journeys ---------------------------------------------------------------------------


@dataclass
class WorkerAccount:
    """The test account one pytest worker's journeys share (`[e2e.accounts]`)."""

    shopper: Shopper
    #: the worker's saved login (Playwright storage state), once a journey logged in
    state: Path
    #: the shop knows the account (a pool account; or signed up by this worker already)
    exists: bool


def _worker_index() -> int:
    """0 without pytest-xdist, else the worker's number (gw3 → 3)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = re.sub(r"\D", "", worker)
    return int(digits) if digits else 0


@pytest.fixture(scope="session")
def _e2e_worker_account(e2e_settings: E2ESettings,
                        tmp_path_factory: pytest.TempPathFactory) -> WorkerAccount | None:
    """This worker's test account, when `[e2e.accounts]` asks for reused accounts: the
    worker's pool account (worker N takes pool[N], wrapping round), or one new shopper it
    signs up once."""
    accounts = e2e_settings.accounts
    if not accounts.reused or e2e_settings.login.method == "storage_state":
        return None
    state = tmp_path_factory.mktemp("e2e-account") / "storage-state.json"
    if accounts.pool:
        entry = accounts.pool[_worker_index() % len(accounts.pool)]
        shopper = Shopper(name=entry.name, email=entry.email,
                          phone=entry.phone or _new_shopper(e2e_settings).phone,
                          password=entry.password)
        return WorkerAccount(shopper, state, exists=True)
    return WorkerAccount(_new_shopper(e2e_settings), state, exists=False)


def _reuses_account(item: pytest.Item) -> bool:
    """A catalogue journey that needs a logged-in shopper (not one about signing up)."""
    from harness.e2e.coverage import BY_TEST

    spec = BY_TEST.get(getattr(item, "originalname", item.name))
    return spec is not None and "session" in spec.needs


@pytest.fixture
def shopper(request: pytest.FixtureRequest, e2e_settings: E2ESettings,
            _e2e_worker_account: WorkerAccount | None) -> Shopper:
    """The shopper of one test: the worker's test account for journeys that need a session
    when `[e2e.accounts]` reuses accounts; else a new synthetic shopper (see `_new_shopper`)."""
    if _e2e_worker_account is not None and _reuses_account(request.node):
        return _e2e_worker_account.shopper
    return _new_shopper(e2e_settings)


def _new_shopper(e2e_settings: E2ESettings) -> Shopper:
    """A fresh synthetic shopper for one test: an example.com email, a mobile number in the
    environment's format (`e2e.login.phone_prefix`, e.g. +91 → +91 9xxxxxxxxx; else a
    fictional +1 202 555 01xx number) and a random password. With a stored login, the stored
    account (`e2e.login.email`)."""
    token = uuid.uuid4().hex[:12]
    login = e2e_settings.login
    prefix = login.phone_prefix
    if prefix:
        digits = "".join(secrets.choice("0123456789") for _ in range(9))
        phone = f"{prefix}{secrets.choice('6789')}{digits}"
    else:  # 555-0100…0199 are reserved for fiction: no real phone can get a message
        phone = f"+12025550{secrets.randbelow(100) + 100}"
    email = login.email if login.method == "storage_state" else f"e2e+{token}@example.com"
    return Shopper(name=f"E2E Shopper {token[:6]}", email=email, phone=phone,
                   password=f"Pw-{secrets.token_urlsafe(12)}")


@pytest.fixture
def storefront(
    request: pytest.FixtureRequest,
    page: Any,
    base_url: str | None,
    e2e_settings: E2ESettings,
    shopper: Shopper,
    _e2e_recorder: None,
) -> Iterator[Storefront]:
    """The environment's storefront adapter, driving this journey's page."""
    if not base_url:
        raise pytest.UsageError("no base URL: pass --env NAME or --base-url URL")
    page.set_default_timeout(e2e_settings.action_timeout_ms)
    _watch_rate_limits(request.node, page.context, base_url)
    for pattern in e2e_settings.blocked_urls:
        page.context.route(pattern, lambda route: route.abort("blockedbyclient"))
    adapter_class = request.config.stash.get(_ADAPTER, None)
    if adapter_class is None:  # a journey outside suites/ (a team's own): check it now
        from harness.e2e.coverage import load_checked_adapter
        from harness.errors import HarnessError
        from harness.plugin import environment_of
        try:
            adapter_class = load_checked_adapter(environment_of(request.config))
        except HarnessError as exc:
            raise pytest.UsageError(exc.one_line()) from None
        request.config.stash[_ADAPTER] = adapter_class
    adapter = adapter_class(page, base_url, e2e_settings)
    yield adapter
    # After a failure the page stays as it was, so the screenshot and trace show the failure;
    # its leftovers are the price of that evidence.
    if not _failed(request.node):
        adapter.clean_up(shopper)


def _watch_rate_limits(node: pytest.Item, context: Any, base_url: str) -> None:
    """Note every limiter answer (429, 503 + Retry-After) the journey's browser receives."""
    hits: list[RateLimitHit] = []
    node.stash[_RATE_LIMITS] = hits
    node.stash[_BASE_URL] = base_url

    def on_response(response: Any) -> None:
        status = response.status
        if status not in (429, 503):
            return
        hit = limiter_answer(status, response.request.method, response.url, response.headers,
                             node.stash.get(_CURRENT_STEP, ""))
        if hit is not None:
            hits.append(hit)

    context.on("response", on_response)


def _journey_name(node: pytest.Item) -> str:
    """`<journey marker>: <test docstring>`, e.g. "5 checkout: Card checkout places an order"."""
    doc = getattr(getattr(node, "function", None), "__doc__", None)
    title = doc.strip().splitlines()[0].rstrip(".") if doc and doc.strip() else node.name
    marker = node.get_closest_marker("journey")
    return f"{marker.args[0]}: {title}" if marker and marker.args else title


def _allure_step(name: str) -> contextlib.AbstractContextManager[Any]:
    """The journey step as an Allure step (a no-op when allure-pytest is not recording)."""
    try:
        import allure
    except ImportError:
        return contextlib.nullcontext()
    return allure.step(name)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


@pytest.fixture
def step(
    request: pytest.FixtureRequest, e2e_evidence: Any
) -> Callable[..., contextlib.AbstractContextManager[None]]:
    """`with step("add to cart"):` times a journey step and names it if it fails.

    The duration is recorded as the metric `e2e.<step>.duration_ms` (the gate keeps the max;
    `timed=False` for checks). A step timed while this host's CPU was saturated says so (the
    browser runs here: its wait for a CPU is in the step's time), and the verdict does not
    take a step-time objective it missed for the shop's. When the step ends, no step is
    current any more: a failure after it, outside any step, is never reported under its name.
    """
    from harness.machine import PressureWindow

    journey = _journey_name(request.node)

    @contextlib.contextmanager
    def run(name: str, *, timed: bool = True) -> Iterator[None]:
        __tracebackhide__ = True  # the failure points at the journey's line, not at this helper
        started = time.perf_counter()
        window = PressureWindow()
        e2e_evidence.step(name)  # the gate's report names the step a failure happened in
        request.node.stash[_CURRENT_STEP] = name
        try:
            with _allure_step(name):
                yield
        except (Unsupported, StepFailed, RateLimited):
            raise
        except Exception as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StepFailed(
                f"journey '{journey}', step '{name}': {first_line}"
            ) from exc
        e2e_evidence.step("")  # between steps
        request.node.stash[_CURRENT_STEP] = ""
        if timed:
            elapsed_ms = (time.perf_counter() - started) * 1000
            e2e_evidence.metric(f"e2e.{_slug(name)}.duration_ms", round(elapsed_ms, 1), "ms")
            if why := window.saturated(f"step '{name}' of '{journey}'"):
                e2e_evidence.saturated(why)

    return run


@pytest.fixture
def journey(
    storefront: Storefront,
    shopper: Shopper,
    e2e_settings: E2ESettings,
    step: Callable[..., contextlib.AbstractContextManager[None]],
    e2e_viewport: str,
    request: pytest.FixtureRequest,
    _e2e_worker_account: WorkerAccount | None,
) -> Journey:
    """Shared journey steps bound to this test's storefront, shopper and viewport (and, with
    `[e2e.accounts]`, its worker's test account)."""
    lease = None
    account = _e2e_worker_account
    if account is not None and _reuses_account(request.node):
        context = request.getfixturevalue("context")

        def save() -> None:
            context.storage_state(path=str(account.state))
            account.exists = True

        lease = AccountLease(restored=request.node.stash.get(_RESTORED, False),
                             exists=account.exists, save=save)
    return Journey(storefront, shopper, e2e_settings, step, e2e_viewport, lease)
