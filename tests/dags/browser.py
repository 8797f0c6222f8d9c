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


def airflow_colour_mode(driver, mode: str, timeout: float = 30) -> None:
    """Switch Airflow's UI to ``light`` or ``dark`` the way a user does (User > Appearance), and
    wait until the plugin frame, if any, has followed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.switch_to.default_content()
    wait = WebDriverWait(driver, timeout)

    def item(role: str, text: str):
        found = [e for e in driver.find_elements(By.CSS_SELECTOR, f"[role={role}]") if e.text.strip() == text]
        return found[0] if found else False

    wait.until(lambda d: [b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip() == "User"])[
        0
    ].click()
    wait.until(lambda d: item("menuitem", "Appearance")).click()
    wait.until(lambda d: item("menuitemradio", f"{mode.capitalize()} Mode")).click()
    wait.until(lambda d: d.execute_script(f"return document.documentElement.classList.contains('{mode}')"))
    driver.find_element(By.TAG_NAME, "body").send_keys("\ue00c")  # Escape: close the menu
    frames = driver.find_elements(By.TAG_NAME, "iframe")
    if frames:
        driver.switch_to.frame(frames[0])
        wait.until(
            lambda d: d.execute_script(f"return document.documentElement.classList.contains('{mode}')")
        )


# Read inside the plugin frame: its colour mode against Airflow's own background token, its font,
# anything wider than the frame, ids broken over lines, counts without separators, runs listed.
FRAME_STATE = """
const probe = window.parent.document.createElement('div');
probe.style.background = 'var(--chakra-colors-bg)';
window.parent.document.body.appendChild(probe);
const expected = window.parent.getComputedStyle(probe).backgroundColor;
probe.remove();
const lines = el => { const r = document.createRange(); r.selectNodeContents(el);
  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; };
const root = document.documentElement;
const wide = [...document.querySelectorAll('table')].map(t => t.scrollWidth - t.parentElement.clientWidth);
return {
  mode: document.documentElement.classList.contains('dark') ? 'dark' : 'light',
  background: getComputedStyle(document.body).backgroundColor,
  expected_background: expected,
  font: getComputedStyle(document.body).fontFamily,
  overflow: Math.max(root.scrollWidth - root.clientWidth, ...wide),
  broken_ids: [...document.querySelectorAll('.id, small.below')]
    .filter(el => lines(el) > 1).map(el => el.textContent),
  bare_numbers: [...document.querySelectorAll('td.n, .big')]
    .map(el => el.textContent).filter(t => /\\d{4}/.test(t)),
  runs: document.querySelectorAll('#runs tbody tr').length,
};
"""


def frame_state(driver) -> dict:
    """What the plugin frame shows (call with the driver switched into it)."""
    return driver.execute_script(FRAME_STATE)
