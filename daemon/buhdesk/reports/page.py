"""The HTML frame shared by the survey reports: a standalone page with readable tables."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

STYLE = """body{font:15px/1.45 Arial,sans-serif;color:#1a1a1a;max-width:1100px;margin:1rem auto;
padding:0 1rem}table{border-collapse:collapse;margin:0.5rem 0 1.5rem;width:100%}
th,td{border:1px solid #8a8a8a;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#e8edf3}td.num{text-align:right}svg{max-width:100%;height:auto}
h2{margin-top:2rem}"""


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return str(value)


def table_html(head: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    cells = ["<table>", "<thead><tr>" + "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
             + "</tr></thead><tbody>"]
    for row in body:
        tds = "".join(f'<td class="num">{escape(fmt(v))}</td>' if isinstance(v, int | float)
                      else f"<td>{escape(fmt(v))}</td>" for v in row)
        cells.append(f"<tr>{tds}</tr>")
    cells.append("</tbody></table>")
    return "\n".join(cells)


def html_page(title: str, parts: Sequence[str]) -> str:
    return "\n".join([
        (f'<!DOCTYPE html>\n<html lang="ru">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>"),
        f"<h1>{escape(title)}</h1>", *parts, "</body>\n</html>\n"])
