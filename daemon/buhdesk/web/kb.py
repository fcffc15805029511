"""The knowledge base on the web (Russian, server-rendered, no scripts): an index by process,
article pages, a search that matches word forms, and the blank forms for download.

Only files that some article lists are served; names come from the request only to be looked up
in that list, never joined to a path blindly.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from buhdesk.kb.article import Article
from buhdesk.kb.library import KnowledgeBase
from buhdesk.kb.markdown import to_html, to_text
from buhdesk.reply.templating import MONTHS_GENITIVE
from buhdesk.rules.classify import PROCESSES

KbProvider = Callable[[], KnowledgeBase]
Labeller = Callable[[str], str]
SEARCH_LIMIT = 20
EXCERPT_CHARS = 220
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
FORMAT_LABELS = {
    ".xlsx": "таблица Excel", ".xls": "таблица Excel", ".ods": "таблица OpenDocument",
    ".docx": "документ Word", ".doc": "документ Word", ".odt": "документ OpenDocument",
    ".rtf": "документ RTF", ".pdf": "документ PDF", ".txt": "текст",
}
MEDIA_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".rtf": "application/rtf", ".pdf": "application/pdf",
}
_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
    strict=True,
))


def day(value: date) -> str:
    return f"{value.day} {MONTHS_GENITIVE[value.month - 1]} {value.year} г."


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the exact UTF-8 name (RFC 6266, RFC 5987)."""
    fallback = "".join(_TRANSLIT.get(c.lower(), c) for c in name)
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in ".-_") else "_"
                       for c in fallback) or "form"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _environment(templates_dir: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=FileSystemLoader(str(templates_dir)),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = day
    return env


class KbSite:
    """The views, holding what every page needs."""

    def __init__(self, kb_provider: KbProvider, templates_dir: Path, prefix: str,
                 process_label: Labeller) -> None:
        self.kb_provider, self.prefix, self.process_label = kb_provider, prefix, process_label
        self.env = _environment(templates_dir)

    def page(self, template: str, status: int = 200, **variables: Any) -> HTMLResponse:
        html = self.env.get_template(f"kb/{template}.html.j2").render(
            prefix=self.prefix, **variables)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def not_found(self, message: str) -> HTMLResponse:
        return self.page("not_found", 404, message=message)

    async def index(self, request: Request) -> Response:
        kb = self.kb_provider()
        sections: list[dict[str, object]] = []
        for code in PROCESSES:
            articles = sorted((a for a in kb.articles if code in a.processes),
                              key=lambda a: a.title)
            if articles:
                sections.append({"code": code, "label": self.process_label(code),
                                 "articles": articles})
        forms = [self.form_view(kb, a, name) for a in kb.articles for name in a.forms]
        return self.page("index", sections=sections,
                         forms=sorted(forms, key=lambda f: f["name"]), query="")

    async def article(self, request: Request) -> Response:
        kb = self.kb_provider()
        article = kb.get(request.path_params["slug"])
        if article is None:
            return self.not_found("Такой статьи в базе знаний нет. Возможно, её переименовали: "
                                  "воспользуйтесь поиском или списком статей.")
        return self.page(
            "article", article=article, body=Markup(to_html(article.body, base=self.prefix)),
            processes=[(c, self.process_label(c)) for c in article.processes],
            forms=[self.form_view(kb, article, name) for name in article.forms])

    async def search(self, request: Request) -> Response:
        kb = self.kb_provider()
        query = request.query_params.get("q", "").strip()[:200]
        results = [{"article": a, "excerpt": self.excerpt(a)}
                   for a, _ in kb.search(query)[:SEARCH_LIMIT]] if query else []
        return self.page("search", query=query, results=results)

    async def form(self, request: Request) -> Response:
        kb = self.kb_provider()
        name = request.path_params["name"]
        path = kb.form_path(name)
        if path is None:
            return self.not_found("Такого бланка в базе знаний нет.")
        media = MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        return FileResponse(path, media_type=media or "application/octet-stream",
                            headers={"Content-Disposition": content_disposition(name),
                                     "X-Content-Type-Options": "nosniff"})

    def form_view(self, kb: KnowledgeBase, article: Article, name: str) -> dict[str, Any]:
        path = kb.forms_dir / name
        size = path.stat().st_size if path.is_file() else 0
        return {"name": name, "url": f"{self.prefix}/forms/{quote(name)}", "article": article,
                "format": FORMAT_LABELS.get(path.suffix.lower(), path.suffix.lstrip(".")),
                "size": f"{max(1, round(size / 1024))} КБ"}

    @staticmethod
    def excerpt(article: Article) -> str:
        text = " ".join(to_text(article.body, base="").split())
        if len(text) <= EXCERPT_CHARS:
            return text
        return text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"


def kb_routes(kb_provider: KbProvider, *, templates_dir: Path, prefix: str = "/kb",
              process_label: Labeller | None = None) -> list[Route]:
    """The knowledge-base pages under ``prefix``; ``process_label`` turns a process code into
    its name (``rt.rules.process_label``), the code itself by default."""
    site = KbSite(kb_provider, Path(templates_dir), prefix.rstrip("/"),
                  process_label or (lambda code: code))
    p = site.prefix
    return [
        Route(p, site.index, methods=["GET"], name="kb-index"),
        Route(f"{p}/", site.index, methods=["GET"], name="kb-index-slash"),
        Route(f"{p}/search", site.search, methods=["GET"], name="kb-search"),
        Route(f"{p}/forms/{{name}}", site.form, methods=["GET"], name="kb-form"),
        Route(f"{p}/{{slug}}", site.article, methods=["GET"], name="kb-article"),
    ]
