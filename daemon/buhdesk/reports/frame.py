"""The one frame of every HTML report: Jinja templates in ``templates/reports/``.

``reports/base.html.j2`` is the page (head, style, heading) with a ``content`` block; one template
per report kind extends it, and ``reports/macros.html.j2`` draws a :class:`Table`. Templates are
administrators' data: sandboxed, autoescaped, strict about undefined variables. A template the
configured folder does not have is taken from the shipped ones, so a folder copied before a
report existed keeps working. The Python side only prepares values: texts, tables of already
formatted cells, and charts (inline SVG from :mod:`buhdesk.reports.svgchart`, passed as markup).
``buhdesk check`` renders every kind with :func:`sample_values`.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from buhdesk.config import package_data_dir
from buhdesk.reply.templating import TemplateProblem

REPORTS_DIR = "reports"
REPORT_KINDS = ("sla", "routing", "touchpoints", "kb", "painmap", "satisfaction")


@dataclass(frozen=True)
class Cell:
    """One table cell as shown; ``num`` right-aligns it, ``rowspan`` merges it downwards."""

    text: str
    num: bool = False
    rowspan: int = 1


@dataclass(frozen=True)
class Table:
    head: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""


def fmt(value: Any) -> str:
    """A value as the survey reports show it: «—» for none, «4,25» for a fraction."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return str(value)


def table(head: Iterable[str], rows: Iterable[Sequence[Any]], *, caption: str = "",
          show: Callable[[Any], str] = fmt) -> Table:
    """A table of values; numbers are right-aligned, every value is shown by ``show``."""
    return Table(tuple(head), tuple(
        tuple(v if isinstance(v, Cell) else Cell(show(v), _is_number(v)) for v in row)
        for row in rows), caption)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def chart(svg: str) -> Markup:
    """A chart drawn by :func:`buhdesk.reports.svgchart.bar_chart` (it escapes its own text)."""
    return Markup(svg)


def _environment(templates_dir: Path | None) -> SandboxedEnvironment:
    shipped = package_data_dir("templates")
    folders = [Path(templates_dir)] if templates_dir is not None else []
    if shipped not in folders:
        folders.append(shipped)
    return SandboxedEnvironment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)


def template_name(kind: str) -> str:
    return f"{REPORTS_DIR}/{kind}.html.j2"


def render_report(kind: str, templates_dir: Path | None = None, **values: Any) -> str:
    """The HTML page of one report kind; a broken template raises :class:`TemplateProblem`
    naming the file and, where known, the line."""
    name = template_name(kind)
    try:
        return _environment(templates_dir).get_template(name).render(**values)
    except TemplateSyntaxError as e:
        raise TemplateProblem(f"{e.name or name}:{e.lineno}: ошибка синтаксиса шаблона: "
                              f"{e.message}") from e
    except TemplateNotFound as e:
        raise TemplateProblem(f"{e.name}: шаблон отсутствует") from e
    except UndefinedError as e:
        raise TemplateProblem(_undefined(name, e)) from e
    except TemplateError as e:
        raise TemplateProblem(f"{name}: ошибка шаблона: {e}") from e


def _undefined(name: str, error: UndefinedError) -> str:
    """«reports/kb.html.j2:12: переменная «x» не определена» (the template line from Jinja's
    rewritten traceback: the report's own template, or the base or macros it uses)."""
    frame = next((f for f in reversed(traceback.extract_tb(error.__traceback__))
                  if f.filename.endswith(".j2")), None)
    where = name
    if frame is not None:
        shown = Path(frame.filename)
        where = f"{shown.parent.name}/{shown.name}:{frame.lineno}"
    found = re.search(r"'([^']+)' is undefined", error.message or "")
    what = f"переменная «{found[1]}» не определена" if found else f"ошибка шаблона: {error}"
    return f"{where}: {what}"


def sample_values(kind: str) -> dict[str, Any]:
    """Values every report template must render with (for ``buhdesk check`` and the tests)."""
    figures = table(["Процесс", "Обращений", "Доля, %"], [["Заработная плата", 12, 91.5]],
                    caption="Пример таблицы")
    svg = chart('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')
    common: dict[str, Any] = {"title": "Пример отчёта"}
    kinds: dict[str, dict[str, Any]] = {
        "sla": {"intro": "Учтены обращения, поступившие в период.", "total": figures,
                "dimensions": [{"title": "По процессам", "chart": svg, "table": figures}]},
        "routing": {"chart": svg, "terms": figures, "misroutes": figures, "misroute_count": 1},
        "touchpoints": {"table": figures},
        "kb": {"period": "01.10.2026 — 31.10.2026", "chart": svg, "articles": figures,
               "gaps": figures, "min_gap_requests": 3, "questions": figures},
        "painmap": {"low_score": 2, "threshold": 5, "charts": [svg],
                    "processes": [{"label": "Заработная плата", "requests": 12,
                                   "answers": "7", "problems": ["поздний ответ"],
                                   "measures": figures}]},
        "satisfaction": {"threshold": 5, "periods": [
            {"label": "IV квартал 2026", "answered": True, "chart": svg, "table": figures}]},
    }
    return {**common, **kinds[kind]}


def check_report_templates(templates_dir: Path) -> list[str]:
    """Every report kind rendered with sample values; a problem per broken template."""
    problems = []
    for kind in REPORT_KINDS:
        try:
            render_report(kind, templates_dir, **sample_values(kind))
        except TemplateProblem as e:
            problems.append(f"{templates_dir}/{e}")
    return problems
