"""What a failed command tells the operator: one Russian paragraph naming the cause and what to do,
and an exit status that scripts and systemd can rely on. ``buhdesk --debug`` adds the traceback.

The known causes are tried in the order of ``CAUSES`` (written once, here); the first that matches
the exception or anything in its ``__cause__``/``__context__`` chain explains it. What matches
nothing is an internal error (status 70) and asks for ``--debug``.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum


class Exit(IntEnum):
    """The exit statuses of every ``buhdesk`` command (documented in the admin guide)."""

    OK = 0
    PROBLEMS = 1  # the command ran and found problems (check, requeue, purge …)
    CONFIG = 2  # the configuration file, a secret, or the command line
    RULES = 3  # rules, templates or settings tables
    MAIL_SERVER = 4  # an IMAP or SMTP server: unreachable, refused the login or the command
    DATABASE = 5  # the store: read-only, full, locked, unreachable
    FILES = 6  # a file or folder: missing, not accessible, disk full
    INTERNAL = 70  # a fault of buhdesk itself: run again with --debug and report it
    INTERRUPTED = 130


@dataclass(frozen=True)
class Failure:
    status: Exit
    text: str


def chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes, outermost first, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _config(exc: BaseException) -> Failure | None:
    from buhdesk.config import ConfigError

    if isinstance(exc, ConfigError):
        return Failure(Exit.CONFIG, f"Ошибка в настройках: {exc}. После исправления "
                                    "проверьте настройки командой «buhdesk check».")
    return None


def _rules(exc: BaseException) -> Failure | None:
    from buhdesk.feedback.settings import SurveySettingsError
    from buhdesk.kb.mail import KbSettingsError
    from buhdesk.reply.templating import TemplateProblem
    from buhdesk.route.participants import CopiesSettingsError
    from buhdesk.rules.book import RuleBookError
    from buhdesk.rules.locatedtoml import RuleFileError
    from buhdesk.rules.problems import RuleSetError
    from buhdesk.schedule.settings import ScheduleSettingsError

    if isinstance(exc, RuleBookError | RuleSetError | RuleFileError):
        found = "; ".join(str(exc).splitlines())
        return Failure(Exit.RULES, f"Правила не загружены: {found}. Исправьте названные файлы "
                                   "правил и проверьте их командой «buhdesk check»; служба не "
                                   "запущена, письма ждут в почтовом ящике.")
    if isinstance(exc, TemplateProblem):
        return Failure(Exit.RULES, f"Ошибка в шаблоне писем: {exc}. Исправьте шаблон и "
                                   "проверьте командой «buhdesk check».")
    if isinstance(exc, ScheduleSettingsError | SurveySettingsError | CopiesSettingsError
                  | KbSettingsError):
        return Failure(Exit.RULES, f"Ошибка в разделе настроек: {exc}. Исправьте файл настроек "
                                   "и проверьте его командой «buhdesk check».")
    return None


def _login_refused(exc: BaseException) -> bool:
    from imap_tools.errors import MailboxLoginError

    if isinstance(exc, MailboxLoginError):
        return True
    try:
        from aiosmtplib import SMTPAuthenticationError
    except ImportError:  # pragma: no cover - a dependency of the daemon
        return False
    return isinstance(exc, SMTPAuthenticationError)


def _source_name(exc: BaseException) -> str:
    """The source a connector's error is about (its messages begin with the source's name)."""
    name, sep, _rest = str(exc).partition(":")
    return f"источника «{name}»" if sep and name and " " not in name else "источника"


def network_reason(causes: list[BaseException]) -> str | None:
    import socket

    for c in causes:
        if isinstance(c, socket.gaierror):
            return "имя сервера не найдено в DNS"
        if isinstance(c, ConnectionRefusedError) or getattr(c, "errno", None) == errno.ECONNREFUSED:
            return "соединение отклонено (сервер не слушает этот порт)"
        if isinstance(c, TimeoutError | socket.timeout):
            return "сервер не ответил вовремя"
        if isinstance(c, ssl_errors()):
            return "не удалось установить TLS (сертификат или настройка security)"
        if isinstance(c, OSError) and c.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "сеть или узел недоступны"
    return None


def ssl_errors() -> tuple[type[BaseException], ...]:
    import ssl

    return (ssl.SSLError, ssl.CertificateError)


def _delopro_folder(exc: BaseException) -> Failure | None:
    from buhdesk_connectors.delopro.errors import DeloproUnavailable

    if isinstance(exc, DeloproUnavailable):  # its message is Russian and names the path
        return Failure(Exit.FILES, f"Папка обмена «ДелоПро» недоступна: {exc}. Проверьте, что "
                                   "общая папка смонтирована и пользователю службы разрешены "
                                   "чтение и запись («buhdesk check --connect»).")
    return None


def _mail_server(exc: BaseException) -> Failure | None:
    from buhdesk.intake.packages import StoreUnavailable
    from buhdesk.interfaces import SourceError

    if not isinstance(exc, SourceError) or isinstance(exc, StoreUnavailable):
        return None  # the store's failure is explained by its cause, further down the chain
    causes = list(chain(exc))
    who = _source_name(exc)
    if any(_login_refused(c) for c in causes):
        return Failure(Exit.MAIL_SERVER, f"Почтовый сервер {who} отклонил вход: неверное имя "
                                         "пользователя или пароль. Проверьте user в файле "
                                         "настроек и пароль в учётных данных службы (секрет, "
                                         "названный в password_env), затем выполните "
                                         "«buhdesk check --connect».")
    reason = network_reason(causes)
    if reason is not None:
        return Failure(Exit.MAIL_SERVER, f"Почтовый сервер {who} недоступен: {reason}. Проверьте "
                                         "host, port и security в файле настроек и что сервер "
                                         "работает, затем выполните «buhdesk check --connect»; "
                                         "письма остаются на сервере.")
    return Failure(Exit.MAIL_SERVER, f"Почтовый сервер {who} ответил ошибкой. Проверьте "
                                     "настройки источника командой «buhdesk check --connect»; "
                                     "подробности — с параметром --debug.")


_SQLITE_TEXTS: tuple[tuple[str, str], ...] = (
    ("readonly", ("файл базы данных доступен только для чтения. Дайте пользователю службы "
                  "право записи в файл базы и в его каталог (там же создаются файлы -wal и "
                  "-shm)")),
    ("disk is full", ("на диске с базой данных нет места. Освободите место или увеличьте "
                      "раздел; письма ждут в почтовом ящике")),
    ("database is locked", ("база данных занята другим процессом дольше минуты. Проверьте, не "
                            "запущены ли две службы или резервное копирование с блокировкой")),
    ("unable to open", ("файл базы данных не открывается. Проверьте путь в [store] url, что "
                        "каталог существует и доступен пользователю службы")),
    ("malformed", ("файл базы данных повреждён. Остановите службу и восстановите базу из "
                   "резервной копии («buhdesk restore»)")),
)


def _database(exc: BaseException) -> Failure | None:
    from sqlalchemy.exc import DBAPIError, OperationalError

    if not isinstance(exc, DBAPIError):
        return None
    detail = str(exc.orig) if exc.orig is not None else str(exc).splitlines()[0]
    lowered = detail.lower()
    for needle, text in _SQLITE_TEXTS:
        if needle in lowered:
            return Failure(Exit.DATABASE, f"База данных: {text} ({detail}).")
    if isinstance(exc, OperationalError) and not isinstance(exc.orig, sqlite3.Error):
        return Failure(Exit.DATABASE, f"База данных PostgreSQL недоступна ({detail}). Проверьте, "
                                      "что сервер работает, и адрес, имя и пароль в [store] url.")
    return Failure(Exit.DATABASE, f"Ошибка базы данных ({detail}). Запустите команду с --debug и "
                                  "передайте вывод разработчикам.")


def _files(exc: BaseException) -> Failure | None:
    if not isinstance(exc, OSError) or exc.errno is None:
        return None
    where = f" {exc.filename}" if exc.filename else ""
    texts = {
        errno.ENOSPC: f"нет места на диске{where}. Освободите место или увеличьте раздел",
        errno.EACCES: f"нет доступа к{where}. Дайте пользователю службы права на этот файл "
                      "или каталог",
        errno.EPERM: f"операция запрещена для{where}. Проверьте права пользователя службы",
        errno.EROFS: f"файловая система только для чтения:{where}. Проверьте монтирование и "
                     "ReadWritePaths= в файле службы",
        errno.ENOENT: f"нет файла или каталога{where}. Проверьте путь в файле настроек",
    }
    text = texts.get(exc.errno)
    if text is None:
        return None
    return Failure(Exit.FILES, f"Ошибка файловой системы: {text}.")


def _undelivered(exc: BaseException) -> Failure | None:
    from buhdesk.service.main import DeliveryPending

    if isinstance(exc, DeliveryPending) and "authentication failed" in exc.reason:
        return Failure(Exit.MAIL_SERVER, f"Письма приняты, но исходящих не отправлено: "
                                         f"{exc.count} — SMTP-сервер отклонил вход: неверное "
                                         "имя пользователя или пароль. Проверьте user в [outbox] "
                                         "и пароль в учётных данных службы (секрет, названный в "
                                         "password_env); письма остались в очереди и уйдут, "
                                         "когда вход удастся («buhdesk check --connect»).")
    if isinstance(exc, DeliveryPending):
        return Failure(Exit.MAIL_SERVER, f"Письма приняты, но исходящих не отправлено: "
                                         f"{exc.count} — SMTP-сервер недоступен или временно "
                                         "отказывает. Они остались в очереди и уйдут при "
                                         "следующем запуске; проверьте сервер командой "
                                         "«buhdesk check --connect».")
    return None


def _interrupted(exc: BaseException) -> Failure | None:
    if isinstance(exc, KeyboardInterrupt):
        return Failure(Exit.INTERRUPTED, "Прервано.")
    return None


# Order matters: what the command itself explains first, then the parts it talks to.
CAUSES: tuple[Callable[[BaseException], Failure | None], ...] = (
    _interrupted, _config, _rules, _delopro_folder, _mail_server, _undelivered, _database,
    _files,
)


def describe(exc: BaseException) -> Failure:
    """The operator's message and exit status for an exception that ended a command."""
    for link in chain(exc):
        for cause in CAUSES:
            failure = cause(link)
            if failure is not None:
                return Failure(failure.status, one_paragraph(failure.text))
    return Failure(Exit.INTERNAL, f"Внутренняя ошибка buhdesk: {type(exc).__name__}: "
                                  f"{_first_line(exc)}. Повторите команду с параметром --debug "
                                  "и передайте её вывод разработчикам.")


def one_paragraph(text: str) -> str:
    """The text on one line: what a driver or server said may span several."""
    return " ".join(text.split())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "без описания"
