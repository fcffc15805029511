"""`buhdesk demo`: a self-contained workspace (Maildir, a «ДелоПро» export folder, SQLite, file
outbox) with sample letters and a sample package, processed end to end, and a Russian summary of
what happened.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import shlex
import shutil
import socket
import sys
import time
from datetime import date, datetime, timedelta
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr
from pathlib import Path
from typing import TextIO

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.config import load_config, package_data_dir
from buhdesk.feedback.invitations import batch_moment
from buhdesk.feedback.settings import survey_settings
from buhdesk.kb.mail import public_url
from buhdesk.service.main import build_daemon
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Message, Request

SAMPLES = Path(__file__).resolve().parent / "demo_mail"
PACKAGES = Path(__file__).resolve().parent / "demo_delopro"
MARKER = ".buhdesk-demo"
WEB_PORT = 8080

CONFIG = """\
# Демонстрационные настройки buhdesk (создано командой «buhdesk demo»).
[service]
name = "Бухгалтерия Министерства финансов (демонстрация)"
address = "buh@minfin.example"
domain = "minfin.example"
duty_accountant = "{duty}"
admins = ["admin@minfin.example"]

secret_file = "secret"

[paths]
rules = "rules"
templates = "templates"

[store]
url = "sqlite:///{root}/buhdesk.db"
blobs = "blobs"

[[sources]]
name = "demo-maildir"
kind = "maildir"
path = "Maildir"
poll_interval = 5

[[sources]]
name = "demo-delopro"
kind = "delopro"
path = "delopro"
poll_interval = 5
stable_interval = 5

[outbox]
kind = "files"
path = "outbox"

[web]
public_url = "http://127.0.0.1:{port}"
metrics_port = 0

[survey]
base_url = "http://127.0.0.1:{port}"
internal_domains = ["minfin.example", "culture.example", "sport.example", "mail.example"]
"""


def _deliver_to_maildir(maildir: Path, data: bytes, n: int) -> None:
    new = maildir / "new"
    new.mkdir(parents=True, exist_ok=True)
    for sub in ("cur", "tmp"):
        (maildir / sub).mkdir(exist_ok=True)
    name = f"{int(time.time())}.demo{n:04d}.{socket.gethostname()}"
    (maildir / "tmp" / name).write_bytes(data)
    os.replace(maildir / "tmp" / name, new / name)


def _web_port() -> int:
    """8080 when it is free here, else any free port: the survey and knowledge-base links in the
    demo's letters name it, and ``buhdesk web`` serves on it by default."""
    for port in (WEB_PORT, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


def buhdesk_command() -> str:
    """How to start this very buhdesk from a shell (the venv's script needs no PATH)."""
    script = Path(sys.executable).parent / "buhdesk"
    if script.is_file():
        return shlex.quote(str(script))
    found = shutil.which("buhdesk")
    return shlex.quote(found) if found else f"{shlex.quote(sys.executable)} -m buhdesk.cli.command"


def create_workspace(root: Path, *, fresh: bool = True) -> Path:
    root = root.resolve()
    if fresh and (root / MARKER).exists():
        shutil.rmtree(root)
    elif root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise SystemExit(f"Каталог {root} не пуст и не является демонстрационным: выберите другой.")
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("buhdesk demo workspace\n", encoding="utf-8")
    secret_file = root / "secret"
    if not secret_file.exists():
        secret_file.touch(mode=0o600)
        secret_file.write_text(secrets.token_hex(32), encoding="utf-8")
    for name in ("rules", "templates"):  # the administrator edits these copies, not the checkout
        if not (root / name).exists():
            shutil.copytree(package_data_dir(name), root / name)
    (root / "buhdesk.toml").write_text(CONFIG.format(root=root, duty="ivanova", port=_web_port()),
                                       encoding="utf-8")
    for n, sample in enumerate(sorted(SAMPLES.glob("*.eml")), start=1):
        _deliver_to_maildir(root / "Maildir", sample.read_bytes(), n)
    for package in sorted(p for p in PACKAGES.iterdir() if p.is_dir()):
        _export_package(root / "delopro", package)
    return root


def _export_package(folder: Path, package: Path) -> None:
    """Put a sample package into incoming/ as «ДелоПро» would: in .tmp first, then renamed."""
    tmp = folder / ".tmp" / package.name
    shutil.copytree(package, tmp, copy_function=shutil.copyfile)
    card = tmp / "card.xml"  # the sample's resolution deadline, moved to two weeks from today
    deadline = (date.today() + timedelta(days=14)).isoformat()
    card.write_bytes(re.sub(rb"<Deadline>[0-9-]+</Deadline>",
                            f"<Deadline>{deadline}</Deadline>".encode(), card.read_bytes()))
    (folder / "incoming").mkdir(parents=True, exist_ok=True)
    os.replace(tmp, folder / "incoming" / package.name)


def _client_reply(root: Path, session: Session) -> bytes | None:
    """The first client's answer to our acknowledgment, as their mail program would send it."""
    ack = session.execute(
        select(Message).join(Request, col(Message.request_id) == col(Request.id))
        .where(col(Message.direction) == "out", col(Message.kind) == "ack",
               col(Request.channel) == "email")
        .order_by(col(Message.id))
    ).scalars().first()
    if ack is None:
        return None
    return sample_letter(
        sender=formataddr(("Ковалева Мария Петровна", ack.to_addrs), charset="utf-8"),
        to="buh@minfin.example",
        subject=f"Re: {ack.subject}", message_id=f"<demo-reply-{ack.id}@culture.example>",
        in_reply_to=ack.message_id,
        body="Добавлю: справка нужна в двух экземплярах.\n\n> Ваше обращение зарегистрировано\n")


def sample_letter(*, sender: str, to: str, subject: str, message_id: str, in_reply_to: str,
                  body: str) -> bytes:
    """A reply as a mail program sends it. Built like buhdesk's own letters (compat32 ``Header``
    encoding): the default/SMTP policy folder of the stdlib we run on (CPython gh-144156) puts
    the space between two words outside the encoded words where a fold falls, and RFC 2047
    readers drop it («по командировке» arrived as «покомандировке»)."""
    msg = MIMEText(body, "plain", "utf-8")
    msg["From"] = sender  # ASCII: formataddr(..., charset="utf-8") encodes a name
    msg["To"] = to
    header = Header(subject, "utf-8", header_name="Subject")
    msg["Subject"] = header  # type: ignore[assignment]  # compat32 takes a Header
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = msg["References"] = f"<{in_reply_to}>"
    return msg.as_bytes(policy=compat32.clone(linesep="\r\n"))


# What the demo's accountants write, per process: office hours as in rules/deadlines.toml
# (Monday to Thursday 9:00–18:00, Friday 9:00–16:45).
ANSWERS = {
    "payroll": ("Справка 2-НДФЛ за 2025 год подготовлена в двух экземплярах и подписана. Её можно "
                "получить в кабинете 215: с понедельника по четверг с 9:00 до 18:00, в пятницу "
                "с 9:00 до 16:45; при себе иметь служебное удостоверение или паспорт."),
    "travel": ("Авансовый отчёт по командировке в Москву проверен и утверждён. Перерасход "
               "(3 450 руб. 00 коп.) будет перечислен на вашу зарплатную карту в течение трёх "
               "рабочих дней. Оригиналы билетов и чеков передайте, пожалуйста, в кабинет 215 "
               "до пятницы, 16:45."),
    "timesheet": ("Табель учёта рабочего времени за ноябрь получен и проверен, замечаний нет. "
                  "Изменения по больничным листам, если они появятся до конца месяца, направьте "
                  "корректирующим табелем не позднее последнего рабочего дня месяца."),
}
OTHER_ANSWER = ("Ваше обращение рассмотрено, ответ подготовлен. Если остались вопросы, ответьте на "
                "это письмо.")


def _accountant_answers(session: Session, count: int) -> list[bytes]:
    """The accountants answer the first requests by replying to their notices, and close them."""
    notices = session.execute(
        select(Message).join(Request, col(Message.request_id) == col(Request.id))
        .where(col(Message.direction) == "out", col(Message.kind) == "notice",
               col(Request.channel) == "email", col(Message.subject).contains("Новое обращение"))
        .order_by(col(Message.id)).limit(count)
    ).scalars().all()
    replies = []
    for notice in notices:
        request = session.get(Request, notice.request_id)
        answer = ANSWERS.get(request.process or "" if request else "", OTHER_ANSWER)
        replies.append(sample_letter(
            sender=notice.to_addrs, to="buh@minfin.example", subject=f"Re: {notice.subject}",
            message_id=f"<demo-answer-{notice.id}@minfin.example>",
            in_reply_to=notice.message_id, body=f"{answer}\n#закрыть\n\n-- \nБухгалтерия\n"))
    return replies


def _next_survey_batch(rt: Runtime) -> datetime:
    """The moment of tomorrow's invitation batch (the demo moves its clock there)."""
    settings = survey_settings(rt.config)
    day = rt.now().astimezone(rt.config.service.tz).date() + timedelta(days=1)
    return batch_moment(rt, day, settings) + timedelta(minutes=1)


def _reports(config_file: Path, folder: Path, out: TextIO) -> None:
    from buhdesk.cli.command import main as cli_main  # the demo is itself a command of the CLI

    folder.mkdir(exist_ok=True)
    year = date.today().year
    period = ["--from", f"{year - 1}-01-01", "--to", f"{year + 1}-12-31"]
    for kind, args in (("satisfaction", period), ("painmap", period), ("sla", period),
                       ("touchpoints", []), ("kb", period)):
        target = folder / f"{kind}.html"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli_main(["--config", str(config_file), "report", kind, *args, "--format", "html",
                      "-o", str(target)])
        print(f"  {target}", file=out)


def run_demo(root: Path, *, out: TextIO, fresh: bool = True) -> int:
    root = create_workspace(root, fresh=fresh)
    config = load_config(root / "buhdesk.toml")
    daemon = build_daemon(config)
    daemon.drain()
    with Session(daemon.rt.engine) as session:
        letters = [r for r in [_client_reply(root, session)] if r]
        letters += _accountant_answers(session, 3)
    for n, data in enumerate(letters, start=900):
        _deliver_to_maildir(root / "Maildir", data, n)
    daemon.drain()
    batch = _next_survey_batch(daemon.rt)
    daemon.rt.clock = lambda: batch  # tomorrow: the survey invitations go out in their batch
    daemon.drain()
    _summary(daemon.rt, root, out)
    print("\nОтчёты:", file=out)
    _reports(root / "buhdesk.toml", root / "reports", out)
    _hints(root, public_url(config), out)
    return 0


def _hints(root: Path, url: str, out: TextIO) -> None:
    run = f"{buhdesk_command()} --config {shlex.quote(str(root / 'buhdesk.toml'))}"
    print(f"""
Команды для этого рабочего места (правила и шаблоны — копии в {root / 'rules'} и
{root / 'templates'}; секрет — в файле {root / 'secret'}, он указан в настройках):
  {run} check      # проверить настройки, правила и шаблоны
  {run} held       # письма, задержанные для человека
  {run} list       # открытые обращения и сроки
  {run} web        # анкета и база знаний: {url}/kb (ссылки из писем в outbox ведут туда)""",
          file=out)


def _summary(rt: Runtime, root: Path, out: TextIO) -> None:
    print(f"Рабочее место: {root}", file=out)
    tz = rt.config.service.tz
    with Session(rt.engine) as session:
        requests = session.execute(select(Request).order_by(col(Request.id))).scalars().all()
        print(f"\nЗарегистрировано обращений: {len(requests)}", file=out)
        for r in requests:
            due = r.due_at.astimezone(tz).strftime("%d.%m.%Y %H:%M") if r.due_at else "—"
            reg = f" (рег. № {r.external_number})" if r.external_number else ""
            print(f"  {r.number}{reg}  {r.client_email}  «{r.subject}»\n"
                  f"      процесс: {rt.rules.process_label(r.process)}; "
                  f"потребность: {rt.rules.need_label(r.need)};\n      "
                  f"исполнитель: {r.assignee or '—'}, срок: {due}, состояние: {r.state}", file=out)
        incoming = session.execute(select(Message).where(col(Message.direction) == "in")
                                .order_by(col(Message.id))).scalars().all()
        print("\nВходящие письма:", file=out)
        for m in incoming:
            what = {"request": "новое обращение", "followup": "дополнение к обращению",
                    "automated": f"автоматическое ({m.automated}), без ответа",
                    "answer": "ответ бухгалтера"}.get(m.kind, m.status)
            if m.status == "held":
                what = f"задержано: {m.reason}"
            print(f"  {m.id}: {m.from_addr or '?'} «{m.subject}» — {what}", file=out)
        packages = sorted(p.name for p in (root / "delopro" / "processed").glob("*/*/*"))
        failed = sorted(p.name for p in (root / "delopro" / "failed").glob("*"))
        print(f"\nПакеты «ДелоПро»: обработано {len(packages)}, отклонено {len(failed)}"
              f" ({root / 'delopro'})", file=out)
        outgoing = session.execute(select(Message).where(col(Message.direction) == "out")
                                .order_by(col(Message.id))).scalars().all()
        print(f"\nИсходящие письма ({root / 'outbox'}):", file=out)
        for m in outgoing:
            print(f"  {m.id}: {m.kind} → {m.to_addrs} «{m.subject}» [{m.status}]", file=out)
    print(f"\nПисьма — в {root / 'outbox'}", file=out)
