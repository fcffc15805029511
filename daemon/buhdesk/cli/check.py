"""`buhdesk check`: validate the configuration, every rule file and every template, completely.

Prints each problem in Russian with the file (and line where known); exits non-zero if any.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from buhdesk.config import (
    Config,
    ConfigError,
    config_error_at_line,
    config_problem_at_line,
    load_config,
    package_data_dir,
)
from buhdesk.feedback.painmap import PainMapError, load_measures
from buhdesk.feedback.settings import SurveySettingsError, closure_settings, survey_settings
from buhdesk.feedback.survey import load_survey
from buhdesk.kb.library import check_kb
from buhdesk.kb.mail import KbSettingsError, min_share
from buhdesk.reply.templating import LETTERS, TemplateProblem, Templates
from buhdesk.reports.frame import check_report_templates
from buhdesk.reports.touchpoints import load_touchpoints
from buhdesk.route.participants import CopiesSettingsError, copies_settings
from buhdesk.rules.book import RuleBook, RuleBookError, load_rulebook
from buhdesk.rules.classify import PROCESSES
from buhdesk.rules.documents import DocumentSettingsError, load_document_settings
from buhdesk.rules.ruleset import RuleSetError
from buhdesk.schedule.settings import ScheduleSettingsError, load_schedule_settings
from buhdesk.store.models import Request
from buhdesk.trust.settings import TrustSettingsError, auth_settings, flood_settings
from buhdesk.web.security import trusted_proxies


def sample_variables(book: RuleBook, service_name: str) -> dict[str, Any]:
    """Variables every letter template must render with (also used by the template tests)."""
    now = datetime.now(UTC)
    staff = next(iter(book.staff.values()), None)
    request = Request(id=1, number="БУХ-2026-000001", subject="Справка 2-НДФЛ",
                      client_email="employee@example.org", client_name="Ковалева Мария Петровна",
                      client_department="Отдел кадров", process="payroll", need="result",
                      assignee=staff.login if staff else None, due_at=now + timedelta(days=3))
    accountant = ({"login": staff.login, "name": staff.name, "position": staff.position,
                   "phone": staff.phone, "email": staff.email} if staff else None)
    return {
        "service": {"name": service_name, "address": "buh@example.org"},
        "request": request, "client_name": request.client_name, "accountant": accountant,
        "process_label": book.process_label("payroll"), "need_label": book.need_label("result"),
        "channel_label": "электронная почта", "reasons": ["сегмент по умолчанию"],
        "attachments": ["заявление.pdf"], "body_text": "Прошу выдать справку 2-НДФЛ.",
        "articles": [], "reopened": False, "topic": "rules-refused", "directory": "/etc/buhdesk",
        "problems": "staff.toml:3: пример", "package": "PKG", "message": "пример", "file": None,
        "text": "Справка готова.", "overdue": False, "due_at": request.due_at,
        "created_at": now, "greeting": "Уважаемая Мария Петровна!", "author": accountant,
        "findings": [], "checked_body": "",
        "note_author": "Петрова Анна Игоревна <petrova@minfin.example>", "until": now,
        "why": "Петрова Анна Игоревна — не исполнитель обращения",
        "sender": "client@example.org", "cap": 20,
        "addresses": ["employee@example.org"], "bounce_reason": "5.1.1 User unknown",
        "bounced_subject": "Ответ на обращение БУХ-2026-000001", "unit": "Отдел учёта",
    }


def _check_templates(directory: Path, book: RuleBook, cfg: Config | None) -> list[str]:
    tz = cfg.service.tz if cfg else ZoneInfo("UTC")
    templates = Templates(directory, tz)
    variables = sample_variables(book, cfg.service.name if cfg else "Бухгалтерия")
    problems = []
    for name in LETTERS:
        if not (directory / f"{name}.txt.j2").exists():
            if name in ("answer", "returned"):
                continue  # optional until answers are handled
            problems.append(f"{directory}/{name}.txt.j2: шаблон отсутствует")
            continue
        try:
            templates.render(name, **variables)
        except TemplateProblem as e:
            problems.append(f"{directory}/{e}")
    return problems


def _check_other_rules(rules_dir: Path, processes: set[str]) -> list[str]:
    """The survey, «карта болей», touchpoints and «ДелоПро» files (each lists all its problems)."""
    loaders: list[Callable[[], object]] = [
        lambda: load_survey(rules_dir),
        lambda: load_measures(rules_dir, processes),
        lambda: load_touchpoints(rules_dir, processes),
        lambda: load_document_settings(rules_dir),
    ]
    problems: list[str] = []
    for load in loaders:
        try:
            load()
        except (RuleSetError, PainMapError, DocumentSettingsError) as e:
            problems.extend(str(e).splitlines())
    return problems


def _check_settings(cfg: Config) -> list[str]:
    """The optional tables of the configuration that their modules validate."""
    problems: list[str] = []
    for check in (lambda: load_schedule_settings(cfg.extra), lambda: survey_settings(cfg),
                  lambda: closure_settings(cfg), lambda: min_share(cfg),
                  lambda: copies_settings(cfg)):
        try:
            check()
        except (ScheduleSettingsError, SurveySettingsError, KbSettingsError,
                CopiesSettingsError) as e:
            problems.append(config_problem_at_line(cfg.file, str(e)))
    for trust in (auth_settings, flood_settings):
        try:
            trust(cfg)
        except TrustSettingsError as e:  # its message names the file already
            problems.append(str(config_error_at_line(e)))
    return problems


def _auth_warnings(cfg: Config) -> list[str]:
    try:
        enabled = auth_settings(cfg).enabled
    except TrustSettingsError:
        return []  # reported as a problem by _check_settings
    return [] if enabled else [
        ("[auth] trusted_authserv_id не задан: подлинность отправителей не проверяется, письмо "
         "с поддельным адресом сотрудника будет принято (раздел 14 руководства администратора)")]


def _kb_review_days(cfg: Config | None) -> int:
    web = cfg.extra.get("web", {}) if cfg else {}
    days = web.get("kb_review_days", 365) if isinstance(web, dict) else 365
    return days if isinstance(days, int) and days > 0 else 365


def run_checks(config_path: Path, *, out: TextIO, today: date | None = None,
               connect: bool = False) -> int:
    problems: list[str] = []
    warnings: list[str] = []
    cfg: Config | None = None
    if config_path.exists():
        try:
            cfg = load_config(config_path)
            print(f"Настройки: {config_path} — в порядке.", file=out)
            warnings.extend(_auth_warnings(cfg))
        except ConfigError as e:
            problems.append(f"{e}")
    else:
        warnings.append(f"файл настроек {config_path} не найден; проверяются поставляемые правила")
    rules_dir = cfg.rules_dir if cfg else package_data_dir("rules")
    templates_dir = cfg.templates_dir if cfg else package_data_dir("templates")
    book = None
    try:
        book = load_rulebook(rules_dir)
        print(f"Правила: {rules_dir} — в порядке ({len(book.staff)} сотрудников).", file=out)
    except RuleBookError as e:
        problems.extend(str(e).splitlines())
    if book is not None:
        warnings.extend(book.calendar.warnings(today or date.today()))
    # the other files are checked even when the rule set is refused, so one run names every
    # problem; without a rule set the KB reads the logins from staff.toml itself
    kb_problems, kb_warnings = check_kb(rules_dir, today or date.today(), _kb_review_days(cfg),
                                         staff=book.staff if book is not None else None)
    problems.extend(kb_problems)
    warnings.extend(kb_warnings)
    processes = set(book.ruleset.process_labels) if book is not None else set(PROCESSES)
    problems.extend(_check_other_rules(rules_dir, processes))
    if book is not None:
        template_problems = _check_templates(templates_dir, book, cfg)
        template_problems += check_report_templates(templates_dir)
        problems.extend(template_problems)
        if not template_problems:
            print(f"Шаблоны: {templates_dir} — в порядке.", file=out)
    if cfg is not None:
        problems.extend(_check_settings(cfg))
    if cfg is not None:
        # the same checks as run/web
        for check in (cfg.keyring, cfg.mail_passwords, lambda: trusted_proxies(cfg)):
            try:
                check()
            except ConfigError as e:
                problems.append(str(config_error_at_line(e)))
    if connect and cfg is not None:
        from buhdesk.cli.connect import connection_findings

        for finding in connection_findings(cfg):
            if finding.ok:
                print(f"Соединение: {finding.text}.", file=out)
            else:
                problems.append(finding.text)
    elif connect:
        problems.append("--connect: без файла настроек проверять нечего")
    problems = list(dict.fromkeys(problems))  # a file two checks read is named once
    for w in warnings:
        print(f"ВНИМАНИЕ: {w}", file=out)
    for p in problems:
        print(f"ОШИБКА: {p}", file=out)
    if problems:
        print(f"Найдено ошибок: {len(problems)}.", file=out)
        return 1
    print("Проверка пройдена.", file=out)
    return 0
