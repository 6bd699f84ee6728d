"""Headless Debian Chromium (installed by stack/system-deps.sh) for the page tests."""

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from typing import Any

from tests.support.auth import READER
from tests.support.stack import ROOT

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
    sessionStorage); the contexts opened here are closed afterwards. One browser serves the
    whole test process (`close_chromium`), since a launch costs more CPU than a page."""
    browser = await _shared_browser()
    before = set(browser.contexts)
    try:
        yield browser
    finally:
        for context in [c for c in browser.contexts if c not in before]:
            await context.close()


class _Chromium:
    playwright: Any = None
    browser: Any = None
    loop: asyncio.AbstractEventLoop | None = None


_CHROMIUM = _Chromium()


async def _shared_browser() -> Any:
    from playwright.async_api import async_playwright

    loop = asyncio.get_running_loop()
    if _CHROMIUM.browser is None or _CHROMIUM.loop is not loop or not _CHROMIUM.browser.is_connected():
        await close_chromium()
        exe = shutil.which("chromium")
        assert exe, "chromium is installed by stack/system-deps.sh"
        _CHROMIUM.playwright = await async_playwright().start()
        _CHROMIUM.browser = await _CHROMIUM.playwright.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        _CHROMIUM.loop = loop
    return _CHROMIUM.browser


async def close_chromium() -> None:
    """The test process's browser, if it started one, closed (at the end of the session)."""
    if _CHROMIUM.playwright is not None and _CHROMIUM.loop is asyncio.get_running_loop():
        with contextlib.suppress(Exception):  # a browser that died already
            await _CHROMIUM.browser.close()
        await _CHROMIUM.playwright.stop()
    _CHROMIUM.playwright = _CHROMIUM.browser = _CHROMIUM.loop = None


DASHBOARD_DRAWN = "body[data-loaded=true][data-trends=true]"  # the dashboard's numbers and charts
LOOKUP_LOADED = "body[data-loaded=true]"


async def rendered(url: str, done: str, *, size: tuple[int, int] = (1280, 900), shot: str | None = None) -> str:
    """The page's DOM once `done` (a CSS selector the page's script makes true when it has
    drawn what it loaded) matches, in a window of `size`; with `shot`, also a picture of
    that window in ARTIFACTS."""
    async with chromium_browser() as browser:
        # Reduced motion: charts drawn at once, so the DOM and the picture are the final ones.
        context = await browser.new_context(viewport={"width": size[0], "height": size[1]}, reduced_motion="reduce")
        page = await context.new_page()
        await page.goto(url)
        await page.wait_for_selector(done, state="attached", timeout=30_000)
        if shot is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / shot))
        dom: str = await page.content()
        return dom
