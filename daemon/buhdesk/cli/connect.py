"""`buhdesk check --connect`: log in to each mailbox and the SMTP server, and try the folders'
rights as the daemon needs them (IMAP: read and write the inbox and the processed folder;
Maildir and «ДелоПро»: read, write and move within the folders). Each finding is one Russian
line."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from buhdesk.cli.failures import chain, network_reason
from buhdesk.config import (
    Config,
    DeloproSourceConfig,
    ImapSourceConfig,
    MaildirSourceConfig,
    OutboxConfig,
)

PROBE_NAME = ".buhdesk-check-connect"  # a dot name: the «ДелоПро» scanner and Maildir skip it
DELOPRO_MOVES = (("incoming", "work"), ("work", "processed"), ("outgoing/.tmp", "outgoing"))


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str


def _unreachable(what: str, e: BaseException) -> Finding:
    reason = network_reason(list(chain(e))) or f"ошибка соединения ({e})"
    return Finding(False, f"{what}: сервер недоступен — {reason}")


def check_imap(src: ImapSourceConfig) -> Iterator[Finding]:
    from buhdesk_connectors.imap_admin import (
        Mailbox,
        MailboxRefused,
        create_folder,
        folder_rights,
        open_mailbox,
    )

    what = f"почтовый ящик «{src.name}» ({src.user}@{src.host}:{src.port})"
    box = Mailbox(src.host, src.port, src.security, src.user, src.password(), src.cafile)
    try:
        client = open_mailbox(box)
    except MailboxRefused as e:
        yield Finding(False, f"{what}: сервер отклонил вход ({e}) — проверьте user и пароль "
                             f"(секрет {src.password_env!r})")
        return
    except (OSError, ssl.SSLError) as e:
        yield _unreachable(what, e)
        return
    try:
        yield Finding(True, f"{what}: вход выполнен")
        inbox = folder_rights(client, src.folder)
        if not inbox.exists:
            yield Finding(False, f"{what}: папка «{src.folder}» не открывается ({inbox.answer})")
        elif not inbox.writable:
            yield Finding(False, f"{what}: папка «{src.folder}» открыта только для чтения — "
                                 "служба не сможет переносить из неё письма")
        else:
            yield Finding(True, f"{what}: папка «{src.folder}» — чтение и запись")
        processed = folder_rights(client, src.processed_folder)
        if not processed.exists:
            refused = create_folder(client, src.processed_folder)
            if refused is not None:
                yield Finding(False, f"{what}: папки «{src.processed_folder}» нет, и создать её "
                                     f"не удалось ({refused})")
                return
            processed = folder_rights(client, src.processed_folder)
            yield Finding(True, f"{what}: папка «{src.processed_folder}» создана")
        if processed.writable:
            yield Finding(True, f"{what}: папка «{src.processed_folder}» — чтение и запись "
                                "(перенос обработанных писем, удаление по сроку хранения)")
        else:
            yield Finding(False, f"{what}: папка «{src.processed_folder}» только для чтения — "
                                 "служба не сможет переносить в неё письма и удалять их по сроку")
    finally:
        with contextlib.suppress(OSError):
            client.logout()


def _try_folder_moves(what: str, root: Path, moves: tuple[tuple[str, str], ...]) -> \
        Iterator[Finding]:
    """Create a probe file in each source folder, move it to the target and delete it."""
    for source, target in moves:
        here, there = root / source / PROBE_NAME, root / target / PROBE_NAME
        try:
            os.listdir(root / source)
            here.write_bytes(b"buhdesk check --connect\n")
            os.replace(here, there)
            there.unlink()
        except OSError as e:
            for leftover in (here, there):
                leftover.unlink(missing_ok=True)
            yield Finding(False, f"{what}: {source}/ → {target}/: {e.strerror or e} "
                                 f"({e.filename or root}) — дайте пользователю службы право "
                                 "чтения и записи")
            continue
        yield Finding(True, f"{what}: {source}/ → {target}/ — чтение, запись и перенос")


def check_maildir(src: MaildirSourceConfig) -> Iterator[Finding]:
    yield from _try_folder_moves(f"Maildir «{src.name}» ({src.path})", src.path,
                                 (("new", "cur"), ("tmp", "new")))


def check_delopro(src: DeloproSourceConfig) -> Iterator[Finding]:
    from buhdesk_connectors.delopro.folder import LAYOUT

    what = f"папка «ДелоПро» «{src.name}» ({src.path})"
    if not src.path.is_dir():
        yield Finding(False, f"{what}: каталога нет — подключите общую папку обмена или "
                             "исправьте path")
        return
    missing = [name for name in LAYOUT if not (src.path / name).is_dir()]
    try:
        for name in missing:
            (src.path / name).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        yield Finding(False, f"{what}: не удалось создать {name}/: {e.strerror or e}")
        return
    if missing:
        yield Finding(True, f"{what}: созданы подкаталоги {', '.join(missing)}")
    yield from _try_folder_moves(what, src.path, DELOPRO_MOVES)


def check_smtp(out: OutboxConfig) -> Iterator[Finding]:
    what = f"SMTP-сервер {out.host}:{out.port}"
    context = ssl.create_default_context(cafile=str(out.cafile) if out.cafile else None)
    try:
        client: smtplib.SMTP = (smtplib.SMTP_SSL(out.host, out.port, timeout=15, context=context)
                                if out.security == "ssl" else
                                smtplib.SMTP(out.host, out.port, timeout=15))
    except (OSError, ssl.SSLError) as e:
        yield _unreachable(what, e)
        return
    try:
        client.ehlo()
        if out.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if out.user:
            client.login(out.user, out.password())
            yield Finding(True, f"{what}: соединение установлено, вход как {out.user} выполнен")
        else:
            yield Finding(True, f"{what}: соединение установлено (без входа: user не задан)")
    except smtplib.SMTPAuthenticationError as e:
        yield Finding(False, f"{what}: сервер отклонил вход как {out.user} ({e.smtp_code}) — "
                             f"проверьте user и пароль (секрет {out.password_env!r})")
    except smtplib.SMTPNotSupportedError:
        yield Finding(False, f"{what}: сервер не предлагает вход (AUTH) — уберите user или "
                             "включите STARTTLS (security)")
    except (smtplib.SMTPException, OSError, ssl.SSLError) as e:
        yield _unreachable(what, e)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def connection_findings(cfg: Config) -> list[Finding]:
    """Every mailbox, folder and the SMTP server of ``cfg``, tried in the order of the file."""
    found: list[Finding] = []
    for src in cfg.sources:
        if isinstance(src, ImapSourceConfig):
            found.extend(check_imap(src))
        elif isinstance(src, MaildirSourceConfig):
            found.extend(check_maildir(src))
        else:
            found.extend(check_delopro(src))
    if cfg.outbox.kind == "smtp":
        found.extend(check_smtp(cfg.outbox))
    return found
