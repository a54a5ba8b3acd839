"""Headless Chromium for the evidence-browser tests, driven by Selenium.

The browser is the system's (Debian: ``chromium`` and ``chromium-driver``,
installed by ``.ci/run``); Selenium is pointed at its chromedriver, so Selenium
Manager never downloads anything. ``AUDITKIT_CHROMIUM`` and
``AUDITKIT_CHROMEDRIVER`` override the paths.

Without a Chromium the tests skip, saying why, unless ``AUDITKIT_REQUIRE_BROWSER``
is set (``.ci/run`` sets it wherever it can install Chromium): then they fail.

Network: Chromium's background services are switched off and every page is
opened from ``file://``; chromedriver listens on 127.0.0.1 only. What the page
does is recorded from inside the browser by a script installed before the page's
own (DevTools ``Page.addScriptToEvaluateOnNewDocument``, which the page's CSP does
not govern): CSP violations, dialogs (``alert``/``confirm``/``prompt``/``print``),
and every resource the page loaded; the DevTools performance log gives every
network request Chromium made.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("AUDITKIT_TEST_OUTPUT", REPO / "test-output")) / "browser"

RECORDER = """
window.__audit = {violations: [], dialogs: []};
document.addEventListener('securitypolicyviolation', function (e) {
  window.__audit.violations.push(e.violatedDirective + ' ' + e.blockedURI);
}, true);
['alert', 'confirm', 'prompt', 'print'].forEach(function (name) {
  window[name] = function (message) { window.__audit.dialogs.push(name + ': ' + message); };
});
"""


def _find(env: str, names: tuple[str, ...]) -> str | None:
    explicit = os.environ.get(env)
    if explicit:
        return explicit
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_paths() -> tuple[str, str] | None:
    """(browser, chromedriver) or None."""
    browser = _find("AUDITKIT_CHROMIUM", ("chromium", "chromium-browser", "google-chrome"))
    driver = _find("AUDITKIT_CHROMEDRIVER", ("chromedriver",))
    if browser is None or driver is None:
        return None
    return browser, driver


def need_chromium() -> tuple[str, str]:
    """The paths, or skip (fail where .ci/run installed Chromium) saying what is missing."""
    paths = chromium_paths()
    if paths is not None:
        return paths
    reason = (
        "no Chromium with chromedriver found (apt-get install chromium chromium-driver, "
        "or set AUDITKIT_CHROMIUM and AUDITKIT_CHROMEDRIVER)"
    )
    if os.environ.get("AUDITKIT_REQUIRE_BROWSER"):
        pytest.fail(reason + "; AUDITKIT_REQUIRE_BROWSER is set")
    pytest.skip(reason)


class Browser:
    """One headless Chromium session with the recorder installed."""

    def __init__(self, profile: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        browser, driver = need_chromium()
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--metrics-recording-only",
            "--no-pings",
            "--safebrowsing-disable-auto-update",
            "--window-size=1280,1000",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        service = Service(executable_path=driver, service_args=["--allowed-ips=127.0.0.1"])
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(120)
        self.driver.set_script_timeout(60)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
        self.network_requests()  # forget the start page's own (chrome://) requests
        self.console()

    def open(self, path: Path, route: str = "") -> None:
        """Open a page from file:// (``route`` is the part after #)."""
        self.driver.get(path.resolve().as_uri() + (f"#{route}" if route else ""))
        self.wait_ready()

    def shown(self) -> str:
        """How many views the page has drawn (it counts them in data-shown)."""
        return str(self.js("return document.documentElement.dataset.shown;"))

    def go(self, route: str) -> None:
        """Change the route as a link would, and wait until the page has drawn it."""
        before = self.shown()
        self.driver.execute_script("location.hash = arguments[0];", route)
        self.wait_drawn(before)

    def wait_drawn(self, before: str) -> None:
        """Wait until the page has drawn a view since ``before`` (from :meth:`shown`)."""
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, 60).until(lambda d: self.shown() != before)

    def wait_ready(self) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, 120).until(
            lambda d: d.execute_script("return document.documentElement.dataset.ready") == "true"
        )

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def text(self, css: str) -> str:
        """textContent of the first match (exact text, unlike WebDriver's rendered text)."""
        return str(self.js("return document.querySelector(arguments[0]).textContent;", css))

    def texts(self, css: str) -> list[str]:
        return list(
            self.js(
                "return Array.from(document.querySelectorAll(arguments[0]))"
                ".map(function (e) { return e.textContent; });",
                css,
            )
        )

    def audit(self) -> dict[str, list[str]]:
        """What the recorder saw: CSP violations and dialogs."""
        return dict(self.js("return window.__audit;"))

    def network_requests(self) -> list[str]:
        """Every URL Chromium requested since the last call (DevTools performance log)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                urls.append(str(message["params"]["request"]["url"]))
        return urls

    def console(self) -> list[str]:
        """Console messages since the last call (errors, CSP reports, warnings)."""
        return [f"{e['level']}: {e['message']}" for e in self.driver.get_log("browser")]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def close(self) -> None:
        self.driver.quit()


def browser_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A Browser for a module's tests (generator for a fixture)."""
    need_chromium()
    session = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield session
    finally:
        session.close()
