"""Administrators' commands: `buhdesk correct`, `buhdesk absences import|list`, `buhdesk list`.

They need the store and the rules only (no secret): labels, staff and codes come from ``rules/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from buhdesk.config import Config
from buhdesk.route.lifecycle import OPEN_STATES, STATES
from buhdesk.store.moments import as_utc
from buhdesk.trust.printsafe import safe_json, safe_line

if TYPE_CHECKING:  # the commands import what they use: `buhdesk --help` starts fast
    from sqlalchemy.engine import Engine

    from buhdesk.rules.book import RuleBook
    from buhdesk.store.models import Request, Undeliverable

LoadConfig = Callable[[argparse.Namespace], Config]
OWED_STATES = ("new", "assigned", "held")  # the deadline still runs (as in the digest)
STATE_TEXT = {
    "new": "новое", "assigned": "в работе", "answered": "дан ответ",
    "waiting": "ждёт сведений от клиента", "closed": "закрыто", "held": "задержано",
    "merged": "присоединено к другому",
}


@contextmanager
def _store_and_rules(config: Config) -> Iterator[tuple[Engine, RuleBook]]:
    """The store (closed afterwards) and the rules of ``config``."""
    from buhdesk.rules.book import load_rulebook
    from buhdesk.store.engine import opened_store

    rules = load_rulebook(config.rules_dir)
    with opened_store(config.store.url) as engine:
        yield engine, rules


# --- correct -----------------------------------------------------------------------------------

def cmd_correct(args: argparse.Namespace, load: LoadConfig) -> int:
    with _store_and_rules(load(args)) as (engine, rules):
        return _correct(args, engine, rules)


def _correct(args: argparse.Namespace, engine: Engine, rules: RuleBook) -> int:
    from sqlmodel import Session

    from buhdesk.route.corrections import CorrectionError, correct_request

    if args.as_login is not None and args.as_login not in rules.staff:
        print(f"Ошибка: сотрудник с логином «{args.as_login}» не найден в списке сотрудников.",
              file=sys.stderr)
        return 2
    with Session(engine) as session:
        try:
            c = correct_request(session, rules, args.number, process=args.process,
                                need=args.need, actor=args.as_login or "admin",
                                note=args.note or "")
        except CorrectionError as e:
            print(f"Ошибка: {e}.", file=sys.stderr)
            return 2
        session.commit()
    print(f"Обращение {c.number} исправлено ({c.actor}):")
    if c.process_changed:
        print(f"   процесс: {rules.process_label(c.old_process)} → "
              f"{rules.process_label(c.new_process)}")
    if c.need_changed:
        print(f"   потребность: {rules.need_label(c.old_need)} → {rules.need_label(c.new_need)}")
    print("   Исправление записано в журнал и войдёт в отчёт «buhdesk report routing». "
          "Исполнитель не изменён; передать обращение: buhdesk transfer НОМЕР ЛОГИН.")
    return 0


# --- absences ----------------------------------------------------------------------------------

def cmd_absences_import(args: argparse.Namespace, load: LoadConfig) -> int:
    with _store_and_rules(load(args)) as (engine, rules):
        return _import(args, engine, rules)


def _import(args: argparse.Namespace, engine: Engine, rules: RuleBook) -> int:
    from sqlmodel import Session

    from buhdesk.route.absences import import_absences
    from buhdesk.rules.ruleset import RuleSetError

    path = Path(args.file)
    if not path.is_file():
        print(f"Ошибка: файл {path} не найден.", file=sys.stderr)
        return 2
    try:
        with Session(engine) as session:
            found = import_absences(session, path, staff=rules.staff)
            session.commit()
    except RuleSetError as e:
        print(f"Табель {path} не загружен, ошибок: {len(e.problems)}.", file=sys.stderr)
        for p in e.problems:
            where = f"{path}, строка {p.line}" if p.line else str(path)
            print(f"   {where}: {p.message}", file=sys.stderr)
        return 1
    print(f"Из файла {path.name} загружено отсутствий: {len(found)} "
          "(прежние записи из файла с тем же именем заменены).")
    for a in sorted(found, key=lambda a: (a.start, a.login)):
        print(f"   {_who(rules, a.login)}: {a.reason}, {a.start:%d.%m.%Y}–{a.end:%d.%m.%Y}")
    return 0


def _who(rules: RuleBook, login: str | None) -> str:
    if not login:
        return "—"
    member = rules.staff.get(login)
    return f"{login} ({member.name})" if member else login


def cmd_absences_list(args: argparse.Namespace, load: LoadConfig) -> int:
    from sqlalchemy import select
    from sqlmodel import Session, col

    from buhdesk.store.models import Absence as AbsenceRow

    with _store_and_rules(load(args)) as (engine, rules), Session(engine) as session:
        rows = list(session.execute(select(AbsenceRow).order_by(
            col(AbsenceRow.start), col(AbsenceRow.login))).scalars())
    entries = [("из табеля " + r.origin if r.origin else "из базы", r.login, r.start, r.end,
                r.reason) for r in rows]
    entries += [(f"из правил ({rules.directory.name}/absences.csv)", a.login, a.start, a.end,
                 a.reason) for a in rules.ruleset.absences]
    if args.json:
        for origin, login, start, end, reason in entries:
            print(json.dumps({"login": login, "start": start.isoformat(), "end": end.isoformat(),
                              "reason": reason, "origin": origin}, ensure_ascii=False))
        return 0
    if not entries:
        print("Отсутствий не записано.")
        return 0
    for origin, login, start, end, reason in sorted(entries, key=lambda e: (e[2], e[1])):
        print(f"{start:%d.%m.%Y}–{end:%d.%m.%Y}\t{_who(rules, login)}\t{reason}\t{origin}")
    print(f"Всего: {len(entries)}.")
    return 0


# --- list --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ListedRequest:
    number: str
    state: str
    state_label: str
    client_email: str | None
    client_name: str
    subject: str
    process: str | None
    process_label: str
    need: str | None
    need_label: str
    assignee: str | None
    assignee_name: str
    due_at: str | None  # ISO 8601 in the service's zone
    due_text: str  # ДД.ММ.ГГГГ ЧЧ:ММ in the service's zone, or «срок не установлен»
    overdue: bool
    undeliverable: str | None = None  # the server's reason when our letters to the client bounce


def list_requests(engine: Engine, rules: RuleBook, tz: ZoneInfo, *,
                  states: Sequence[str] = OPEN_STATES, assignee: str | None = None,
                  overdue: bool = False, now: datetime | None = None) -> list[ListedRequest]:
    """Requests in ``states`` (open ones by default), soonest deadline first."""
    from sqlalchemy import select
    from sqlmodel import Session, col

    from buhdesk.route.bounces import undeliverable
    from buhdesk.store.models import Request

    now = now or datetime.now(UTC)
    stmt = select(Request).where(col(Request.state).in_(tuple(states)))
    if overdue:  # in SQL: the store's open requests are not all read to show the late ones
        stmt = stmt.where(col(Request.state).in_(OWED_STATES), col(Request.due_at) < now)
    if assignee:
        stmt = stmt.where(col(Request.assignee) == assignee)
    with Session(engine) as session:
        rows = list(session.execute(stmt.order_by(col(Request.id))).scalars())
        bounced = undeliverable(session, [r.client_email or "" for r in rows])
    rows.sort(key=lambda r: (r.due_at is None, as_utc(r.due_at) if r.due_at else now, r.number))
    items = [_listed(rules, tz, r, now, bounced) for r in rows]
    return [i for i in items if i.overdue] if overdue else items


def _listed(rules: RuleBook, tz: ZoneInfo, r: Request, now: datetime,
            bounced: Mapping[str, Undeliverable]) -> ListedRequest:
    due = as_utc(r.due_at).astimezone(tz) if r.due_at else None
    mark = bounced.get((r.client_email or "").lower())
    late = due is not None and r.state in OWED_STATES and due < now
    member = rules.staff.get(r.assignee) if r.assignee else None
    return ListedRequest(
        number=r.number, state=r.state, state_label=STATE_TEXT.get(r.state, r.state),
        client_email=r.client_email, client_name=r.client_name, subject=r.subject,
        process=r.process, process_label=rules.process_label(r.process),
        need=r.need, need_label=rules.need_label(r.need),
        assignee=r.assignee, assignee_name=member.name if member else "",
        due_at=due.isoformat() if due else None,
        due_text=f"{due:%d.%m.%Y %H:%M}" if due else "срок не установлен", overdue=late,
        undeliverable=(mark.reason or "отчёт о недоставке") if mark else None,
    )


def _print_listed(i: ListedRequest) -> None:
    client = safe_line(f"{i.client_name} <{i.client_email}>" if i.client_name
                       else (i.client_email or "—"))
    who = f"{i.assignee} ({i.assignee_name})" if i.assignee_name else (i.assignee or
                                                                       "без исполнителя")
    late = " — ПРОСРОЧЕНО" if i.overdue else ""
    print(f"{i.number}\tсрок: {i.due_text}{late}\t{i.state_label}\t{who}\n"
          f"\tклиент: {client}; «{safe_line(i.subject)}»\n"
          f"\tпроцесс: {i.process_label}; потребность: {i.need_label}")
    if i.undeliverable:
        print(f"\tписьма клиенту не доставляются: {safe_line(i.undeliverable)}")


def cmd_list(args: argparse.Namespace, load: LoadConfig) -> int:
    config = load(args)
    with _store_and_rules(config) as (engine, rules):
        if args.assignee and args.assignee not in rules.staff:
            print(f"Ошибка: сотрудник с логином «{args.assignee}» не найден в списке "
                  "сотрудников.", file=sys.stderr)
            return 2
        items = list_requests(engine, rules, config.service.tz,
                              states=args.state or OPEN_STATES, assignee=args.assignee,
                              overdue=args.overdue)
    if args.json:
        for item in items:
            print(safe_json(asdict(item)))
        return 0
    if not items:
        print("Обращений не найдено.")
        return 0
    for item in items:
        _print_listed(item)
    late = sum(i.overdue for i in items)
    print(f"Всего: {len(items)}, из них просрочено: {late}. Сроки — по времени "
          f"{config.service.timezone}.")
    return 0


# --- registration ------------------------------------------------------------------------------

def register(sub: Any, load_config: LoadConfig) -> None:
    """Add ``correct``, ``absences`` and ``list`` to the main sub-parsers."""
    c = sub.add_parser("correct", help="исправить процесс или потребность обращения",
                       description="Исправить процесс или потребность обращения; исправление "
                                   "записывается в журнал и учитывается в отчёте routing.")
    c.add_argument("number", help="номер обращения, например БУХ-2026-000123")
    c.add_argument("--process", help="код верного процесса (payroll, travel, …)")
    c.add_argument("--need", help="код верной потребности (information, consultation, …)")
    c.add_argument("--as", dest="as_login", help="логин сотрудника, который исправляет")
    c.add_argument("--note", help="пояснение для журнала")
    c.set_defaults(func=lambda a: cmd_correct(a, load_config))

    ab = sub.add_parser("absences", help="отсутствия сотрудников",
                        description="Загрузка табеля отсутствий и список отсутствий.")
    ab_sub = ab.add_subparsers(dest="absences_command", required=True, metavar="КОМАНДА")
    imp = ab_sub.add_parser("import", help="загрузить табель отсутствий (CSV кадровой службы)")
    imp.add_argument("file", help="файл CSV: Логин или ФИО; Дата начала; Дата окончания; …")
    imp.set_defaults(func=lambda a: cmd_absences_import(a, load_config))
    ls = ab_sub.add_parser("list", help="список отсутствий")
    ls.add_argument("--json", action="store_true", help="по объекту JSON на строку")
    ls.set_defaults(func=lambda a: cmd_absences_list(a, load_config))

    lst = sub.add_parser("list", help="открытые обращения со сроками",
                         description="Обращения с исполнителем и сроком ответа.")
    lst.add_argument("--state", action="append", choices=STATES,
                     help="состояние (можно несколько раз); по умолчанию — все открытые")
    lst.add_argument("--assignee", help="логин исполнителя")
    lst.add_argument("--overdue", action="store_true", help="только просроченные")
    lst.add_argument("--json", action="store_true", help="по объекту JSON на строку")
    lst.set_defaults(func=lambda a: cmd_list(a, load_config))
