"""Real-browser tests: headless Chromium driven by selenium, and aiohttp apps served from a thread.

The fixtures are registered for every test module by one import line in tests/conftest.py, so a
test only asks for `browser` (a selenium `webdriver.Chrome`, fresh cookies, at about:blank)::

    from tests.browser import phone, screenshot, serve_in_thread

    def test_page(browser: WebDriver, tmp_path: Path) -> None:
        with serve_in_thread(make_app()) as base_url:
            browser.get(base_url + "/")
            with phone(browser):
                screenshot(browser, tmp_path / "phone.png")

(Test files outside the reach of that conftest register them with
`from tests.browser import browser, browser_session  # noqa: F401`.)

Write browser tests as plain (sync) functions: selenium blocks, and the app under test runs on its
own event loop in a background thread (`serve_in_thread`).

Chromium starts once per test session (about a second) and only when a test asks for `browser`;
each test gets it back with all cookies cleared, one tab, a 1280x900 window, at about:blank.
Debian's `chromium` and `chromium-driver` are used (`chromium` or `chromium-browser`, and
`chromedriver`, looked up on PATH: /usr/bin/chromium, /usr/bin/chromedriver on Debian); Selenium
Manager is never run (the driver path is given explicitly, and SE_OFFLINE is set besides), so
nothing is downloaded. When selenium, the browser or its driver is missing, or Chromium does not
start, the tests that ask for `browser` are skipped with the reason. Set YB_BROWSER=off to skip
them on purpose.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

WINDOW = (1280, 900)
PHONE = (390, 844)
HOW_TO_GET = (
    "make test installs chromium and chromium-driver on Debian when run as root "
    "(or: apt-get install chromium chromium-driver fonts-noto-cjk)"
)

# Selenium Manager (selenium's driver downloader) must never reach the network. It is not run at
# all because the driver path is passed explicitly; these make it stay offline if it ever were.
os.environ.setdefault("SE_OFFLINE", "true")
os.environ.setdefault("SE_AVOID_STATS", "true")


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def find_chromium() -> tuple[str | None, str | None]:
    """(browser, driver) paths: `chromium`/`chromium-browser` and `chromedriver` on PATH."""
    return _which("chromium", "chromium-browser"), _which("chromedriver")


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if os.environ.get("YB_BROWSER", "").strip().lower() in {"off", "0", "no", "false"}:
        return "browser tests switched off by YB_BROWSER=off"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    chromium, driver = find_chromium()
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path]
    if missing:
        return f"{' and '.join(missing)} not found on PATH; {HOW_TO_GET}"
    return None


def start_chromium() -> WebDriver:
    """Start headless Chromium (Debian's, via /usr/bin/chromedriver); raises if it cannot."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = find_chromium()
    if not chromium or not driver:
        raise FileNotFoundError(f"chromium or chromedriver not found on PATH; {HOW_TO_GET}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--lang=zh-CN",
        # no first-run UI, no update/sync/metrics traffic: the tests talk to 127.0.0.1 only
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


@dataclass
class BrowserSession:
    """The session's one Chromium; `fresh()` hands it out clean, restarting it if it died."""

    driver: WebDriver | None = None
    start_seconds: list[float] = field(default_factory=list)

    def start(self) -> WebDriver:
        began = time.monotonic()
        self.driver = start_chromium()
        self.start_seconds.append(time.monotonic() - began)
        return self.driver

    def fresh(self) -> WebDriver:
        from selenium.common.exceptions import WebDriverException

        driver = self.driver or self.start()
        try:
            _reset(driver)
        except WebDriverException:
            self.quit()  # the previous test crashed or closed it: start a new one
            driver = self.start()
            _reset(driver)
        return driver

    def quit(self) -> None:
        if self.driver is not None:
            with suppress(Exception):
                self.driver.quit()
            self.driver = None


def _reset(driver: WebDriver) -> None:
    handles = driver.window_handles
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(handles[0])
    driver.get("about:blank")
    # All cookies of every site (delete_all_cookies only clears the current page's domain), and
    # cookies are per host, not per port, so servers of earlier tests on 127.0.0.1 share them.
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.set_window_size(*WINDOW)


@pytest.fixture(scope="session")
def browser_session() -> Iterator[BrowserSession]:
    """Headless Chromium for the whole session, started on first use; skip when unavailable."""
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)
    session = BrowserSession()
    try:
        session.start()
    except Exception as exc:  # any failure to start means: no browser tests here, and why
        first_line = (str(exc).strip().splitlines() or [""])[0]
        chromium, driver = find_chromium()
        pytest.skip(f"headless {chromium} did not start via {driver}: {type(exc).__name__}: {first_line}")
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture
def browser(browser_session: BrowserSession) -> WebDriver:
    """The session's Chromium, reset for this test: one tab at about:blank, no cookies, 1280x900."""
    return browser_session.fresh()


def screenshot(driver: WebDriver, path: Path) -> None:
    """Save a PNG of the current viewport at `path`, creating its directories."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not driver.save_screenshot(str(path)):
        raise RuntimeError(f"screenshot to {path} failed")


@contextmanager
def phone(driver: WebDriver) -> Iterator[WebDriver]:
    """A phone-sized (390x844) window inside the block; the previous size is restored after.

    The page's viewport is then 390 CSS pixels wide (window.innerWidth == 390, so narrow-screen
    media queries apply) and about 700 high: headless Chromium keeps room for its toolbar.
    """
    size = driver.get_window_size()
    driver.set_window_size(*PHONE)
    try:
        yield driver
    finally:
        driver.set_window_size(size["width"], size["height"])


class _Server:
    """What the server thread hands back to the caller's thread."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None
        self.port = 0
        self.error: BaseException | None = None


async def _settle_accepts() -> None:
    """Let connections already accepted finish attaching before the listening socket closes.

    asyncio accepts a connection in one loop turn and attaches its transport to the server in a
    later one; closing the server in between fails the attach and leaks the socket (CPython
    gh-109564), which the "warnings are errors" setting turns into a test error. A browser's
    preconnect lands there easily. `runner.cleanup()` closes the site without yielding to the
    loop first, so once no accept is pending here, none can start before the close.
    """
    current = asyncio.current_task()
    for _ in range(100):
        pending = [
            task
            for task in asyncio.all_tasks()
            if task is not current and "_accept_connection" in getattr(task.get_coro(), "__qualname__", "")
        ]
        if not pending:
            return
        await asyncio.wait(pending, timeout=1)


@contextmanager
def serve_in_thread(
    app: web.Application, host: str = "127.0.0.1", port: int = 0, shutdown_timeout: float = 2.0
) -> Iterator[str]:
    """Run `app` on its own event loop in a background thread; yield its base URL (no slash).

    Port 0 (the default) lets the OS pick a free port while binding, so there is no race with
    other processes for it. On exit the app is cleaned up (on_shutdown and on_cleanup run;
    requests still in progress, such as a page's open EventSource, get `shutdown_timeout`
    seconds, so navigate such pages away first), the loop is closed and the thread joined. An
    error in the app's start-up or clean-up is raised here, in the caller's thread.
    """
    server = _Server()

    async def main() -> None:
        server.loop = asyncio.get_running_loop()
        server.stop = asyncio.Event()
        runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            server.port = int(runner.addresses[0][1])
            server.ready.set()
            await server.stop.wait()
        finally:
            await _settle_accepts()
            await runner.cleanup()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the caller's thread rather than lost in this one
            server.error = exc
        finally:
            server.ready.set()

    thread = threading.Thread(target=run, name=f"aiohttp-{host}:{port}", daemon=True)
    thread.start()
    started = server.ready.wait(timeout=60)
    try:
        if not started:
            raise RuntimeError(f"the app did not start on {host}:{port} within 60 s")
        if server.error is not None:
            raise RuntimeError(f"the app did not start on {host}:{port}") from server.error
        yield f"http://{host}:{server.port}"
    finally:
        if server.loop is not None and server.stop is not None:
            with suppress(RuntimeError):  # the loop is already closed: start-up failed
                server.loop.call_soon_threadsafe(server.stop.set)
        thread.join(timeout=shutdown_timeout + 10)
        if thread.is_alive():
            raise RuntimeError("the app's server thread did not stop")
    if server.error is not None:
        raise RuntimeError("the app failed while shutting down") from server.error
