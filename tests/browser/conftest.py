"""A real browser against the live gunicorn server: Debian's headless Chromium driven by
Selenium, with axe-core (installed from npm by ``make install-test``) checking every page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from core.extensions import db
from tests.browser.chromium import start_chromium
from tests.conftest import _live_env, _serve

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# The rules of WCAG 2.1 A and AA (KWCAG 2.2 follows them), plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="session")
def browser():
    driver = start_chromium(console_log=True)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _release_database() -> None:
    """End the test's own transaction before the browser asks the server anything: reading a
    fixture's attribute begins one, and on SQLite it would hold the only write lock."""
    db.session.commit()


class Page:
    """The browser on the live site, with the checks every page gets."""

    def __init__(self, driver, server):
        self.driver, self.server = driver, server

    def open(self, path: str) -> Page:
        _release_database()
        self.driver.get_log("browser")  # what the page before left: checked then, or not
        self.driver.get(self.server(path))
        return self

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, within: str = "", **fields) -> Page:
        """Type into the named fields (of the form in ``within``, when a page has several
        with the same names: the home page's search boxes)."""
        for name, value in fields.items():
            element = self.find(f"{within} [name='{name}']".strip())
            if element.tag_name == "select":
                element.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
            else:
                element.clear()
                element.send_keys(str(value))
        return self

    def submit(self, css: str = "main form button[type=submit]") -> Page:
        _release_database()
        self.driver.get_log("browser")
        # A mark on the old document's window, gone once the next document has loaded.
        # Element references are not used: asking about a node of a document being
        # replaced can fail in Chromium with an error Selenium does not call "stale".
        self.driver.execute_script("window.__leaving = true;")
        self.find(css).click()
        WebDriverWait(self.driver, 20, ignored_exceptions=(WebDriverException,)).until(
            lambda driver: driver.execute_script(
                "return !window.__leaving && document.readyState === 'complete';"
            )
        )
        return self

    @property
    def text(self) -> str:
        return self.find("main").text

    @property
    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.server.url)

    def accessibility_violations(self) -> list[dict]:
        """axe-core's serious and critical findings on the page as it is now."""
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
            ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify("
            "[{id: 'axe-error', impact: 'critical', description: String(e)}])));",
            AXE_TAGS,
        )
        return [v for v in json.loads(result) if v.get("impact") in ("serious", "critical")]

    def console_errors(self) -> list[str]:
        # An error page's own status is logged as a failed load: that one is expected.
        own_status = f"{self.driver.current_url} - Failed to load resource"
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" and not entry["message"].startswith(own_status)
        ]

    def check(self) -> Page:
        """No serious or critical accessibility finding and no JavaScript error."""
        violations = self.accessibility_violations()
        assert violations == [], json.dumps(
            [
                {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]]}
                for v in violations
            ],
            ensure_ascii=False,
            indent=1,
        )
        assert self.console_errors() == []
        return self


@pytest.fixture(scope="session")
def site(app, test_settings, tmp_path_factory):
    """One live server for every browser test (each test still starts on empty tables, and
    with no cookies): starting gunicorn per test would cost more than the tests."""
    folder = tmp_path_factory.mktemp("site")
    yield from _serve(_live_env(test_settings, folder), folder)


@pytest.fixture
def page(browser, site):
    # Cookies are kept per host, not per port: every test's server is 127.0.0.1.
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.get_log("browser")  # forget what an earlier test left in the log
    return Page(browser, site)
