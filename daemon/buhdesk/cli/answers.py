"""`buhdesk textcheck` and `buhdesk reply`: the answer check and answering from the command line."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from buhdesk.cli.parser import RussianArgumentParser
from buhdesk.config import Config, ConfigError, package_data_dir

if TYPE_CHECKING:  # the commands import what they use: `buhdesk --help` starts fast
    from sqlmodel import Session

    from buhdesk.store.models import Request

LoadConfig = Callable[[argparse.Namespace], Config]


def cmd_textcheck(args: argparse.Namespace, load: LoadConfig) -> int:
    from buhdesk.textcheck import TextChecker

    try:
        config: Config | None = load(args)
    except ConfigError:  # no configuration here: the shipped rules
        config = None
    checker = TextChecker.load(config.rules_dir if config else package_data_dir("rules"))
    if config is not None:  # the installation's dictionary, as the daemon's check has it
        checker = checker.with_names(_installation_words(config))
    found_any = False
    for name in args.files:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        findings = checker.check(text)
        found_any = found_any or bool(findings)
        if args.json:
            print(json.dumps({"file": name, "findings": [f.to_dict() for f in findings]},
                             ensure_ascii=False))
            continue
        print(f"== {name}: замечаний {len(findings)}")
        for f in findings:
            hint = f" Варианты: {', '.join(f.suggestions)}." if f.suggestions else ""
            line = text.count("\n", 0, f.start) + 1
            advice = "" if f.blocking else " (совет, ответ не задерживает)"
            print(f"   строка {line}: «{f.text}» — {f.message}{hint}{advice}")
    return 1 if found_any and args.strict else 0


def _installation_words(config: Config) -> list[str]:
    """The service's name and the words accountants added with «#слово»."""
    from buhdesk.textcheck.learned import StoreUnreadable, read_learned_words

    try:
        learned = read_learned_words(config.store.url)
    except StoreUnreadable as e:
        print(f"Предупреждение: слова, добавленные бухгалтерами («#слово»), не прочитаны из "
              f"хранилища: {e}", file=sys.stderr)
        learned = []
    return [config.service.name, *learned]


def _find_request(session: Session, number: str) -> Request:
    from sqlalchemy import select
    from sqlmodel import col

    from buhdesk.store.models import Request

    request: Request | None = session.execute(
        select(Request).where(col(Request.number) == number)).scalars().first()
    if request is None:
        raise SystemExit(f"Обращение {number} не найдено.")
    return request


def cmd_reply(args: argparse.Namespace, load: LoadConfig) -> int:
    from sqlmodel import Session

    from buhdesk.reply.answers import Commands, process_answer
    from buhdesk.service.runtime import command_runtime
    from buhdesk.store.models import Event

    text = sys.stdin.read() if args.text == "-" else Path(args.text).read_text(encoding="utf-8")
    commands = Commands(close=args.close, wait=args.wait, force=args.force)
    with command_runtime(load(args)) as rt, Session(rt.engine) as session:
        request = _find_request(session, args.number)
        login: str | None = args.as_login or request.assignee
        if login is None or login not in rt.rules.staff:
            print(f"Ошибка: сотрудник «{login}» не найден; укажите --as ЛОГИН.", file=sys.stderr)
            return 2
        # An operator path: whoever runs the CLI holds the store and the secret (a local
        # administrator), so no entitlement is checked; the trail names the account that ran it.
        session.add(Event(request_id=request.id, stage="reply", action="operator-command",
                          actor=f"cli:{getpass.getuser()}",
                          detail=json.dumps({"command": "reply", "as": login},
                                            ensure_ascii=False)))
        findings = process_answer(session, rt, request, login, text.strip(), commands)
        session.commit()
    if any(f.blocking for f in findings) and not args.force:
        print(f"Ответ не отправлен: замечаний {len(findings)}. Письмо с замечаниями отправлено "
              f"сотруднику {login}. Исправьте текст или добавьте --force.")
        for f in findings:
            print(f"   «{f.text}» — {f.message}")
        return 1
    print(f"Ответ по обращению {args.number} поставлен в очередь на отправку.")
    return 0


def cmd_transfer(args: argparse.Namespace, load: LoadConfig) -> int:
    from sqlmodel import Session

    from buhdesk.reply.answers import TransferError, transfer
    from buhdesk.service.runtime import command_runtime

    with command_runtime(load(args)) as rt, Session(rt.engine) as session:
        request = _find_request(session, args.number)
        try:
            transfer(session, rt, request, args.login, actor=args.actor)
        except TransferError as e:
            print(f"Ошибка: {e}", file=sys.stderr)
            return 2
        session.commit()
    print(f"Обращение {args.number} передано сотруднику {args.login}.")
    return 0


def register(sub: argparse._SubParsersAction[RussianArgumentParser],
             load: LoadConfig) -> None:
    tc = sub.add_parser("textcheck", help="проверить текст ответа на ошибки",
                        description="Проверка орфографии, пунктуации и стиля текста.")
    tc.add_argument("files", nargs="+", help="файлы с текстом (UTF-8) или - для stdin")
    tc.add_argument("--json", action="store_true", help="по объекту JSON на файл")
    tc.add_argument("--strict", action="store_true", help="код выхода 1, если есть замечания")
    tc.set_defaults(func=lambda a: cmd_textcheck(a, load))
    rp = sub.add_parser("reply", help="ответить на обращение из командной строки",
                        description="Ответ клиенту по форме ответа, с той же проверкой текста.")
    rp.add_argument("number", help="номер обращения, например БУХ-2026-000123")
    rp.add_argument("--text", default="-", help="файл с текстом ответа (по умолчанию stdin)")
    rp.add_argument("--as", dest="as_login", help="логин отвечающего (по умолчанию исполнитель)")
    rp.add_argument("--close", action="store_true", help="закрыть обращение после отправки")
    rp.add_argument("--wait", action="store_true", help="ждать сведений от клиента")
    rp.add_argument("--force", action="store_true",
                    help="отправить несмотря на замечания (записывается в журнал)")
    rp.set_defaults(func=lambda a: cmd_reply(a, load))
    tr = sub.add_parser("transfer", help="передать обращение другому сотруднику")
    tr.add_argument("number")
    tr.add_argument("login")
    tr.add_argument("--actor", default="admin", help="кто передаёт (для журнала)")
    tr.set_defaults(func=lambda a: cmd_transfer(a, load))
