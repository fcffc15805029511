"""Commands for closure, the survey and offline requests: ``buhdesk register``, ``buhdesk close``,
``buhdesk web`` and the reports ``satisfaction``, ``painmap`` and ``touchpoints``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from buhdesk.cli.reports import ReportArgumentError, ReportCommands, add_period, write_text
from buhdesk.config import Config, forget_secrets
from buhdesk.trust.keys import WEB_PURPOSES

LoadConfig = Callable[[argparse.Namespace], Config]
DEFAULT_WEB_PORT = 8080
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def cmd_register(args: argparse.Namespace, config: Config) -> int:
    from sqlmodel import Session

    from buhdesk.route.channels import RegistrationError, register_offline
    from buhdesk.service.runtime import command_runtime

    login = args.login or getpass.getuser()
    with command_runtime(config) as rt, Session(rt.engine) as session:
        try:
            request = register_offline(session, rt, args.channel, args.client, args.name or "",
                                       args.subject, args.text or "", login)
        except RegistrationError as e:
            print(f"Ошибка: {e}", file=sys.stderr)
            return 2
        session.commit()
        session.refresh(request)
    due = request.due_at.astimezone(config.service.tz).strftime("%d.%m.%Y %H:%M") \
        if request.due_at else "не установлен"
    print(f"Зарегистрировано обращение {request.number}. Срок ответа: {due}. "
          f"Ответственный: {request.assignee or 'не назначен'}.")
    return 0


def cmd_close(args: argparse.Namespace, config: Config) -> int:
    from buhdesk.reply.closure import CloseError, close_by_number
    from buhdesk.service.runtime import command_runtime

    status = 0
    with command_runtime(config) as rt:
        for number in args.numbers:
            try:
                close_by_number(rt, number, actor=args.login or getpass.getuser())
            except CloseError as e:
                print(f"Ошибка: {e}", file=sys.stderr)
                status = 1
                continue
            print(f"Обращение {number} закрыто.")
    return status


def default_web_port(config: Config) -> int:
    """The port of ``[web] public_url`` when that names this machine (the links in letters then
    lead to the page ``web`` serves without a --port); otherwise 8080, behind a proxy."""
    from buhdesk.kb.mail import public_url

    url = urlsplit(public_url(config))
    if url.hostname in LOOPBACK_NAMES and url.port:
        return url.port
    return DEFAULT_WEB_PORT


def cmd_web(args: argparse.Namespace, config: Config) -> int:
    """The survey and the knowledge base (uvicorn, no access log: it would hold client
    addresses and survey tokens). The process holds the survey keys only, and drops the secrets
    from its environment once they are read."""
    import uvicorn

    from buhdesk.kb.library import KnowledgeBaseCache
    from buhdesk.service.runtime import command_runtime
    from buhdesk.web.app import create_app
    from buhdesk.web.kb import kb_routes
    from buhdesk.web.security import uvicorn_proxy_options

    proxy = uvicorn_proxy_options(config)
    with command_runtime(config, keys=config.web_keyring()) as rt:
        forget_secrets(config)
        kb = rt.kb or KnowledgeBaseCache(config.rules_dir, staff=lambda: rt.rules.staff)
        routes = kb_routes(kb.get, templates_dir=config.templates_dir,
                           process_label=rt.rules.process_label)
        port = args.port if args.port is not None else default_web_port(config)
        uvicorn.run(create_app(rt, extra_routes=routes), host=args.host, port=port,
                    access_log=False, server_header=False, log_level="warning", **proxy)
    return 0


def cmd_web_keys(args: argparse.Namespace, config: Config) -> int:
    """Print the web process's keys, derived from the main secret, for its own credential."""
    sys.stdout.write(config.keyring(purposes=WEB_PURPOSES).export())
    return 0


def _with_config(func: Callable[[argparse.Namespace, Config], int],
                 load_config: LoadConfig) -> Callable[[argparse.Namespace], int]:
    return lambda args: func(args, load_config(args))


def register(sub: Any, load_config: LoadConfig) -> None:
    """Add ``register``, ``close`` and ``web`` to the main sub-parsers."""
    reg = sub.add_parser("register", help="зарегистрировать обращение, принятое по телефону или "
                         "на личном приёме", description="зарегистрировать обращение, принятое "
                         "по телефону или на личном приёме (п. 2.2 Порядка)")
    reg.add_argument("--channel", choices=("phone", "office"), required=True,
                     help="phone — телефон, office — личный приём")
    reg.add_argument("--from", dest="client", help="адрес электронной почты заявителя "
                     "(для подтверждения, ответа и опроса)")
    reg.add_argument("--name", help="ФИО заявителя")
    reg.add_argument("--subject", required=True, help="тема обращения")
    reg.add_argument("--text", help="содержание обращения")
    reg.add_argument("--as", dest="login", help="логин принявшего сотрудника "
                     "(по умолчанию — имя пользователя)")
    reg.set_defaults(func=_with_config(cmd_register, load_config))
    close = sub.add_parser("close", help="закрыть обращение", description="закрыть обращение")
    close.add_argument("numbers", nargs="+", metavar="НОМЕР")
    close.add_argument("--as", dest="login", help="логин закрывающего сотрудника")
    close.set_defaults(func=_with_config(cmd_close, load_config))
    web = sub.add_parser("web", help="веб-страница опроса", description="веб-страница опроса "
                         "удовлетворённости и /healthz")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=None,
                     help="порт (по умолчанию — из [web] public_url на этой машине, иначе 8080)")
    web.set_defaults(func=_with_config(cmd_web, load_config))
    keys = sub.add_parser("web-keys", help="ключи веб-части (выводятся из секрета службы)",
                          description="вывести ключи опроса для веб-части: сохраните их в "
                          "учётные данные BUHDESK_WEB_KEYS службы buhdesk-web, и ей не нужен "
                          "общий секрет")
    keys.set_defaults(func=_with_config(cmd_web_keys, load_config))


def _check_period(args: argparse.Namespace) -> None:
    if args.end < args.start:
        raise ReportArgumentError(f"конец периода ({args.end:%d.%m.%Y}) раньше начала "
                                  f"({args.start:%d.%m.%Y})")


def _write(args: argparse.Namespace, name: str, html: Callable[[], str], csv: Callable[[], str],
           xlsx: Callable[[Path], None]) -> int:
    if args.format == "xlsx":
        output = args.output or Path(f"{name}.xlsx")
        xlsx(output)
        print(f"Отчёт записан в {output}", file=sys.stderr)
    else:
        write_text(html() if args.format == "html" else csv(), args.output)
    return 0


def cmd_satisfaction(args: argparse.Namespace, config: Config) -> int:
    from buhdesk.feedback import satisfaction as s
    from buhdesk.feedback.settings import survey_settings
    from buhdesk.feedback.survey import load_survey
    from buhdesk.rules.book import load_rulebook
    from buhdesk.store.engine import opened_store

    _check_period(args)
    rules = load_rulebook(config.rules_dir)
    with opened_store(config.store.url) as engine:
        report = s.satisfaction_report(engine, load_survey(config.rules_dir),
                                       rules.process_label, args.start, args.end,
                                       threshold=survey_settings(config).min_group)
    return _write(args, f"satisfaction_{args.start}_{args.end}",
                  lambda: s.render_html(report, config.templates_dir),
                  lambda: s.render_csv(report), lambda p: s.render_xlsx(report, p))


def cmd_painmap(args: argparse.Namespace, config: Config) -> int:
    from buhdesk.feedback import painmap as pm
    from buhdesk.feedback.settings import survey_settings
    from buhdesk.feedback.survey import load_survey
    from buhdesk.reports.tables import write_rows_csv, write_xlsx
    from buhdesk.rules.book import load_rulebook
    from buhdesk.store.engine import opened_store

    _check_period(args)
    rules = load_rulebook(config.rules_dir)
    labels = dict(rules.ruleset.process_labels)
    threshold = survey_settings(config).min_group
    with opened_store(config.store.url) as engine:
        pains = pm.collect_painmap(
            engine, load_survey(config.rules_dir), labels,
            pm.load_measures(config.rules_dir, set(labels)), args.start, args.end,
            now=datetime.now(UTC), tz=config.service.tz, threshold=threshold)
    return _write(args, f"painmap_{args.start}_{args.end}",
                  lambda: pm.render_html(pains, args.start, args.end, threshold,
                                         config.templates_dir),
                  lambda: write_rows_csv(pm.flat_rows(pains)),
                  lambda p: write_xlsx(pm.xlsx_sheets(pains), p))


def cmd_touchpoints(args: argparse.Namespace, config: Config) -> int:
    from buhdesk.reports import touchpoints as tp
    from buhdesk.rules.book import load_rulebook

    codes = set(load_rulebook(config.rules_dir).ruleset.process_labels)
    items = tp.load_touchpoints(config.rules_dir, codes)
    return _write(args, "touchpoints", lambda: tp.render_html(items, config.templates_dir),
                  lambda: tp.render_csv(items), lambda p: tp.render_xlsx(items, p))


def register_reports(commands: ReportCommands) -> None:
    """Add the survey reports to ``buhdesk report``."""
    sat = commands.add_report_kind("satisfaction", cmd_satisfaction,
                                   "удовлетворённость по процессам, каналам и кварталам")
    add_period(sat)
    pain = commands.add_report_kind("painmap", cmd_painmap,
                                    "«карта болей»: проблемы и меры по каждому процессу")
    add_period(pain)
    touch = commands.add_report_kind("touchpoints", cmd_touchpoints,
                                     "перечень точек взаимодействия для официального сайта")
    touch.add_argument("--format", choices=("html", "xlsx", "csv"), default="html")
    touch.add_argument("-o", "--output", type=Path, help="файл отчёта")
