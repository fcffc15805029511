"""Building blocks for the reply corpus: the letters buhdesk sends (that people quote) and the MIME
wrapping each mail client uses. Only format, no expectations: those are written by hand beside each
case in ``make_replies.py`` and ``heldout/make_heldout.py``.
"""

from __future__ import annotations

import base64
import quopri
from email.utils import formataddr
from pathlib import Path

SERVICE = "Бухгалтерская служба"
SERVICE_ADDR = "buh@minfin.example"
NOTICE_ID = "n.BUH-2026-000123.ivanova.3f9a1c@minfin.example"
NOTICE_SUBJECT = "[БУХ-2026-000123] Новое обращение: справка о доходах"
ANSWER_ID = "a.BUH-2026-000123.51bd02@minfin.example"
ANSWER_SUBJECT = "[БУХ-2026-000123] Ответ на обращение: справка о доходах"

# What the accountant receives and quotes back: the notice, with the command help at its end.
NOTICE = """Зарегистрировано обращение БУХ-2026-000123.

Клиент: Смирнова Ольга Викторовна <smirnova@econ.admin-smolensk.ru>
Канал: электронная почта
Процесс: Заработная плата
Потребность: Информация
Срок ответа: до 07.12.2026 18:00

Текст обращения:
Прошу предоставить справку о доходах за 2026 год для банка.

---
Чтобы ответить клиенту, ответьте на это письмо: текст будет проверен на ошибки, оформлен по форме ответа и отправлен клиенту. Команды (каждая на отдельной строке):
#закрыть — закрыть обращение после отправки ответа;
#ожидание — ждать сведений от клиента;
#открыть — снова открыть закрытое обращение;
#передать логин — передать обращение другому сотруднику;
#отправить-как-есть — отправить без исправления замечаний проверки;
#слово Буханцевой — слово (здесь фамилия) написано верно: проверка запомнит его для всех ответов."""

# What the client receives and quotes back: an answer.
ANSWER = """Уважаемая Ольга Викторовна!

Справка о доходах за 2026 год подготовлена и будет направлена вам до 7 декабря.

С уважением,
главный специалист
Иванова Ирина Ивановна
Тел. +7 (4812) 38-14-22
ivanova@minfin.example

Бухгалтерская служба
Обращение № БУХ-2026-000123"""


def quote(text: str, prefix: str = "> ", empty: str = ">") -> str:
    """``text`` with each line prefixed, as clients quote (empty lines get ``empty``)."""
    return "\n".join(prefix + line if line else empty for line in text.split("\n"))


def html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_lines(text: str, tag: str = "div") -> str:
    return "\n".join(f"<{tag}>{html_escape(line) or '<br>'}</{tag}>" for line in text.split("\n"))


def _encode(text: str, charset: str, cte: str) -> bytes:
    data = text.replace("\n", "\r\n").encode(charset)
    if cte == "base64":
        enc = base64.b64encode(data)
        return b"\r\n".join(enc[i : i + 76] for i in range(0, len(enc), 76))
    if cte == "quoted-printable":
        return quopri.encodestring(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data


def part(ctype: str, text: str, charset: str = "utf-8", cte: str = "quoted-printable",
         extra: str = "") -> bytes:
    head = f"Content-Type: {ctype}; charset=\"{charset}\"{extra}\r\n"
    head += f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    return head.encode("ascii") + _encode(text, charset, cte)


def alternative(boundary: str, *parts: bytes) -> bytes:
    b = boundary.encode("ascii")
    out = f"Content-Type: multipart/alternative;\r\n\tboundary=\"{boundary}\"\r\n\r\n".encode()
    for p in parts:
        out += b"--" + b + b"\r\n" + p + b"\r\n"
    return out + b"--" + b + b"--\r\n"


def ew(text: str, charset: str = "utf-8") -> str:
    """An RFC 2047 B-word (ASCII text stays as it is)."""
    if text.isascii():
        return text
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def address(name: str, addr: str, charset: str = "utf-8") -> str:
    return f"{ew(name, charset)} <{addr}>" if not name.isascii() else formataddr((name, addr))


def letter(headers: list[tuple[str, str]], body: bytes) -> bytes:
    """Header lines (name, already encoded value) then the body (starting with its own MIME head
    when it is a part: ``body`` from :func:`part` or :func:`alternative`)."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")
    return head + b"MIME-Version: 1.0\r\n" + body


def write(directory: Path, name: str, raw: bytes, expected: str) -> None:
    (directory / f"{name}.eml").write_bytes(raw)
    (directory / f"{name}.expected.txt").write_text(expected.strip("\n") + "\n", encoding="utf-8")
