"""Take the screenshots in docs/screenshots/ of what residents see: `make screenshots`.

Starts the service on a fresh instance folder with the demo data (as `make run` does), signs a
new resident up through the registration page, walks through the main pages in headless
Chromium at a phone's width and saves one PNG per page. Run it again whenever pages change.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parent.parent
# The benches' demo instance and server, and the browser tests' Chromium.
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from support import Server, demo_instance, start_gunicorn, stop_gunicorn  # noqa: E402

from tests.browser.chromium import PHONE, start_chromium  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PASSWORD = "푸른 하늘 은하수 하얀 쪽배"

# Signed out, then signed in: (file name, path). The pages reached by following links (a
# facility, a booking, a book, a record) are taken in ``_walk``.
SIGNED_OUT = [("home", "/"), ("register", "/register"), ("login", "/login")]
SIGNED_IN = [
    ("facilities", "/facilities"),
    ("library-search", "/library?q=%ED%95%9C%EA%B0%95"),  # 한강
    ("archive-search", "/archive?q=%EC%9D%98%EC%A0%95%EB%B6%80"),  # 의정부
    ("archive-collections", "/archive/collections"),
    ("library-me", "/library/me"),
    ("profile", "/profile"),
    ("not-found", "/no-such-page"),
]


def _start(instance: Path) -> Server:
    env = demo_instance(
        instance, SECRET_KEY="screenshots", PAYMENT_CALLBACK_SECRET="screenshots-payments"
    )
    return start_gunicorn(env, instance, workers=2)


def _sign_up(driver, url: str) -> None:
    driver.get(url + "/register")
    for name, value in (("name", "김민지"), ("email", "minji@example.kr"), ("password", PASSWORD)):
        driver.find_element(By.NAME, name).send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()


def _follow(driver, url: str, path: str, pattern: str) -> bool:
    """Open ``path`` and then its first link whose address matches ``pattern``."""
    driver.get(url + path)
    for link in driver.find_elements(By.CSS_SELECTOR, "main a[href]"):
        if re.search(pattern, link.get_attribute("href")):
            driver.get(link.get_attribute("href"))
            return True
    return False


def _click(driver, css: str) -> None:
    driver.find_element(By.CSS_SELECTOR, css).click()


def _walk(driver, url: str) -> list[Path]:
    """The pages reached by following links: a facility's schedule and a booking through to
    its QR code, a book, a record."""
    saved = []
    if _follow(driver, url, "/facilities", r"/facilities/\d+$"):
        saved.append(_save(driver, "facility"))
        if _follow(driver, url, driver.current_url.removeprefix(url), r"/slots/\d+/book$"):
            driver.find_element(By.NAME, "adult").send_keys("2")
            driver.find_element(By.NAME, "child").send_keys("1")
            _click(driver, "main form button[type=submit]")
            saved.append(_save(driver, "booking-quote"))
            _click(driver, "main form button[type=submit]")
            saved.append(_save(driver, "booking-hold"))
            _click(driver, "main a[href^='/test-payment/']")
            _click(driver, "main form button.primary")
            driver.get(url + "/bookings")
            saved.append(_save(driver, "my-bookings"))
    if _follow(driver, url, "/library?q=%ED%95%9C%EA%B0%95", r"/library/titles/\d+$"):
        saved.append(_save(driver, "library-title"))
    if _follow(driver, url, "/archive", r"/archive/records/"):
        saved.append(_save(driver, "archive-record"))
    return saved


def _save(driver, name: str) -> Path:
    # The whole page, not only the first screen: as tall as its content.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(PHONE[0], max(PHONE[1], min(height, 4000)))
    path = OUT / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(*PHONE)
    return path


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as instance:
        server = _start(Path(instance))
        url, driver = server.url, start_chromium("--hide-scrollbars")
        try:
            for name, path in SIGNED_OUT:
                driver.get(url + path)
                print(_save(driver, name).relative_to(ROOT))
            _sign_up(driver, url)
            for name, path in SIGNED_IN:
                driver.get(url + path)
                print(_save(driver, name).relative_to(ROOT))
            for path in _walk(driver, url):
                print(path.relative_to(ROOT))
        finally:
            driver.quit()
            stop_gunicorn(server)


if __name__ == "__main__":
    main()
