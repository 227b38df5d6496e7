"""Debian's headless Chromium through its chromedriver, at a phone's width: the browser of the
browser tests and of ``make screenshots``."""

from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# A phone first: the pages are laid out for a narrow screen.
PHONE = (412, 915)


def start_chromium(*extra_arguments: str, console_log: bool = False) -> webdriver.Chrome:
    """A new headless Chromium in Korean; with ``console_log``, the page's console messages
    can be read with ``driver.get_log("browser")``."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--lang=ko-KR",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        *extra_arguments,
    ):
        options.add_argument(argument)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
