"""Administrators' view of requests: ``buhdesk show NUMBER`` (the request's story),
``buhdesk find`` (search by client, words, number, process, need, state and dates),
``buhdesk merge`` and ``buhdesk split`` (see :mod:`buhdesk.agent.merging`).

Whoever runs the CLI holds the store (a local administrator): everything is visible.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from buhdesk.config import Config
from buhdesk.route.lifecycle import STATES
from buhdesk.trust.printsafe import safe_line

LoadConfig = Callable[[argparse.Namespace], Config]


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"нужна дата в виде ГГГГ-ММ-ДД, а указано «{value}»") from None


def cmd_show(args: argparse.Namespace, load: LoadConfig) -> int:
    from sqlmodel import Session

    from buhdesk.agent.story import build_story, find_by_number, story_json, story_lines
    from buhdesk.rules.book import load_rulebook
    from buhdesk.store.engine import opened_store

    config = load(args)
    rules = load_rulebook(config.rules_dir)
    tz = config.service.tz
    with opened_store(config.store.url) as engine, Session(engine) as session:
        request = find_by_number(session, args.number)
        if request is None:
            print(f"Ошибка: обращение {args.number.strip().upper()} не найдено.", file=sys.stderr)
            return 1
        story = build_story(session, rules, request)
        if args.json:
            print(json.dumps(story_json(rules, story, tz), ensure_ascii=False, indent=2))
        else:
            for line in story_lines(rules, story, tz):
                print(safe_line(line))
    return 0


def cmd_find(args: argparse.Namespace, load: LoadConfig) -> int:
    from sqlmodel import Session

    from buhdesk.agent.find import FindError, Query, find_requests, found_line
    from buhdesk.rules.book import load_rulebook
    from buhdesk.store.engine import opened_store

    config = load(args)
    rules = load_rulebook(config.rules_dir)
    tz = config.service.tz
    for code, labels, what in ((args.process, rules.ruleset.process_labels, "процесса"),
                               (args.need, rules.ruleset.need_labels, "потребности")):
        if code is not None and code not in labels:
            print(f"Ошибка: неизвестный код {what} «{code}»; допустимые: "
                  f"{', '.join(sorted(labels))}.", file=sys.stderr)
            return 2
    query = Query(words=" ".join(args.words), client=args.client or "", number=args.number or "",
                  process=args.process, need=args.need, states=tuple(args.state or ()),
                  since=args.since, until=args.until, limit=args.limit)
    with opened_store(config.store.url) as engine, Session(engine) as session:
        try:
            found = find_requests(session, rules.ruleset.classifier.lemmatizer, query, tz=tz)
        except FindError as e:
            print(f"Ошибка: {e}.", file=sys.stderr)
            return 2
        if args.json:
            items: list[dict[str, Any]] = [{**f.to_dict(tz), "matched_words": list(f.words)}
                                           for f in found]
            print(json.dumps(items, ensure_ascii=False, indent=2))
            return 0
        names = {login: m.name for login, m in rules.staff.items()}
        for item in found:
            print(safe_line(found_line(item, tz, names)))
    print(f"Найдено обращений: {len(found)}" + (f" (показаны первые {args.limit}; уточните "
                                                "запрос или увеличьте --limit)"
                                                if len(found) >= args.limit else "") + ".")
    return 0


def cmd_merge(args: argparse.Namespace, load: LoadConfig) -> int:
    from buhdesk.agent.merging import MergeError, merge_numbers
    from buhdesk.service.runtime import command_runtime

    try:
        with command_runtime(load(args)) as rt:
            into = merge_numbers(rt, args.into, args.others,
                                 actor=args.login or getpass.getuser())
    except MergeError as e:
        print(f"Ошибка: {e}. Ничего не объединено.", file=sys.stderr)
        return 1
    others = ", ".join(n.strip().upper() for n in args.others)
    print(f"К обращению {into.number} присоединено: {others}. Клиентам присоединённых "
          "обращений поставлено в очередь уведомление об объединении (его отправит служба).")
    return 0


def cmd_split(args: argparse.Namespace, load: LoadConfig) -> int:
    from buhdesk.agent.merging import MergeError, split_number
    from buhdesk.service.runtime import command_runtime

    config = load(args)
    try:
        with command_runtime(config) as rt:
            other = split_number(rt, args.number, args.letters,
                                 actor=args.login or getpass.getuser())
    except MergeError as e:
        print(f"Ошибка: {e}.", file=sys.stderr)
        return 1
    due = other.due_at
    when = due.astimezone(config.service.tz).strftime("%d.%m.%Y %H:%M") if due else "не установлен"
    print(f"Письма выделены в обращение {other.number} (исполнитель: "
          f"{other.assignee or 'не назначен'}, срок ответа: {when}).")
    return 0


def register(sub: Any, load_config: LoadConfig) -> None:
    """Add ``show`` and ``find`` to the main sub-parsers."""
    sh = sub.add_parser("show", help="история обращения",
                        description="История обращения: письма (с первыми строками), "
                                    "назначения и их причины, сроки, команды, возвраты ответов "
                                    "с замечаниями, заметки, опрос.")
    sh.add_argument("number", help="номер обращения, например БУХ-2026-000123")
    sh.add_argument("--json", action="store_true", help="вывод в JSON для сценариев")
    sh.set_defaults(func=lambda a: cmd_show(a, load_config))

    fd = sub.add_parser("find", help="поиск обращений",
                        description="Поиск обращений; условия складываются. Слова ищутся в "
                                    "теме и текстах писем клиента в любых формах («справку» "
                                    "найдёт «справка», «справки»).")
    fd.add_argument("words", nargs="*", help="слова, которые должны встретиться")
    fd.add_argument("--client", help="адрес или имя клиента (часть)")
    fd.add_argument("--number", help="номер обращения (часть)")
    fd.add_argument("--process", help="код процесса (payroll, travel, …)")
    fd.add_argument("--need", help="код потребности")
    fd.add_argument("--state", action="append", choices=STATES,
                    help="состояние (можно несколько раз)")
    fd.add_argument("--since", type=_day, help="поступило не раньше (ГГГГ-ММ-ДД)")
    fd.add_argument("--until", type=_day, help="поступило не позже (ГГГГ-ММ-ДД)")
    fd.add_argument("--limit", type=int, default=50, help="сколько показать (по умолчанию 50)")
    fd.add_argument("--json", action="store_true", help="вывод в JSON для сценариев")
    fd.set_defaults(func=lambda a: cmd_find(a, load_config))

    mg = sub.add_parser("merge", help="объединить обращения",
                        description="Присоединить повторные обращения к основному: их письма "
                                    "клиента и вложения переходят в основное, клиентам "
                                    "присоединённых отправляется одно уведомление, опрос и "
                                    "показатели сроков учитывают основное обращение один раз.")
    mg.add_argument("into", metavar="ОСНОВНОЕ", help="номер обращения, которое остаётся")
    mg.add_argument("others", nargs="+", metavar="ПОВТОРНОЕ",
                    help="номера обращений, которые к нему присоединяются")
    mg.add_argument("--as", dest="login", help="логин сотрудника, от имени которого объединяют")
    mg.set_defaults(func=lambda a: cmd_merge(a, load_config))

    sp = sub.add_parser("split", help="выделить письма в отдельное обращение",
                        description="Выделить письма клиента из обращения. Если это ровно те "
                                    "письма, что пришли с присоединённым обращением, оно "
                                    "восстанавливается; иначе письма становятся новым "
                                    "обращением (с подтверждением клиенту). Номера писем "
                                    "показывает «buhdesk show НОМЕР».")
    sp.add_argument("number", metavar="НОМЕР", help="обращение, из которого выделяются письма")
    sp.add_argument("letters", nargs="+", type=int, metavar="ПИСЬМО",
                    help="номера писем (в квадратных скобках в «buhdesk show»)")
    sp.add_argument("--as", dest="login", help="логин сотрудника, от имени которого выделяют")
    sp.set_defaults(func=lambda a: cmd_split(a, load_config))
