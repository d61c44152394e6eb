"""A real headless browser for tests that look at pages: Debian's Chromium, driven by
Playwright's Python package (never a browser Playwright downloads itself).

Chromium is a system package, so a machine may lack it: there the browser tests are skipped
with the command that installs it, unless `SALESTALK_REQUIRE_BROWSER` is set (CI installs
Chromium and sets it, so a browser that fails to start fails the run instead of skipping).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
REQUIRE_ENV = "SALESTALK_REQUIRE_BROWSER"
# Headless, sandbox-free (CI runs as root), and nothing that phones home: on a machine with a
# closed network Chromium's background connections are refused by the dozen.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    found = [p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)]
    return found[0] if found else shutil.which("chromium")


@contextlib.contextmanager
def browser_page(width: int = 1280, height: int = 900) -> Iterator[object]:
    """A fresh page of a fresh headless Chromium, closed afterwards."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set but Debian's chromium is not installed")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()
