"""Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by selenium, logged
in to Airflow the way its UI is: the JWT from ``POST /auth/token`` in the ``_token`` cookie."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


def require_chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver; skip (fail under CI) when they are not installed."""
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if all(found):
        return found  # type: ignore[return-value]
    missing = "the Debian packages chromium and chromium-driver are not installed"
    if os.environ.get("CI"):
        pytest.fail(
            f"browser test cannot run under CI: {missing} (apt-get install -y chromium chromium-driver)"
        )
    print(f"\n*** browser test skipped: {missing} ***")
    pytest.skip(f"browser test skipped: {missing}")


@contextmanager
def logged_in_browser(base_url: str, token: str) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    with tempfile.TemporaryDirectory(prefix="x-compliance-chromium-") as profile:
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        try:
            driver.get(f"{base_url}/api/v2/version")  # any page of the origin, to set its cookie
            driver.add_cookie({"name": "_token", "value": token, "path": "/"})
            yield driver
        finally:
            driver.quit()


def open_plugin_frame(driver, url: str, timeout: float = 30) -> None:
    """Open an Airflow UI page that embeds a plugin view, and switch into its iframe."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, timeout).until(ec.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe")))
    WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.TAG_NAME, "h1")))


def screenshot(driver, name: str, folder) -> None:
    """Into ``folder``, and into ``$X_COMPLIANCE_SCREENSHOTS`` when set (how docs/ is refreshed)."""
    driver.switch_to.default_content()
    driver.save_screenshot(str(folder / name))
    if os.environ.get("X_COMPLIANCE_SCREENSHOTS"):
        driver.save_screenshot(os.path.join(os.environ["X_COMPLIANCE_SCREENSHOTS"], name))
