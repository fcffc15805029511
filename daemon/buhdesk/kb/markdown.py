"""Knowledge-base article bodies (Markdown) to sanitised HTML and to plain text for letters.

Links inside an article are of three kinds: another article by its slug (``[текст](slug)``), a
blank form (``[бланк](forms/файл.xlsx)``) and ordinary external addresses. The first two are
rewritten against a base address when rendered, so the same article works on the web page and in a
letter. Raw HTML in articles is not allowed; the output is sanitised with nh3 all the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.IGNORECASE)
FORMS_PREFIX = "forms/"
_ALLOWED_TAGS = {
    "a", "p", "br", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code",
    "pre", "blockquote", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}}


@dataclass(frozen=True)
class Link:
    """A link found in a body: its kind ("article", "form", "external", "anchor"), its target
    (slug, form file name or address) and the 1-based line of the body it is written on."""

    kind: str
    target: str
    line: int


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def classify_href(href: str) -> tuple[str, str]:
    """("article", slug) | ("form", name) | ("anchor", href) | ("external", href)."""
    if href.startswith("#"):
        return "anchor", href
    if _SCHEME_RE.match(href) or href.startswith("//"):
        return "external", href
    if href.startswith(FORMS_PREFIX):
        return "form", unquote(href[len(FORMS_PREFIX):])
    return "article", unquote(href.split("#", 1)[0])


def links(body: str) -> list[Link]:
    """Every link of a body with the line it is written on."""
    lines = body.splitlines()
    found = []
    for token in _parser().parse(body):
        for child in token.children or ():
            if child.type == "link_open":
                href = unquote(str(child.attrs.get("href", "")))
                kind, target = classify_href(href)
                found.append(Link(kind, target, _line_of(lines, token.map, href)))
    return found


def _line_of(lines: list[str], span: list[int] | None, href: str) -> int:
    start, end = span or (0, len(lines))
    for i in range(start, min(end, len(lines))):
        if f"]({href}" in lines[i] or f"<{href}>" in lines[i]:
            return i + 1
    return start + 1


def _absolute(href: str, base: str) -> str:
    kind, target = classify_href(href)
    if kind == "article":
        fragment = href.partition("#")[2]
        return f"{base}/{quote(target)}" + (f"#{fragment}" if fragment else "")
    if kind == "form":
        return f"{base}/forms/{quote(target)}"
    return href


def to_html(body: str, *, base: str) -> str:
    """Sanitised HTML of a body; a level-1 heading becomes h2 (the page title is the only h1)."""
    md = _parser()
    tokens = md.parse(body)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{max(int(token.tag[1]), 2)}"
        for child in token.children or ():
            if child.type == "link_open":
                child.attrs["href"] = _absolute(str(child.attrs.get("href", "")), base)
    html = md.renderer.render(tokens, md.options, {})
    return nh3.clean(html, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "tel"}, link_rel=None)


def to_text(body: str, *, base: str) -> str:
    """Plain text for a letter: headings and paragraphs as lines, lists with «—» or numbers,
    links as «текст (адрес)»."""
    out: list[str] = []
    lists: list[list[Any]] = []  # [ordered?, next number]
    prefix = ""
    row: list[str] | None = None
    for token in _parser().parse(body):
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            out.append("; ".join(row))
            row = None
        elif token.type == "inline" and row is not None:
            row.append(_inline_text(token.children or [], base))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append([token.type == "ordered_list_open", int(token.attrs.get("start", 1))])
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                out.append("")
        elif token.type == "list_item_open":
            ordered, number = lists[-1]
            prefix = "  " * (len(lists) - 1) + (f"{number}. " if ordered else "— ")
            lists[-1][1] = number + 1
        elif token.type == "inline":
            text = _inline_text(token.children or [], base)
            out.append(prefix + text if prefix else text)
            prefix = ""
        elif token.type in ("fence", "code_block"):
            out.append(token.content.rstrip("\n"))
        elif token.type in ("paragraph_close", "heading_close", "table_close") and not lists:
            out.append("")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"


def _inline_text(children: list[Token], base: str) -> str:
    parts: list[str] = []
    href_stack: list[tuple[str, int]] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "link_open":
            href_stack.append((str(child.attrs.get("href", "")), len(parts)))
        elif child.type == "link_close" and href_stack:
            href, start = href_stack.pop()
            label = "".join(parts[start:])
            kind, _ = classify_href(href)
            if kind == "anchor":
                continue
            url = _absolute(href, base)
            if href.startswith("mailto:"):
                url = href[len("mailto:"):]
            if label.strip() != url:
                parts.append(f" ({url})")
    return "".join(parts)
