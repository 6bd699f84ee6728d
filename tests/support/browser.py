"""Headless Debian Chromium (installed by stack/system-deps.sh) for the page tests."""

import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.support.auth import READER
from tests.support.stack import ROOT, TEST_STACK

ARTIFACTS = ROOT / "artifacts"


def as_reader(url: str) -> str:
    """The page signed in as a reader: the token in the #token= fragment (shared/web/signin.js)."""
    return signed_in_as(url, READER)


def signed_in_as(url: str, who: dict[str, str]) -> str:
    """The page signed in as `who` (its bearer headers), through the #token= fragment."""
    return f"{url}#token={who['Authorization'].removeprefix('Bearer ')}"


@contextlib.asynccontextmanager
async def page_in_chromium() -> AsyncIterator[Any]:
    """A Playwright page in the Debian Chromium, closed afterwards."""
    async with chromium_browser() as browser:
        yield await browser.new_page()


@contextlib.asynccontextmanager
async def chromium_browser() -> AsyncIterator[Any]:
    """A Playwright browser in the Debian Chromium: one context per person (its own tabs and
    sessionStorage), closed afterwards."""
    from playwright.async_api import async_playwright

    exe = shutil.which("chromium")
    assert exe, "chromium is installed by stack/system-deps.sh"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


def chromium(*args: str) -> str:
    exe = shutil.which("chromium")
    assert exe, "chromium is installed by stack/system-deps.sh"
    profile = TEST_STACK / "chromium-profile"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=8000",
    ]
    result = subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def screenshot(url: str, name: str, size: str = "1280,1800") -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    chromium(f"--window-size={size}", f"--screenshot={ARTIFACTS / name}", url)
    return ARTIFACTS / name
