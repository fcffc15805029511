"""`buhdesk report KIND`: the reports, as sub-commands of one ``report`` parser.

``register`` adds the parser and the SLA report; other kinds (satisfaction, painmap, touchpoints,
…) are added with :meth:`ReportCommands.add_report_kind`, each getting the loaded configuration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from buhdesk.config import Config

LoadConfig = Callable[[argparse.Namespace], Config]
ReportFunc = Callable[[argparse.Namespace, Config], int]
FORMATS = ("html", "xlsx", "csv")


class ReportArgumentError(ValueError):
    """A report's arguments cannot be used; the message is Russian."""


@dataclass
class ReportCommands:
    kinds: Any  # argparse._SubParsersAction of the "report" parser
    load_config: LoadConfig

    def add_report_kind(self, name: str, func: ReportFunc, help: str) -> argparse.ArgumentParser:
        """Add ``buhdesk report NAME``; ``func(args, config)`` returns the exit status."""
        parser: argparse.ArgumentParser = self.kinds.add_parser(name, help=help,
                                                                description=help)
        parser.set_defaults(func=lambda args: self._run(func, args))
        return parser

    def _run(self, func: ReportFunc, args: argparse.Namespace) -> int:
        try:
            return func(args, self.load_config(args))
        except ReportArgumentError as e:
            print(f"Ошибка: {e}", file=sys.stderr)
            return 2


def parse_day(value: str) -> date:
    """ГГГГ-ММ-ДД or ДД.ММ.ГГГГ."""
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"«{value}»: нужна дата ГГГГ-ММ-ДД или ДД.ММ.ГГГГ")


def add_period(parser: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS) -> None:
    """The options every report over a period takes."""
    parser.add_argument("--from", dest="start", type=parse_day, required=True,
                        help="первый день периода (ГГГГ-ММ-ДД)")
    parser.add_argument("--to", dest="end", type=parse_day, required=True,
                        help="последний день периода включительно (ГГГГ-ММ-ДД)")
    parser.add_argument("--format", choices=formats, default=formats[0], help="формат отчёта")
    parser.add_argument("-o", "--output", type=Path,
                        help="файл отчёта (по умолчанию HTML и CSV — в стандартный вывод)")


def write_text(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    print(f"Отчёт записан в {output}", file=sys.stderr)


def write_report_xlsx(sheets: Any, output: Path) -> None:
    """An XLSX report through the shared writer, and where it went."""
    from buhdesk.reports.tables import write_xlsx

    write_xlsx(sheets, output)
    print(f"Отчёт записан в {output}", file=sys.stderr)


def cmd_sla(args: argparse.Namespace, config: Config) -> int:
    from buhdesk.reports.sla import render_csv, render_html, render_xlsx, sla_report
    from buhdesk.rules.book import load_rulebook
    from buhdesk.store.engine import opened_store

    if args.end < args.start:
        raise ReportArgumentError(f"конец периода ({args.end:%d.%m.%Y}) раньше начала "
                                  f"({args.start:%d.%m.%Y})")
    with opened_store(config.store.url) as engine:
        report = sla_report(engine, load_rulebook(config.rules_dir), args.start, args.end,
                            now=datetime.now(UTC), basis=args.basis, tz=config.service.tz)
    if args.format == "xlsx":
        output = args.output or Path(f"sla_{args.start}_{args.end}.xlsx")
        render_xlsx(report, output)
        print(f"Отчёт записан в {output}", file=sys.stderr)
    else:
        write_text(render_html(report, config.templates_dir) if args.format == "html"
                   else render_csv(report),
                   args.output)
    return 0


def register(sub: Any, load_config: LoadConfig) -> ReportCommands:
    """Add ``buhdesk report`` to the main sub-parsers, with the ``sla`` kind."""
    report = sub.add_parser("report", help="отчёты", description="отчёты buhdesk")
    commands = ReportCommands(report.add_subparsers(dest="report_kind", required=True,
                                                    metavar="ВИД"), load_config)
    sla = commands.add_report_kind(
        "sla", cmd_sla, "соблюдение сроков: доля ответов в срок, время до ответа и закрытия")
    add_period(sla)
    sla.add_argument("--basis", choices=("created", "due"), default="created",
                     help="какие обращения учитывать: поступившие в период (created) "
                          "или со сроком в период (due)")
    return commands
