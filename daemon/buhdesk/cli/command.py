"""The `buhdesk` command: the daemon, checks, dry runs and the administrators' tools.

Output people read is Russian; `--json` output is for scripts and keeps its keys stable.
Modules here import only what building the parser needs; each command imports the rest when it
runs, so that `buhdesk --help` and a one-file `textcheck` start at once (bench/startup.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from buhdesk.cli import admin as cli_admin
from buhdesk.cli import agent as cli_agent
from buhdesk.cli import answers as cli_answers
from buhdesk.cli import learn as cli_learn
from buhdesk.cli import letters as cli_letters
from buhdesk.cli import ops as cli_ops
from buhdesk.cli import reports as cli_reports
from buhdesk.cli import survey as cli_survey
from buhdesk.cli.failures import Exit
from buhdesk.config import Config, load_config, package_data_dir

DEFAULT_CONFIG = Path("/etc/buhdesk/buhdesk.toml")
log = logging.getLogger("buhdesk")


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("BUHDESK_CONFIG") or DEFAULT_CONFIG)


def _load(args: argparse.Namespace) -> Config:
    return load_config(_config_path(args))


def _setup_logging(level: str | None, command: str) -> None:
    """One line per event on stderr (journald adds the time); the daemon logs INFO, tools
    WARNING."""
    default = "INFO" if command == "run" else "WARNING"
    logging.basicConfig(
        level=getattr(logging, (level or default).upper(), logging.INFO),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("pymorphy3").setLevel(logging.WARNING)


def cmd_run(args: argparse.Namespace) -> int:
    from buhdesk.service.main import run_daemon

    return run_daemon(_load(args), once=args.once)


def cmd_check(args: argparse.Namespace) -> int:
    from buhdesk.cli.check import run_checks

    return run_checks(_config_path(args), out=sys.stdout, connect=args.connect)


def cmd_demo(args: argparse.Namespace) -> int:
    from buhdesk.cli.demo import run_demo

    return run_demo(Path(args.workspace), out=sys.stdout, fresh=not args.keep)


def cmd_explain(args: argparse.Namespace) -> int:
    from buhdesk.cli.explain import run_explain

    at = datetime.fromisoformat(args.at) if args.at else None
    if at is not None and at.tzinfo is None:
        at = at.astimezone()
    path = _config_path(args)
    return run_explain([Path(f) for f in args.files], config=path if path.exists() else None,
                       as_json=args.json, at=at, out=sys.stdout)


def cmd_held(args: argparse.Namespace) -> int:
    from buhdesk.intake.quarantine import held_items
    from buhdesk.store.engine import opened_store
    from buhdesk.trust.printsafe import safe_json, safe_line

    with opened_store(_load(args).store.url) as engine:
        items = held_items(engine)
    if args.json:
        for item in items:
            print(safe_json(item.to_dict()))
        return 0
    if not items:
        print("Задержанных сообщений нет.")
        return 0
    for it in items:
        where = f"{it.source}:{it.key}" if it.direction == "in" else f"→ {it.recipients}"
        kind = "входящее" if it.direction == "in" else "исходящее"
        print(f"{it.id}\t{kind}\t{safe_line(where)}\t{safe_line(it.sender)}\t"
              f"«{safe_line(it.subject)}»\n\tпричина: {safe_line(it.reason)}")
    print(f"Всего: {len(items)}. Повторить обработку: buhdesk requeue ID")
    return 0


def cmd_requeue(args: argparse.Namespace) -> int:
    from buhdesk.intake.quarantine import RequeueError, requeue
    from buhdesk.store.engine import opened_store

    status = 0
    with opened_store(_load(args).store.url) as engine:
        for mid in args.ids:
            try:
                msg = requeue(engine, mid)
            except RequeueError as e:
                print(f"Ошибка: {e}", file=sys.stderr)
                status = 1
                continue
            print(f"Сообщение {msg.id} возвращено в обработку.")
    return status


def build_parser(*, report_kinds: bool = True) -> argparse.ArgumentParser:
    """The whole command line; without ``report_kinds`` the kinds under ``report`` (whose
    modules are heavy to import) are left out, for commands other than ``report``."""
    from buhdesk.cli.parser import RussianArgumentParser

    p = RussianArgumentParser(prog="buhdesk", description="buhdesk: обращения в бухгалтерию")
    p.add_argument("--config",
                   help=f"файл настроек (по умолчанию $BUHDESK_CONFIG или {DEFAULT_CONFIG})")
    p.add_argument("--debug", action="store_true",
                   help="при ошибке показать трассировку (для разработчиков)")
    p.add_argument("--log-level", default=os.environ.get("BUHDESK_LOG_LEVEL"),
                   help="DEBUG, INFO, WARNING, ERROR (по умолчанию INFO для run, иначе WARNING)")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int],
            help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=func)
        return sp

    run = add("run", cmd_run, "запустить службу")
    run.add_argument("--once", action="store_true", help="обработать то, что есть, и завершиться")
    chk = add("check", cmd_check, "проверить настройки, правила и шаблоны")
    chk.add_argument("--connect", action="store_true",
                     help="также войти в каждый почтовый ящик и на SMTP-сервер и проверить "
                          "права на папки (почта, «ДелоПро»)")
    demo = add("demo", cmd_demo, "создать демонстрационное рабочее место и обработать примеры")
    demo.add_argument("workspace", nargs="?", default="buhdesk-demo")
    demo.add_argument("--keep", action="store_true", help="не очищать существующее рабочее место")
    ex = add("explain", cmd_explain, "показать, что buhdesk сделает с письмом, ничего не меняя")
    ex.add_argument("files", nargs="+",
                    help="файлы писем (RFC 822, .eml или mbox) или пакеты «ДелоПро»")
    ex.add_argument("--json", action="store_true", help="по объекту JSON на файл")
    ex.add_argument("--at", help="момент поступления (ISO 8601) для расчёта срока")
    held = add("held", cmd_held, "список задержанных сообщений")
    held.add_argument("--json", action="store_true")
    rq = add("requeue", cmd_requeue, "вернуть задержанное сообщение в обработку")
    rq.add_argument("ids", nargs="+", type=int)
    cli_answers.register(sub, _load)
    cli_ops.register(sub, _load)
    cli_admin.register(sub, _load)
    cli_agent.register(sub, _load)
    cli_learn.register(sub, _load)
    cli_letters.register(sub, _load)
    cli_survey.register(sub, _load)
    reports = cli_reports.register(sub, _load)
    if report_kinds:
        from buhdesk.kb.report import register_kb_report
        from buhdesk.reports.routing import register_routing_report

        cli_survey.register_reports(reports)
        register_kb_report(reports)
        register_routing_report(reports)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug anywhere on the line (`buhdesk run --once --debug` too), not only before the command
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    args = build_parser(report_kinds="report" in argv).parse_args(argv)
    _setup_logging(args.log_level, args.command)
    try:
        return int(args.func(args))
    except Exception as e:  # noqa: BLE001 - every failure ends in one sentence, never a traceback
        return _failed(e, debug=debug)
    except KeyboardInterrupt:
        return int(Exit.INTERRUPTED)


def _failed(exc: BaseException, *, debug: bool) -> int:
    """Tell the operator what went wrong and what to do (failures.py); the traceback only with
    ``--debug``."""
    from buhdesk.cli.failures import describe

    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    failure = describe(exc)
    log.debug("command failed: %r", exc)
    print(failure.text, file=sys.stderr)
    return int(failure.status)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["build_parser", "main", "package_data_dir"]
