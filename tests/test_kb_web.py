"""The knowledge base on the web: pages render in Russian, search matches word forms, only listed
blank forms download (with their Cyrillic names), and every page passes an accessibility smoke
check; in headless Chromium too when it is installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from starlette.applications import Starlette

from buhdesk.config import package_data_dir
from buhdesk.kb.library import KnowledgeBase
from buhdesk.web.kb import content_disposition, kb_routes
from buhdesk.rules.lemmas import Lemmatizer

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated")

LABELS = {"payroll": "Начисление и выплата заработной платы",
          "travel": "Возмещение расходов по служебным командировкам"}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(package_data_dir("rules"), lemmatizer=Lemmatizer())


@pytest.fixture(scope="module")
def app(kb: KnowledgeBase) -> Starlette:
    return Starlette(routes=kb_routes(lambda: kb, templates_dir=package_data_dir("templates"),
                                      process_label=lambda c: LABELS.get(c, c)))


@pytest.fixture
def client(app: Starlette) -> Iterator[object]:
    from starlette.testclient import TestClient

    with TestClient(app) as c:
        yield c


class PageAudit(HTMLParser):
    """What the smoke check needs: lang, title, headings, inputs and labels, images."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.titles, self.h1, self.images_without_alt = 0, 0, 0
        self.input_ids: list[str | None] = []
        self.label_fors: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "title":
            self.titles += 1
        elif tag == "h1":
            self.h1 += 1
        elif tag == "img" and not a.get("alt"):
            self.images_without_alt += 1
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.input_ids.append(a.get("id"))
        elif tag == "label" and a.get("for"):
            self.label_fors.add(str(a["for"]))
        elif tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))


def audit(html: str) -> PageAudit:
    page = PageAudit()
    page.feed(html)
    assert page.lang == "ru"
    assert page.titles == 1
    assert page.h1 == 1
    assert page.images_without_alt == 0
    assert all(i and i in page.label_fors for i in page.input_ids), page.input_ids
    assert '<meta name="viewport"' in html and "<script" not in html
    return page


def test_index_groups_articles_by_process(client, kb: KnowledgeBase) -> None:
    r = client.get("/kb")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = audit(r.text)
    assert "<h2 id=\"p-payroll\">Начисление и выплата заработной платы</h2>" in r.text
    for article in kb.articles:
        assert f"/kb/{article.slug}" in page.links
    assert client.get("/kb/").status_code == 200


def test_article_page_renders_markdown_and_forms(client) -> None:
    r = client.get("/kb/spravka-2-ndfl")
    assert r.status_code == 200
    page = audit(r.text)
    assert "<h1>Справка о доходах и суммах налога (2-НДФЛ)</h1>" in r.text
    assert "<h2>Как получить справку</h2>" in r.text and "<ol>" in r.text
    assert "/kb/vychet-na-detej" in page.links
    form_url = "/kb/forms/" + quote("заявление-на-справку-о-доходах.rtf")
    assert form_url in page.links
    assert "Статья проверена 1 октября 2026 г." in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_every_link_on_every_page_works(client, kb: KnowledgeBase) -> None:
    pages = ["/kb", "/kb/search?q=справки", *(f"/kb/{a.slug}" for a in kb.articles)]
    for url in pages:
        for link in audit(client.get(url).text).links:
            if link.startswith("/"):
                assert client.get(link).status_code == 200, (url, link)


@pytest.mark.parametrize("query", ["справку", "справки", "справка"])
def test_search_page_matches_word_forms(client, query: str) -> None:
    r = client.get("/kb/search", params={"q": query})
    assert r.status_code == 200
    page = audit(r.text)
    results = [link for link in page.links if link.startswith("/kb/") and link != "/kb/"]
    assert results[0] == "/kb/spravka-2-ndfl"
    assert f'value="{query}"' in r.text


def test_search_page_escapes_and_says_nothing_found(client) -> None:
    r = client.get("/kb/search", params={"q": "<script>футбол</script>"})
    audit(r.text)
    assert "ничего не найдено" in r.text and "&lt;script&gt;" in r.text
    empty = client.get("/kb/search").text
    audit(empty)
    assert "Найдено" not in empty and "ничего не найдено" not in empty


def test_unknown_article_is_a_russian_404(client) -> None:
    r = client.get("/kb/no-such-article")
    assert r.status_code == 404
    audit(r.text)
    assert "Такой статьи в базе знаний нет" in r.text


def test_form_downloads_with_its_cyrillic_name(client, kb: KnowledgeBase) -> None:
    name = "опись-документов-к-авансовому-отчету.xlsx"
    r = client.get("/kb/forms/" + quote(name))
    assert r.status_code == 200
    assert r.content == (kb.forms_dir / name).read_bytes()
    assert r.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="opis-dokumentov-k-avansovomu-otchetu.xlsx"')
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == name and encoded.isascii()


@pytest.mark.parametrize("path", [
    "/kb/forms/..%2Fspravka-2-ndfl.md", "/kb/forms/%2E%2E%2F%2E%2E%2Fstaff.toml",
    "/kb/forms/spravka-2-ndfl.md", "/kb/forms/nothing.xlsx",
])
def test_only_listed_forms_are_served(client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "content-disposition" not in r.headers


def test_unlisted_file_in_forms_folder_is_not_served(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    shutil.copytree(package_data_dir("rules") / "kb", tmp_path / "kb")
    (tmp_path / "kb" / "forms" / "черновик.docx").write_bytes(b"secret draft")
    kb = KnowledgeBase.load(tmp_path, staff={"ivanova", "petrova", "nikolaev", "grigorieva"})
    app = Starlette(routes=kb_routes(lambda: kb, templates_dir=package_data_dir("templates")))
    with TestClient(app) as c:
        assert c.get("/kb/forms/" + quote("черновик.docx")).status_code == 404


def test_content_disposition_quotes_nothing_unsafe() -> None:
    value = content_disposition('бланк "1";.xlsx')
    assert value.startswith('attachment; filename="blank__1__.xlsx"; filename*=UTF-8\'\'')
    assert '"' not in value.split("filename*=")[1]


# --- optional: the same pages in a real browser -----------------------------------------------

def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in (
        "chromium", "chromium-browser", "google-chrome", "headless_shell")) if p), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed")
def test_pages_render_in_headless_chromium(app: Starlette, tmp_path: Path) -> None:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        for path in ("/kb", "/kb/komandirovka", "/kb/search?q=" + quote("командировочные")):
            dom = subprocess.run(
                [str(_chromium()), "--headless", "--no-sandbox", "--disable-gpu",
                 f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                 f"http://127.0.0.1:{port}{path}"],
                capture_output=True, text=True, timeout=60, check=True).stdout
            page = audit(dom)
            assert page.h1 == 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)
