"""Smoke test of the real-browser set-up: headless Chromium against an aiohttp app in a thread."""

from __future__ import annotations

import html
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.browser import BrowserSession, phone, screenshot, serve_in_thread

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

TITLE = "医保政策助手 · 控制台"

PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{TITLE}</title></head>
<body>
<h1 id="heading">异地就医备案</h1>
<form id="ask" method="post" action="/ask">
  <label for="q">您的问题</label>
  <input id="q" name="q">
  <button id="send" type="submit">提交</button>
</form>
</body>
</html>
"""


def make_app() -> web.Application:
    async def index(request: web.Request) -> web.Response:
        response = web.Response(text=PAGE, content_type="text/html", charset="utf-8")
        response.set_cookie("session", "s3cret", httponly=True, samesite="Strict", path="/")
        response.set_cookie("theme", "light", samesite="Strict", path="/")
        return response

    async def ask(request: web.Request) -> web.Response:
        form = await request.post()
        question = str(form.get("q", ""))
        session = request.cookies.get("session", "(none)")
        body = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>回答</title></head>'
            f'<body><p id="answer">收到：{html.escape(question)}</p>'
            f'<p id="session">{html.escape(session)}</p></body></html>'
        )
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_post("/ask", ask)
    return app


def test_chinese_page_form_and_httponly_cookie(browser: WebDriver, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with serve_in_thread(make_app()) as base_url:
        browser.get(base_url + "/")
        assert browser.title == TITLE
        assert browser.execute_script("return document.title") == TITLE
        assert browser.find_element(By.ID, "heading").text == "异地就医备案"
        assert browser.find_element(By.ID, "send").text == "提交"

        # The HttpOnly cookie is hidden from scripts; the ordinary one is not.
        visible = browser.execute_script("return document.cookie")
        assert "theme=light" in visible
        assert "session" not in visible
        assert browser.get_cookie("session")["httpOnly"] is True  # the browser does hold it

        screenshot(browser, tmp_path / "shots" / "desktop.png")
        with phone(browser):
            assert browser.execute_script("return window.innerWidth") <= 390
            screenshot(browser, tmp_path / "shots" / "phone.png")
        assert browser.get_window_size() == {"width": 1280, "height": 900}
        for name in ("desktop.png", "phone.png"):
            assert (tmp_path / "shots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

        browser.find_element(By.ID, "q").send_keys("异地就医怎么备案")
        browser.find_element(By.ID, "send").click()
        answer = WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "answer")))
        assert answer.text == "收到：异地就医怎么备案"
        # ...and the browser sent the HttpOnly cookie back with the POST.
        assert browser.find_element(By.ID, "session").text == "s3cret"
        browser.get("about:blank")


def test_each_test_gets_a_clean_browser(browser_session: BrowserSession) -> None:
    driver = browser_session.fresh()
    with serve_in_thread(make_app()) as base_url:
        driver.get(base_url + "/")
        driver.switch_to.new_window("tab")
        driver.set_window_size(500, 500)
        assert len(driver.window_handles) == 2
    again = browser_session.fresh()
    assert again is driver  # the same Chromium, not a restart
    assert again.current_url == "about:blank"
    assert len(again.window_handles) == 1
    assert again.get_window_size() == {"width": 1280, "height": 900}
    assert again.execute_cdp_cmd("Network.getAllCookies", {})["cookies"] == []


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("aiohttp-")}


def test_serve_in_thread_stops_cleanly() -> None:
    cleaned: list[str] = []

    async def on_cleanup(app: web.Application) -> None:
        cleaned.append("done")

    app = make_app()
    app.on_cleanup.append(on_cleanup)
    with serve_in_thread(app) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    assert cleaned == ["done"]
    assert _threads() == set()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_serve_in_thread_reports_startup_errors() -> None:
    async def broken(app: web.Application) -> None:
        raise ValueError("no database")

    app = web.Application()
    app.on_startup.append(broken)
    with pytest.raises(RuntimeError, match="did not start") as caught, serve_in_thread(app):
        pass
    assert isinstance(caught.value.__cause__, ValueError)
    assert _threads() == set()
