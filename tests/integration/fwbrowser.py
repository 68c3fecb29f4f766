"""A real headless browser for the integration tests that check the web pages.

Drives Debian's chromium through Debian's chromedriver with Debian's python3-selenium (run the
tests with /usr/bin/python3). Nothing is downloaded: the driver is named explicitly, so
selenium-manager is never consulted. Each browser gets its own temporary profile and HOME
(removed by quit()) and its own chromedriver port, so tests can run in parallel. Scrollbars are
hidden, so the viewport and full-page screenshots are exactly as wide as asked.
"""
import base64
import os
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class _Chrome(webdriver.Chrome):
    """webdriver.Chrome that removes its temporary profile when it quits."""

    def __init__(self, tmpdir, **kwargs):
        self._tmpdir = tmpdir
        super().__init__(**kwargs)

    def quit(self):
        try:
            super().quit()
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)


def browser(width=1280, height=900):
    """A headless chromium with a viewport of width x height CSS pixels. Call quit() on it."""
    tmpdir = tempfile.mkdtemp(prefix="fwbrowser-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--user-data-dir=" + os.path.join(tmpdir, "profile"),
                "--window-size=%d,%d" % (width, height)):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # chromium also writes crash reports and caches under HOME and the XDG directories.
    env = dict(os.environ, HOME=tmpdir, XDG_CONFIG_HOME=os.path.join(tmpdir, "config"),
               XDG_CACHE_HOME=os.path.join(tmpdir, "cache"))
    try:
        driver = _Chrome(tmpdir, options=opts,
                         service=Service(executable_path=CHROMEDRIVER, env=env))
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    # Headless chromium keeps a window at least 500 px wide and takes its toolbar's height off
    # the viewport; pin the viewport (of this tab, across navigations) to the size asked for.
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    except BaseException:
        driver.quit()
        raise
    return driver


def wait_for(driver, fn, timeout=5.0, what=""):
    """fn(driver) once it is truthy, polled every 50 ms for up to timeout seconds. An element
    that is not there (yet) or was replaced counts as falsy, as in selenium's WebDriverWait."""
    deadline = time.monotonic() + timeout
    while True:
        missing = None
        try:
            value = fn(driver)
            if value:
                return value
        except (NoSuchElementException, StaleElementReferenceException) as e:
            missing = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from missing
        time.sleep(0.05)


def console_errors(driver):
    """The console entries of level SEVERE logged since the last call (reading drains them)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot(driver, path):
    """Saves the whole page, not only the viewport, as a PNG at path."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    png = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "clip": clip})
    with open(path, "wb") as f:
        f.write(base64.b64decode(png["data"]))
