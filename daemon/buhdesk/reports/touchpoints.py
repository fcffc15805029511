"""The touchpoint registry (the appendix of order 76) from ``rules/touchpoints.toml``, validated
with file and line, and rendered as a page ready for the official site (§1.5), CSV or XLSX.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from buhdesk.reports.frame import Cell, Table, render_report
from buhdesk.rules.problems import Problems, TomlDoc, check_keys, read_toml

TITLE = ("Перечень точек взаимодействия с внутренним клиентом по вопросам ведения бухгалтерского "
         "учета в исполнительных органах Смоленской области")
COLUMNS = (("number", "№ п/п"), ("direction", "Направленность деятельности"),
           ("process", "Наименование конкретного процесса"), ("point", "Точка взаимодействия"),
           ("interaction", "Осуществляемое взаимодействие с клиентом"),
           ("feature", "Особенности взаимодействия с клиентом"))
REQUIRED = ("direction", "process", "point", "interaction", "feature")
KEYS = (*(k for k, _ in COLUMNS), "process_code", "note")


@dataclass(frozen=True)
class Touchpoint:
    number: str
    direction: str
    process: str
    point: str
    interaction: str
    feature: str
    process_code: str = ""
    note: str = ""


def load_touchpoints(rules_dir: Path, process_codes: set[str] | None = None) -> list[Touchpoint]:
    """Read the registry; raise RuleSetError naming every problem with its file and line."""
    problems = Problems()
    doc = read_toml(Path(rules_dir) / "touchpoints.toml", problems)
    items = _parse(doc, problems, process_codes) if doc else []
    problems.raise_if_any()
    return items


def _parse(doc: TomlDoc, problems: Problems, codes: set[str] | None) -> list[Touchpoint]:
    check_keys(doc, ("", None), doc.data, ("touchpoint",), problems, "файле")
    rows = doc.data.get("touchpoint", [])
    if not isinstance(rows, list) or not rows:
        problems.add(doc.name, None, "нет ни одной строки: добавьте таблицы [[touchpoint]]")
        return []
    out = []
    for i, row in enumerate(rows):
        owner, where = ("touchpoint", i), f"строке перечня № {i + 1}"
        check_keys(doc, owner, row, KEYS, problems, where)
        bad = [k for k in KEYS if k in row and not isinstance(row[k], str)]
        missing = [k for k in REQUIRED if not str(row.get(k, "")).strip()]
        for k in bad:
            problems.add(doc.name, doc.key_line(owner, k), f"{where}: «{k}» должен быть строкой")
        for k in missing:
            problems.add(doc.name, doc.table_line(owner), f"{where}: не заполнен ключ «{k}»")
        code = row.get("process_code", "")
        if codes is not None and code and code not in codes:
            problems.add(doc.name, doc.key_line(owner, "process_code"),
                         f"{where}: неизвестный код процесса «{code}» (есть: "
                         f"{', '.join(sorted(codes))})")
        if not bad and not missing:
            out.append(Touchpoint(**{k: row.get(k, "") for k in KEYS}))
    return out


def render_html(items: list[Touchpoint], templates_dir: Path | None = None) -> str:
    """The table as on the official site (``templates/reports/touchpoints.html.j2``): repeated
    direction and process cells are merged."""
    rows = []
    for i, t in enumerate(items):
        cells = [Cell(t.number)]
        for key in ("direction", "process"):
            span = _span(items, i, key)
            if span:
                cells.append(Cell(getattr(t, key), rowspan=span))
        cells += [Cell(getattr(t, k)) for k in ("point", "interaction", "feature")]
        rows.append(tuple(cells))
    caption = ("Приложение к Порядку взаимодействия с внутренним клиентом по вопросам ведения "
               "бухгалтерского учета")
    return render_report("touchpoints", templates_dir, title=TITLE,
                         table=Table(tuple(h for _, h in COLUMNS), tuple(rows), caption))


def _span(items: list[Touchpoint], i: int, key: str) -> int:
    """Rows the cell covers from row ``i``; 0 if row ``i`` continues the cell above."""
    def same(a: Touchpoint, b: Touchpoint) -> bool:
        return getattr(a, key) == getattr(b, key) and (
            key == "direction" or a.direction == b.direction)
    if i > 0 and same(items[i - 1], items[i]):
        return 0
    n = 1
    while i + n < len(items) and same(items[i], items[i + n]):
        n += 1
    return n


def render_csv(items: list[Touchpoint]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([h for _, h in COLUMNS])
    for t in items:
        writer.writerow([getattr(t, k) for k, _ in COLUMNS])
    return out.getvalue()


def render_xlsx(items: list[Touchpoint], path: Path) -> None:
    """The list, and the number of touchpoints per process with a chart."""
    from collections import Counter

    from buhdesk.reports.tables import Chart, Sheet, write_xlsx

    per_process = Counter(t.process for t in items)
    listed = [[h for _, h in COLUMNS], *([getattr(t, k) for k, _ in COLUMNS] for t in items)]
    write_xlsx([Sheet("Точки взаимодействия", listed),
                Sheet("По процессам", [["Процесс", "Точек взаимодействия"],
                                       *([p, n] for p, n in per_process.items())],
                      Chart("Точек взаимодействия по процессам", 1, (2,)))], path)
