"""The survey in a real headless browser (Debian's chromium + chromedriver, driven by Selenium):
open the link, answer, see the thanks page, open the link again and be refused.

Skipped when chromium is missing, unless CI=true says it must run.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from datetime import date
from collections.abc import Iterator

import pytest
from sqlmodel import Session, SQLModel

from buhdesk.service.runner import Daemon
from buhdesk.feedback.tokens import TokenLabels, issue_token
from buhdesk.web.app import create_app

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _require_browser() -> None:
    missing = [p for p in (CHROMIUM, DRIVER) if not shutil.which(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser test required in CI but missing: {', '.join(missing)}")
        pytest.skip(f"no browser: {', '.join(missing)}")


@pytest.fixture
def served(daemon: Daemon) -> Iterator[tuple[str, str]]:
    """The survey app on a free loopback port, and a fresh token."""
    _require_browser()
    import uvicorn

    rt = daemon.rt
    SQLModel.metadata.create_all(rt.engine)
    with Session(rt.engine) as s:
        token = issue_token(s, TokenLabels("payroll", "2026-H2"), date(2027, 2, 14))
        s.commit()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(rt), access_log=False, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", token
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=390,844"):  # a phone's screen
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_answer_in_a_browser_then_the_link_is_refused(served, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, token = served
    browser.get(f"{base}/survey/{token}")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    for qid, value in (("overall", "4"), ("deadline", "yes"), ("clarity", "5"),
                       ("politeness", "5"), ("ease", "3")):
        browser.find_element(By.CSS_SELECTOR, f'label[for="q_{qid}-{value}"]').click()
    browser.find_element(By.ID, "q_improve").send_keys("Больше примеров в ответах")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith("/survey/thanks"))
    assert "Спасибо за ответ" in browser.find_element(By.TAG_NAME, "h1").text
    browser.get(f"{base}/survey/{token}")
    assert "Ответ уже получен" in browser.find_element(By.TAG_NAME, "h1").text
    assert not browser.find_elements(By.TAG_NAME, "form")
