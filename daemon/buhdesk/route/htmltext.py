"""HTML from mail bodies: readable plain text for people and rules, and a sanitised copy to show.

Web mailers (mail.ru, Yandex) and Outlook often send HTML only; the text keeps paragraphs, line
breaks, list items and table rows so quoted history and requisites stay legible.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "xml", "svg"})
_BLOCK = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "blockquote", "pre", "table",
        "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address",
        "center", "form", "fieldset", "caption", "tbody", "thead", "tfoot",
    }
)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_SAFE_IMG = ("cid:", "data:image/png", "data:image/jpeg", "data:image/gif")
_SAFE_LINK = ("http://", "https://", "mailto:", "#")


class _TextExtractor(HTMLParser):
    """Collects text, turning block structure into line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._cells = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "tr":
            self._cells = 0
            self.out.append("\n")
        elif tag in ("td", "th"):
            if self._cells:
                self.out.append(" | ")
            self._cells += 1
        elif tag in _BLOCK:
            self._pre_depth += tag == "pre"
            self._break(2 if tag in ("p", "h1", "h2", "h3", "blockquote") else 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK:
            self._pre_depth = max(0, self._pre_depth - (tag == "pre"))
            self._break(2 if tag in ("p", "h1", "h2", "h3", "blockquote") else 1)

    def _break(self, lines: int) -> None:
        """End the line at a block's edge: ``</div><div>`` is one line break, as a browser shows
        it, not two; a ``<br>`` already there counts."""
        have = 0
        for chunk in reversed(self.out):
            text = chunk.rstrip(" ")
            body = text.rstrip("\n")
            have += len(text) - len(body)
            if body:
                break
        self.out.append("\n" * max(0, lines - have))

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        self.out.append(data if self._pre_depth else _SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """Readable text of an HTML document: scripts and styles dropped, entities decoded."""
    try:
        parser = _extracted(html)
    except AssertionError:
        # The standard parser gives up on a broken declaration or marked section («<![A»);
        # read the declarations as text instead.
        parser = _extracted(html.replace("<!", "&lt;!"))
    text = "".join(parser.out).replace("\xa0", " ")
    lines = (line.strip(" \t") for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def _extracted(html: str) -> _TextExtractor:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    """Keep only embedded images (no remote fetches that reveal the reader) and plain links."""
    lowered = value.strip().lower()
    if tag == "img" and attr == "src":
        return value if lowered.startswith(_SAFE_IMG) else None
    if attr == "href":
        return value if lowered.startswith(_SAFE_LINK) else None
    return value


def sanitize_html(html: str) -> str:
    """HTML safe to show in a browser: no scripts, styles, event handlers or remote images."""
    return nh3.clean(
        html,
        clean_content_tags={"script", "style", "title", "head", "noscript", "template"},
        url_schemes={"http", "https", "mailto", "cid", "data"},
        attribute_filter=_filter_attribute,
    )
