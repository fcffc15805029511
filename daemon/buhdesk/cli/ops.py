"""Operators' commands: ``purge`` (retention), ``backup``, ``restore`` and ``metrics``.

``cli.py`` calls ``register(sub, load_config)``; each command prints Russian for people and, where
a script would read it, JSON with stable keys.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from buhdesk.cli.parser import RussianArgumentParser
from buhdesk.config import Config

LoadConfig = Callable[[argparse.Namespace], Config]


def register(sub: argparse._SubParsersAction[RussianArgumentParser],
             load_config: LoadConfig) -> None:
    """Add the operators' subcommands to the ``buhdesk`` parser."""

    def add(name: str, func: Callable[[Config, argparse.Namespace, TextIO], int],
            help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text,
                                                         description=help_text)
        parser.set_defaults(func=lambda args: _guarded(func, load_config(args), args))
        return parser

    pg = add("purge", cmd_purge, "уничтожить персональные данные давно закрытых обращений и "
             "старых писем без обращения (152-ФЗ) и составить акт")
    pg.add_argument("--older-than-days", type=int, default=None, metavar="N",
                    help="срок хранения после закрытия обращения (для писем без обращения — "
                         "после получения), дней (по умолчанию 1095 — три года)")
    pg.add_argument("--dry-run", action="store_true", help="только показать, что будет уничтожено")
    pg.add_argument("--act-dir", type=Path, default=None, metavar="DIR",
                    help="куда записать акт (по умолчанию каталог acts рядом с базой вложений)")
    pg.add_argument("--json", action="store_true", help="вывод в JSON для сценариев")
    bk = add("backup", cmd_backup,
             "сделать резервную копию базы и вложений (служба может работать)")
    bk.add_argument("dest", type=Path, help="новый или пустой каталог для копии")
    rs = add("restore", cmd_restore, "восстановить базу и вложения из резервной копии "
             "(остановите службу)")
    rs.add_argument("src", type=Path, help="каталог резервной копии")
    rs.add_argument("--force", action="store_true", help="перезаписать непустое хранилище")
    add("metrics", cmd_metrics, "вывести метрики Prometheus один раз")


def _guarded(func: Callable[[Config, argparse.Namespace, TextIO], int], config: Config,
             args: argparse.Namespace) -> int:
    from buhdesk.schedule.retention import PurgeError
    from buhdesk.store.backup import BackupError

    try:
        return func(config, args, sys.stdout)
    except (BackupError, PurgeError) as e:
        print(f"Ошибка: {e}", file=sys.stderr)
        return 1


def _retention_days(args: argparse.Namespace) -> int:
    from buhdesk.schedule.retention import DEFAULT_DAYS, PurgeError

    days = DEFAULT_DAYS if args.older_than_days is None else args.older_than_days
    if days < 1:
        raise PurgeError("срок хранения (--older-than-days) должен быть не меньше 1 дня")
    return int(days)


def cmd_purge(config: Config, args: argparse.Namespace, out: TextIO) -> int:
    from buhdesk.schedule.copies import copy_keepers
    from buhdesk.schedule.retention import copies_summary, counted, plan_purge, purge
    from buhdesk.store.blobs import BlobStore
    from buhdesk.store.engine import opened_store

    older_than = timedelta(days=_retention_days(args))
    now = datetime.now(UTC)
    tz = config.service.tz
    act_files: list[str] = []
    with opened_store(config.store.url) as engine:
        if args.dry_run:
            items, files_deleted = plan_purge(engine, older_than, now), 0
        else:
            act_dir = args.act_dir or Path(config.store.blobs).parent / "acts"
            act = purge(engine, BlobStore(config.store.blobs), older_than, now, act_dir, tz=tz,
                        copies=copy_keepers(config))
            items, files_deleted = act.items, act.files_deleted
            act_files = [str(p) for p in (act.csv_path, act.xlsx_path) if p is not None]
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "older_than_days": older_than.days,
                          "items": [i.to_dict() for i in items], "files_deleted": files_deleted,
                          "act": act_files}, ensure_ascii=False), file=out)
        return 0
    for item in items:
        when = "закрыто" if item.request_id is not None else "последнее письмо"
        print(f"{item.number}\t{when} {item.closed_at.astimezone(tz):%d.%m.%Y}\t{item.what()}",
              file=out)
    if args.dry_run:
        print(f"Пробный запуск, ничего не изменено. Подлежат уничтожению данные "
              f"{counted(items)} (закрыты или получены более {older_than.days} дн. назад); "
              "их копии в почтовых ящиках и пакеты «ДелоПро» будут удалены вместе с ними.",
              file=out)
    elif items:
        print(f"Уничтожены данные {counted(items)}; удалено файлов вложений: "
              f"{files_deleted}{copies_summary(items)}.\nАкт: {', '.join(act_files)}", file=out)
    else:
        print(f"Нет ни обращений, закрытых более {older_than.days} дн. назад, ни писем без "
              "обращения старше этого срока с неуничтоженными данными. Акт не составлялся.",
              file=out)
    return 0


def cmd_backup(config: Config, args: argparse.Namespace, out: TextIO) -> int:
    from buhdesk.store.backup import backup

    m = backup(config, args.dest)
    print(f"Резервная копия записана в {args.dest}: база {m.database} ({m.size} байт, "
          f"SHA-256 {m.sha256[:16]}…), обращений: {m.counts.get('requests', 0)}, "
          f"сообщений: {m.counts.get('messages', 0)}, файлов вложений: {m.blobs.files}.", file=out)
    if m.missing_blobs:
        print(f"Внимание: нет файлов вложений: {len(m.missing_blobs)} (см. manifest.json, "
              "поле missing_blobs).", file=out)
    return 0


def cmd_restore(config: Config, args: argparse.Namespace, out: TextIO) -> int:
    from buhdesk.store.backup import restore

    r = restore(config, args.src, force=args.force)
    print(f"Восстановлено из {args.src} в {r.target}: обращений: "
          f"{r.manifest.counts.get('requests', 0)}, сообщений: "
          f"{r.manifest.counts.get('messages', 0)}, файлов вложений: {r.blobs.files}. "
          "Запустите службу: миграции схемы выполнятся при старте.", file=out)
    return 0


def cmd_metrics(config: Config, args: argparse.Namespace, out: TextIO) -> int:
    from buhdesk.service.metrics import collect, render
    from buhdesk.store.engine import opened_store

    with opened_store(config.store.url) as engine:
        out.write(render(collect(engine)))
    return 0
