"""Every response of `buhdesk web` carries the security headers — pages, redirects, 404s, blank
form downloads, /healthz and the error page of a failing handler — and uvicorn believes
`X-Forwarded-For` only from a proxy the configuration names."""

from __future__ import annotations

import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from sqlmodel import SQLModel, Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from buhdesk.config import ConfigError, load_config, package_data_dir
from buhdesk.kb.library import KnowledgeBase
from buhdesk.web.kb import kb_routes
from buhdesk.rules.lemmas import Lemmatizer
from buhdesk.service.runner import Daemon
from buhdesk.feedback.tokens import TokenLabels, issue_token
from buhdesk.web.app import create_app
from buhdesk.web.security import HEADERS, trusted_proxies, uvicorn_proxy_options

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient

FORM = "/kb/forms/" + quote("заявление-на-справку-о-доходах.rtf")


async def boom(request: Request) -> JSONResponse:
    raise RuntimeError("a handler that fails")


@pytest.fixture
def client(daemon: Daemon) -> Iterator[TestClient]:
    SQLModel.metadata.create_all(daemon.rt.engine)
    kb = KnowledgeBase.load(package_data_dir("rules"), lemmatizer=Lemmatizer())
    routes = [*kb_routes(lambda: kb, templates_dir=package_data_dir("templates"),
                         process_label=lambda c: c), Route("/boom", boom)]
    yield TestClient(create_app(daemon.rt, extra_routes=routes), raise_server_exceptions=False)


def token(daemon: Daemon) -> str:
    with Session(daemon.rt.engine) as s:
        value = issue_token(s, TokenLabels("payroll", "2026-H2"), daemon.rt.now().date())
        s.commit()
    return value


def test_every_kind_of_response_carries_the_headers(client: TestClient, daemon: Daemon) -> None:
    link = f"/survey/{token(daemon)}"
    page = client.get(link)
    form = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    responses = {
        "survey page": page,
        "redirect": client.post("/survey", data={**form, "q_overall": "4", "q_deadline": "yes",
                                                 "q_clarity": "5", "q_politeness": "5",
                                                 "q_ease": "3"}, follow_redirects=False),
        "thanks": client.get("/survey/thanks"),
        "unknown link": client.get("/survey/" + "A" * 32),
        "404": client.get("/no/such/page"),
        "405": client.put("/healthz"),
        "download": client.get(FORM),
        "kb page": client.get("/kb"),
        "healthz": client.get("/healthz"),
        "error": client.get("/boom"),
    }
    assert responses["redirect"].status_code == 303
    assert responses["download"].status_code == 200
    assert responses["404"].status_code == 404 and responses["error"].status_code == 500
    for kind, response in responses.items():
        for name, value in HEADERS.items():
            assert response.headers.get_list(name) == [value], (kind, name)
    assert "frame-ancestors 'none'" in HEADERS["content-security-policy"]
    assert HEADERS["referrer-policy"] == "no-referrer"
    for kind in ("survey page", "redirect", "thanks", "unknown link", "healthz"):
        assert responses[kind].headers["cache-control"] == "no-store", kind


def seen_client(options: dict[str, object]) -> str:
    """The client address an app behind a real uvicorn sees for a request from 127.0.0.1 that
    claims `X-Forwarded-For: 203.0.113.9`."""
    async def echo(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["client"][0].encode()})

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(echo, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", **options))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        return httpx.get(f"http://127.0.0.1:{port}/",
                         headers={"X-Forwarded-For": "203.0.113.9"}).text
    finally:
        server.should_exit = True
        thread.join(10)


def test_forwarded_for_is_believed_only_from_a_named_proxy(
        tmp_path: Path, make_config: Callable[..., Path], secret_env: str) -> None:
    plain = load_config(make_config(tmp_path, ""))
    assert seen_client(uvicorn_proxy_options(plain)) == "127.0.0.1"
    named = replace(plain, extra={"web": {"trusted_proxies": ["127.0.0.1"]}})
    assert seen_client(uvicorn_proxy_options(named)) == "203.0.113.9"
    other = replace(plain, extra={"web": {"trusted_proxies": ["10.0.0.0/8"]}})
    assert seen_client(uvicorn_proxy_options(other)) == "127.0.0.1"
    with pytest.raises(ConfigError, match="trusted_proxies"):
        trusted_proxies(replace(plain, extra={"web": {"trusted_proxies": ["прокси"]}}))
