"""Writes the held-out part of the reply corpus. These letters were written before the quoting
code was tuned on the main part, and are never used to tune it: their score is reported on its own.
Run: ``python tests/corpus/replies/heldout/make_heldout.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from replybuild import (  # noqa: E402
    ANSWER, ANSWER_ID, ANSWER_SUBJECT, NOTICE, NOTICE_ID, NOTICE_SUBJECT, SERVICE, SERVICE_ADDR,
    address, alternative, ew, html_escape, html_lines, letter, part, quote, write,
)

ACC = ("Иванова Ирина Ивановна", "ivanova@minfin.example")
CLIENT = ("Смирнова Ольга Викторовна", "smirnova@econ.admin-smolensk.ru")


def staff_head(date: str, mid: str, extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("From", address(*ACC)), ("To", address(SERVICE, SERVICE_ADDR)),
            ("Subject", ew("RE: " + NOTICE_SUBJECT)), ("Date", date), ("Message-ID", mid),
            ("In-Reply-To", f"<{NOTICE_ID}>"), ("References", f"<{NOTICE_ID}>"), *extra]


def client_head(date: str, mid: str, extra: list[tuple[str, str]],
                re: str = "Re: ") -> list[tuple[str, str]]:
    return [("From", address(*CLIENT)), ("To", address(SERVICE, SERVICE_ADDR)),
            ("Subject", ew(re + ANSWER_SUBJECT)), ("Date", date), ("Message-ID", mid),
            ("In-Reply-To", f"<{ANSWER_ID}>"), ("References", f"<{ANSWER_ID}>"), *extra]


def outlook_web_ru() -> None:
    own = ("Добрый день!\n\nСправка 2-НДФЛ за 2026 год готова, оригинал можно получить в "
           "каб. 214.\n\n#закрыть")
    plain = (own + "\n\nС уважением,\nИванова Ирина Ивановна\nглавный специалист\n"
             "________________________________\n"
             f"От: {SERVICE} <{SERVICE_ADDR}>\nОтправлено: 4 декабря 2026 г. 10:15\n"
             f"Кому: {ACC[0]}\nТема: {NOTICE_SUBJECT}\n\n{NOTICE}\n")
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            '</head><body><div style="font-family: Calibri, Arial; font-size: 11pt">'
            + html_lines(own) + "<div><br></div><div>С уважением,</div>"
            "<div>Иванова Ирина Ивановна</div><div>главный специалист</div></div>"
            '<hr style="display:inline-block;width:98%" tabindex="-1">'
            '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" '
            f'style="font-size:11pt"><b>От:</b> {SERVICE} &lt;{SERVICE_ADDR}&gt;<br>'
            "<b>Отправлено:</b> 4 декабря 2026 г. 10:15<br>"
            f"<b>Кому:</b> {ACC[0]}<br><b>Тема:</b> {html_escape(NOTICE_SUBJECT)}</font>"
            "<div>&nbsp;</div></div><div>" + html_lines(NOTICE) + "</div></body></html>")
    body = alternative("_000_VI1PR09MB4125E0C1D2C3A9F1B7C3VI1PR09MB4125eurp_",
                       part("text/plain", plain, "windows-1251"), part("text/html", html))
    raw = letter(staff_head("Fri, 4 Dec 2026 08:41:12 +0000",
                            "<VI1PR09MB41250C1D2C3A9F1B7C3@VI1PR09MB4125.eurprd09.prod.outlook.com>",
                            [("Thread-Index", "AQHZx3v5nK2bJqL0SEW1c3hY7T0xAw=="),
                             ("Accept-Language", "ru-RU, en-US"), ("Content-Language", "ru-RU"),
                             ("X-MS-Has-Attach", ""), ("X-MS-TNEF-Correlator", "")]), body)
    write(HERE, "outlook-web-ru", raw, own)


def thunderbird_en() -> None:
    own = ("Ольга Викторовна, справка будет готова в понедельник.\n"
           "Передаю обращение коллеге, она подпишет.\n\n#передать petrova")
    plain = (own + "\n\n-- \nIrina Ivanova\nMinistry of Finance, accounting service\n\n"
             f"On 12/4/26 10:15 AM, {SERVICE} wrote:\n" + quote(NOTICE) + "\n")
    body = part("text/plain", plain, "UTF-8", "8bit", "; format=flowed")
    raw = letter(staff_head("Fri, 4 Dec 2026 11:02:47 +0300",
                            "<6b1e2f0a-8c44-4f7b-9d1e-0a5c3b7e2d11@minfin.example>",
                            [("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:102.0) "
                              "Gecko/20100101 Thunderbird/102.15.1"),
                             ("Content-Language", "en-US")]), body)
    write(HERE, "thunderbird-en", raw, own)


def gmail_android_ru() -> None:
    own = "Спасибо, получила!"
    plain = (own + "\n\nпт, 4 дек. 2026 г., 10:15 " + SERVICE + " <" + SERVICE_ADDR + ">:\n\n"
             + quote(ANSWER) + "\n")
    html = ('<div dir="auto">' + html_escape(own) + '</div><br><div class="gmail_quote">'
            '<div dir="ltr" class="gmail_attr">пт, 4 дек. 2026 г., 10:15 '
            f'{SERVICE} &lt;<a href="mailto:{SERVICE_ADDR}">{SERVICE_ADDR}</a>&gt;:<br></div>'
            '<blockquote class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;'
            'padding-left:1ex">' + html_escape(ANSWER).replace("\n", "<br>")
            + "</blockquote></div>")
    body = alternative("000000000000b3c1a105f0d8e2a4", part("text/plain", plain, "UTF-8", "base64"),
                       part("text/html", html, "UTF-8", "base64"))
    raw = letter(client_head("Fri, 4 Dec 2026 12:20:05 +0300",
                             "<CAJx7f3Qv2mNd1pYkR8s0tZ4uE6wLh9aB3cFgT5jKq1o@mail.gmail.com>", []),
                 body)
    write(HERE, "gmail-android-ru", raw, own)


def k9_en() -> None:
    own = ("Справку получила, спасибо. Подскажите, можно ли забрать оригинал в пятницу после "
           "обеда?")
    plain = (own + "\n-- \nSent from my Android device with K-9 Mail. Please excuse my brevity.\n\n"
             "-------- Original Message --------\n"
             f"From: {SERVICE} <{SERVICE_ADDR}>\n"
             "Sent: December 4, 2026 10:15:03 AM GMT+03:00\n"
             f"To: {CLIENT[0]} <{CLIENT[1]}>\n"
             f"Subject: {ANSWER_SUBJECT}\n\n" + ANSWER + "\n")
    body = part("text/plain", plain, "utf-8", "quoted-printable")
    raw = letter(client_head("Fri, 04 Dec 2026 13:45:51 +0300",
                             "<3C0A1E52-7B2D-4E0F-9A61-2F1D8C5B0E77@econ.admin-smolensk.ru>",
                             [("User-Agent", "K-9 Mail for Android")]), body)
    write(HERE, "k9-en", raw, own)


def snail_ru() -> None:
    own = ("Ольга Викторовна, для справки нужен номер вашего СНИЛС, пришлите его, "
           "пожалуйста.\n#ожидание")
    plain = (own + "\n\n-- \nИ. Иванова\n\n" + f"{SERVICE} <{SERVICE_ADDR}> wrote:\n\n"
             + quote(NOTICE, "\t", "\t") + "\n")
    body = part("text/plain", plain, "utf-8", "8bit")
    raw = letter(staff_head("Fri, 04 Dec 2026 11:30:00 +0300",
                            "<20261204083000.kQd1ZsXv@minfin.example>",
                            [("User-Agent", "s-nail v14.9.24")]), body)
    write(HERE, "s-nail-ru", raw, own)


def apple_mail_en() -> None:
    own = "Справку отправила клиенту почтой России, трек-номер 21400012345678.\n#закрыть"
    plain = (own + "\n\n> On 4 Dec 2026, at 10:15, " + f"{SERVICE} <{SERVICE_ADDR}> wrote:\n"
             + "> \n" + quote(NOTICE, "> ", "> ") + "\n")
    html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">'
            '</head><body dir="auto">' + html_escape(own).replace("\n", "<br>")
            + '<br><div dir="ltr"><br><blockquote type="cite">On 4 Dec 2026, at 10:15, '
            f'{SERVICE} &lt;{SERVICE_ADDR}&gt; wrote:<br><br></blockquote></div>'
            '<blockquote type="cite"><div dir="ltr">' + html_escape(NOTICE).replace("\n", "<br>")
            + "</div></blockquote></body></html>")
    body = alternative("Apple-Mail=_2F7C1B3E-5A90-4D8E-B6C2-1E0F9A7D3C44",
                       part("text/plain", plain, "utf-8", "quoted-printable"),
                       part("text/html", html, "utf-8", "quoted-printable"))
    raw = letter(staff_head("Fri, 4 Dec 2026 11:48:30 +0300",
                            "<B1D3F0A2-6C4E-4F9B-8A1D-7E2C5B0F3A96@minfin.example>",
                            [("X-Mailer", "Apple Mail (2.3774.300.61.1.2)")]), body)
    write(HERE, "apple-mail-en", raw, own)


def mutt_ru() -> None:
    own = ("Ольга Викторовна, порядок получения справки описан в статье, ссылку добавлю ниже.\n"
           "#статья spravka-2ndfl")
    plain = (own + "\n\n* " + f"{SERVICE} <{SERVICE_ADDR}> [2026-12-04 10:15]:\n"
             + quote(NOTICE) + "\n\n-- \nИрина Иванова\n")
    body = part("text/plain", plain, "utf-8", "8bit")
    raw = letter(staff_head("Fri, 4 Dec 2026 11:52:09 +0300",
                            "<20261204085209.GA4121@ws214.minfin.example>",
                            [("User-Agent", "Mutt/2.2.12 (2023-09-09)"),
                             ("Content-Disposition", "inline")]), body)
    write(HERE, "mutt-ru", raw, own)


def outlook_mac_ru() -> None:
    own = ("Справку подготовила, передам с курьером в понедельник.\n\n"
           "#отправить-как-есть")
    plain = (own + "\n\nИванова И.И.\nтел. 38-14-22\n\n"
             f"От: {SERVICE} <{SERVICE_ADDR}>\n"
             "Дата: пятница, 4 декабря 2026 г. в 10:15\n"
             f"Кому: {ACC[0]} <{ACC[1]}>\nТема: {NOTICE_SUBJECT}\n\n" + NOTICE + "\n")
    html = ('<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta '
            'http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>'
            '<div class="WordSection1">' + html_lines(own, "p") + "<p>Иванова И.И.</p>"
            '<div id="mail-editor-reference-message-container"><div style="border:none;'
            'border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
            f'<p><b>От: </b>{SERVICE} &lt;{SERVICE_ADDR}&gt;<br><b>Дата: </b>пятница, 4 декабря '
            f'2026 г. в 10:15<br><b>Кому: </b>{ACC[0]}<br><b>Тема: </b>'
            f'{html_escape(NOTICE_SUBJECT)}</p></div>' + html_lines(NOTICE, "p")
            + "</div></div></body></html>")
    body = alternative("B_3847521938_1029384756", part("text/plain", plain, "utf-8",
                                                       "quoted-printable"),
                       part("text/html", html, "utf-8", "quoted-printable"))
    raw = letter(staff_head("Fri, 04 Dec 2026 12:05:44 +0300",
                            "<8E2A1C5D-3B7F-4A90-9C61-0D4E2B8F7A13@minfin.example>",
                            [("User-Agent", "Microsoft-MacOutlook/16.91.24111020"),
                             ("Thread-Topic", ew(NOTICE_SUBJECT))]), body)
    write(HERE, "outlook-mac-ru", raw, own)


if __name__ == "__main__":
    for make in (outlook_web_ru, thunderbird_en, gmail_android_ru, k9_en, snail_ru,
                 apple_mail_en, mutt_ru, outlook_mac_ru):
        make()
