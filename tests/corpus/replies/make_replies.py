"""Writes the reply corpus: CLIENT-LANG.eml (a reply as that mail client writes it: attribution
line, quote style, signature, HTML where the client sends it) and CLIENT-LANG.expected.txt (the new
text the reply carries, written by hand). The held-out part is in ``heldout/``.
Run: ``python tests/corpus/replies/make_replies.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from replybuild import (  # noqa: E402
    ANSWER, ANSWER_ID, ANSWER_SUBJECT, NOTICE, NOTICE_ID, NOTICE_SUBJECT, SERVICE, SERVICE_ADDR,
    address, alternative, ew, html_escape, html_lines, letter, part, quote, write,
)

ACC = ("Иванова Ирина Ивановна", "ivanova@minfin.example")
CLIENT = ("Смирнова Ольга Викторовна", "smirnova@econ.admin-smolensk.ru")
SVC = f"{SERVICE} <{SERVICE_ADDR}>"


def staff_head(date: str, mid: str, extra: list[tuple[str, str]],
               re: str = "RE: ") -> list[tuple[str, str]]:
    return [("From", address(*ACC)), ("To", address(SERVICE, SERVICE_ADDR)),
            ("Subject", ew(re + NOTICE_SUBJECT)), ("Date", date), ("Message-ID", mid),
            ("In-Reply-To", f"<{NOTICE_ID}>"), ("References", f"<{NOTICE_ID}>"), *extra]


def client_head(date: str, mid: str, extra: list[tuple[str, str]],
                re: str = "Re: ") -> list[tuple[str, str]]:
    return [("From", address(*CLIENT)), ("To", address(SERVICE, SERVICE_ADDR)),
            ("Subject", ew(re + ANSWER_SUBJECT)), ("Date", date), ("Message-ID", mid),
            ("In-Reply-To", f"<{ANSWER_ID}>"), ("References", f"<{ANSWER_ID}>"), *extra]


def outlook_html(own: str, signature: str, header: str, quoted: str) -> str:
    return ('<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:'
            'office:office"><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=windows-1251"><style><!-- p.MsoNormal {margin:0cm;} --></style></head>'
            '<body lang="RU" link="#0563C1"><div class="WordSection1">'
            + html_lines(own, 'p class="MsoNormal"').replace("</p class=\"MsoNormal\">", "</p>")
            + html_lines(signature, "p") + '<div><div style="border:none;border-top:solid #E1E1E1'
            ' 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal">' + header + "</p></div></div>"
            + html_lines(quoted, "p") + "</div></body></html>")


def outlook_ru() -> None:
    own = ("Добрый день!\n\nСправка о доходах за 2026 год будет готова к 7 декабря, "
           "направим её в ваш адрес.\n\n#ожидание")
    sig = "С уважением,\nИванова Ирина Ивановна\nглавный специалист отдела учёта\nтел. 38-14-22"
    plain = (own + "\n\n" + sig + "\n\n" + f"От: {SVC} \nОтправлено: пятница, 4 декабря 2026 г. "
             f"10:15\nКому: {ACC[0]} <{ACC[1]}>\nТема: {NOTICE_SUBJECT}\n\n" + NOTICE + "\n")
    header = (f"<b>От:</b> {html_escape(SVC)} <br><b>Отправлено:</b> пятница, 4 декабря 2026 г. "
              f"10:15<br><b>Кому:</b> {ACC[0]}<br><b>Тема:</b> {html_escape(NOTICE_SUBJECT)}")
    body = alternative("_000_0A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5Dexchminfin_",
                       part("text/plain", plain, "windows-1251"),
                       part("text/html", outlook_html(own, sig, header, NOTICE), "windows-1251"))
    raw = letter(staff_head("Fri, 4 Dec 2026 10:48:02 +0300",
                            "<0A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D@exch.minfin.example>",
                            [("Thread-Topic", ew(NOTICE_SUBJECT)),
                             ("Thread-Index", "AdnH2v3kQ1pZ9yR5T6uVwXyZ0aBcDw=="),
                             ("X-Mailer", "Microsoft Outlook 16.0"),
                             ("Content-Language", "ru")]), body)
    write(HERE, "outlook-ru", raw, own)


def outlook_en() -> None:
    own = "Ольга Викторовна, справка готова, заберите, пожалуйста, в каб. 214.\n#закрыть"
    sig = "Best regards,\nIrina Ivanova\nChief specialist"
    plain = (own + "\n\n" + sig + "\n\n-----Original Message-----\n"
             f"From: {SERVICE} [mailto:{SERVICE_ADDR}] \nSent: Friday, December 04, 2026 10:15 AM"
             f"\nTo: {ACC[0]}\nSubject: {NOTICE_SUBJECT}\n\n" + NOTICE + "\n")
    header = (f"<b>From:</b> {SERVICE} [mailto:{SERVICE_ADDR}] <br><b>Sent:</b> Friday, December"
              f" 04, 2026 10:15 AM<br><b>To:</b> {ACC[0]}<br><b>Subject:</b> "
              f"{html_escape(NOTICE_SUBJECT)}")
    body = alternative("----=_NextPart_000_0012_01DB4621.5C1E7A40",
                       part("text/plain", plain, "windows-1251"),
                       part("text/html", outlook_html(own, sig, header, NOTICE), "windows-1251"))
    raw = letter(staff_head("Fri, 4 Dec 2026 10:55:19 +0300",
                            "<001201db4621$5c1e7a40$145a6ec0$@minfin.example>",
                            [("X-Mailer", "Microsoft Outlook 14.0"),
                             ("Thread-Index", "AdtGIVwegXFWUE1rTqWzFkbWdDVP0Q=="),
                             ("Content-Language", "en-us")]), body)
    write(HERE, "outlook-en", raw, own)


def thunderbird(lang: str) -> None:
    own = ("Ольга Викторовна, справку подготовим к понедельнику.\n\n"
           "Уточните, пожалуйста, нужна ли справка за полный год или за 11 месяцев?\n#ожидание")
    attribution = (f"04.12.2026 10:15, {SERVICE} пишет:" if lang == "ru"
                   else f"On 04.12.2026 10:15, {SERVICE} wrote:")
    plain = (own + "\n\n-- \nИ. И. Иванова, главный специалист\n\n" + attribution + "\n"
             + quote(NOTICE) + "\n")
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
            '</head><body><p>' + html_escape(own).replace("\n", "<br>\n") + '</p>'
            '<div class="moz-signature">-- <br>И. И. Иванова, главный специалист</div>'
            f'<div class="moz-cite-prefix">{html_escape(attribution)}<br></div>'
            '<blockquote type="cite" cite="mid:' + NOTICE_ID + '"><pre class="moz-quote-pre" '
            'wrap="">' + html_escape(NOTICE) + "</pre></blockquote></body></html>")
    body = alternative("------------0Zq3mX8YtB2cR5vN1kL7wJ4e",
                       part("text/plain", plain, "UTF-8", "8bit", "; format=flowed"),
                       part("text/html", html, "UTF-8", "8bit"))
    raw = letter(staff_head("Fri, 4 Dec 2026 11:11:11 +0300",
                            f"<5d2c8e1a-0b7f-4c3e-a9d6-{'e1f2a3b4c5d6' if lang == 'ru' else 'f1e2d3c4b5a6'}"
                            "@minfin.example>",
                            [("User-Agent", "Mozilla Thunderbird"),
                             ("Content-Language", "ru" if lang == "ru" else "en-US")],
                            re="Re: "), body)
    write(HERE, f"thunderbird-{lang}", raw, own)


def r7_ru() -> None:
    """Р7-Офис.Органайзер: reconstructed (Thunderbird-style header-block quote)."""
    own = "Справку выдадим 7 декабря после 14:00.\n#закрыть"
    plain = (own + "\n\n--\nИванова И.И.\n\n-------- Исходное сообщение --------\n"
             f"Тема: \t{NOTICE_SUBJECT}\nДата: \t04.12.2026 10:15\nОт: \t{SVC}\n"
             f"Кому: \t{ACC[0]} <{ACC[1]}>\n\n\n\n" + NOTICE + "\n")
    body = part("text/plain", plain, "UTF-8", "8bit", "; format=flowed")
    raw = letter(staff_head("Fri, 4 Dec 2026 11:20:40 +0300",
                            "<c3a1f0e2-77b4-4d1a-8e2f-90ab12cd34ef@minfin.example>",
                            [("User-Agent", "R7-Office Organizer 2.4")], re="Re: "), body)
    write(HERE, "r7-ru", raw, own)


def myoffice_ru() -> None:
    """МойОфис Почта: reconstructed (HTML only, attribution line above a blockquote)."""
    own = "Добрый день!\nОригинал справки передадим с курьером.\n#закрыть"
    html = ('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
            + html_lines(own) + "<div><br></div><div>--<br>Иванова Ирина</div><div><br></div>"
            f"<div>4 декабря 2026 г. 10:15, {html_escape(SVC)} написал(а):</div>"
            '<blockquote style="border-left:2px solid #ccc;padding-left:8px">'
            + html_lines(NOTICE) + "</blockquote></body></html>")
    body = part("text/html", html, "utf-8", "base64")
    raw = letter(staff_head("Fri, 4 Dec 2026 11:25:03 +0300",
                            "<1764836703.0f3a9c2b@mail.minfin.example>",
                            [("X-Mailer", "MyOffice Mail")], re="Re: "), body)
    write(HERE, "myoffice-ru", raw, own)


def yandex_ru() -> None:
    own = "Здравствуйте!\nСправка нужна за полный год. Спасибо."
    plain = (own + "\n\n-- \nС уважением,\nСмирнова О.В.\n\n"
             f'04.12.2026, 10:15, "{SERVICE}" <{SERVICE_ADDR}>:\n' + quote(ANSWER) + "\n")
    html = ("<div>" + html_escape(own).replace("\n", "</div><div>") + "</div><div> </div>"
            "<div>-- </div><div>С уважением,</div><div>Смирнова О.В.</div><div> </div>"
            f'<div>04.12.2026, 10:15, "{SERVICE}" &lt;{SERVICE_ADDR}&gt;:</div>'
            "<blockquote>" + html_lines(ANSWER) + "</blockquote>")
    body = alternative("----ALT--b3A4c5D6e7F8g9H0i1J2k3L41764840000",
                       part("text/plain", plain, "utf-8", "base64"),
                       part("text/html", html, "utf-8", "base64"))
    raw = letter(client_head("Fri, 04 Dec 2026 13:00:00 +0300",
                             "<2841764842400@mail.yandex.ru>",
                             [("X-Mailer", "Yamail [ http://yandex.ru ] 5.0")]), body)
    write(HERE, "yandex-ru", raw, own)


def mailru_ru() -> None:
    own = "Спасибо! Подскажите, а справку можно получить в электронном виде?"
    plain = (own + "\n \n \n--\nОльга Смирнова\n \n  \n"
             f">Пятница, 4 декабря 2026, 10:15 +03:00 от {SVC}:\n> \n"
             + quote(ANSWER, ">", ">") + "\n \n")
    html = ('<HTML><BODY><div>' + html_escape(own) + '</div><div>&nbsp;</div><div '
            'data-signature-widget="container"><div data-signature-widget="content">'
            '<div>--<br>Ольга Смирнова</div></div></div><div>&nbsp;</div>'
            '<blockquote style="border-left:1px solid #0857A6; margin:10px; padding:0 0 0 10px;">'
            f"Пятница, 4 декабря 2026, 10:15 +03:00 от {html_escape(SVC)}:<br>&nbsp;"
            '<div id=""><div class="js-helper js-readmsg-msg"><div><div>'
            + html_escape(ANSWER).replace("\n", "<br>") + "</div></div></div></div>"
            "</blockquote></BODY></HTML>")
    body = alternative("----ALT--e8D9c0B1a2F3e4D5c6B7a8F9e0D11764843000",
                       part("text/plain", plain, "UTF-8", "base64"),
                       part("text/html", html, "UTF-8", "base64"))
    raw = letter(client_head("Fri, 04 Dec 2026 13:10:00 +0300",
                             "<1764843000.812345678@f512.i.mail.ru>",
                             [("X-Mailer", "Mail.Ru Mailer 1.0"),
                              ("X-Originating-IP", "[95.167.12.34]")], re="Re: "), body)
    write(HERE, "mailru-ru", raw, own)


def apple_mail_ru() -> None:
    own = "Получила, спасибо большое!"
    plain = (own + "\n\nОльга\n\n> 4 дек. 2026 г., в 10:15, " + SVC + " написал(а):\n> \n"
             + quote(ANSWER, "> ", "> ") + "\n\n")
    html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">'
            '</head><body style="overflow-wrap: break-word;">' + html_escape(own)
            + '<div><br></div><div>Ольга</div><div><br><blockquote type="cite"><div>4 дек. 2026 г.,'
            f' в 10:15, {html_escape(SVC)} написал(а):</div><br><div><div>'
            + html_escape(ANSWER).replace("\n", "<br>") + "</div></div></blockquote></div>"
            "</body></html>")
    body = alternative("Apple-Mail=_9C4D2E1F-0A3B-4C5D-8E6F-7A8B9C0D1E2F",
                       part("text/plain", plain, "utf-8", "quoted-printable"),
                       part("text/html", html, "utf-8", "quoted-printable"))
    raw = letter(client_head("Fri, 4 Dec 2026 13:20:00 +0300",
                             "<9C4D2E1F-0A3B-4C5D-8E6F-7A8B9C0D1E2F@econ.admin-smolensk.ru>",
                             [("X-Mailer", "Apple Mail (2.3826.200.121)")]), body)
    write(HERE, "apple-mail-ru", raw, own)


def gmail(lang: str) -> None:
    own = ("Добрый день!\nСправку получила, всё верно.\n\nОльга Смирнова" if lang == "ru"
           else "Добрый день!\nСправку получила, всё верно.")
    expected = "Добрый день!\nСправку получила, всё верно."
    # Gmail wraps its plain text near 76 characters, the attribution line too
    attribution = (f"пт, 4 дек. 2026 г. в 10:15, {SERVICE} <\n{SERVICE_ADDR}>:" if lang == "ru"
                   else f"On Fri, Dec 4, 2026 at 10:15 AM {SERVICE} <\n{SERVICE_ADDR}> wrote:")
    plain = own + "\n\n" + attribution + "\n\n" + quote(ANSWER) + "\n"
    attr_html = html_escape(attribution.replace("<\n", "<"))
    html = ('<div dir="ltr">' + html_escape(own).replace("\n", "<br>") + '</div><br>'
            '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">'
            + attr_html + '<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px '
            '0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
            + html_escape(ANSWER).replace("\n", "<br>") + "</blockquote></div>")
    body = alternative("000000000000a1b2c3d4e5f6a7b8", part("text/plain", plain, "UTF-8", "base64"),
                       part("text/html", html, "UTF-8", "base64"))
    raw = letter(client_head("Fri, 4 Dec 2026 13:30:00 +0300",
                             f"<CAH{lang}4k2Lm9Pq8Rs7Tu6Vw5Xy4Za3Bc2De1Fg0Hi9Jk8Lm7No@mail.gmail.com>",
                             []), body)
    write(HERE, f"gmail-{lang}", raw, expected)


def mutt_en() -> None:
    own = ("Ольга Викторовна, справка подписана, высылаю скан во вложении.\n\n#закрыть")
    plain = (own + "\n\nOn Fri, Dec 04, 2026 at 10:15:03AM +0300, " + SERVICE + " wrote:\n"
             + quote(NOTICE) + "\n\n-- \nIrina Ivanova, minfin\n")
    body = part("text/plain", plain, "utf-8", "8bit")
    raw = letter(staff_head("Fri, 4 Dec 2026 11:40:12 +0300",
                            "<20261204084012.GB7781@ws214.minfin.example>",
                            [("User-Agent", "Mutt/2.2.13 (2024-03-09)"),
                             ("Content-Disposition", "inline")], re="Re: "), body)
    write(HERE, "mutt-en", raw, own)


def snail_en() -> None:
    own = "Справка направлена клиенту.\n#закрыть"
    plain = own + "\n\n" + f"{SVC} wrote:\n\n" + quote(NOTICE, "\t", "\t") + "\n"
    body = part("text/plain", plain, "utf-8", "8bit")
    raw = letter(staff_head("Fri, 04 Dec 2026 11:45:00 +0300",
                            "<20261204084500.Xy3aBcDe@minfin.example>",
                            [("User-Agent", "s-nail v14.9.24")], re="Re: "), body)
    write(HERE, "s-nail-en", raw, own)


def gmail_android_en() -> None:
    own = "Спасибо, всё получила."
    plain = (own + "\n\nOn Fri, Dec 4, 2026, 10:15 AM " + SVC + " wrote:\n\n" + quote(ANSWER)
             + "\n")
    html = ('<div dir="auto">' + html_escape(own) + '</div><br><div class="gmail_quote">'
            f'<div dir="ltr" class="gmail_attr">On Fri, Dec 4, 2026, 10:15 AM {html_escape(SVC)}'
            ' wrote:<br></div><blockquote class="gmail_quote" style="margin:0 0 0 .8ex;'
            'border-left:1px #ccc solid;padding-left:1ex">'
            + html_escape(ANSWER).replace("\n", "<br>") + "</blockquote></div>")
    body = alternative("0000000000003f9e8d7c6b5a4f3e", part("text/plain", plain, "UTF-8", "base64"),
                       part("text/html", html, "UTF-8", "base64"))
    raw = letter(client_head("Fri, 4 Dec 2026 14:02:11 +0300",
                             "<CAKd8e7f6G5h4I3j2K1l0MnOpQrStUvWxYz0123456789@mail.gmail.com>", []),
                 body)
    write(HERE, "gmail-android-en", raw, own)


def k9_ru() -> None:
    own = "Спасибо, справку получила.\nПодскажите, нужна ли справка ещё и за 2025 год?"
    plain = (own + "\n-- \nОтправлено с моего Android-устройства с помощью K-9 Mail. "
             "Пожалуйста, извините за краткость.\n\n"
             f"4 декабря 2026 г. 10:15:03 GMT+03:00, {SVC} пишет:\n" + quote(ANSWER) + "\n")
    body = part("text/plain", plain, "utf-8", "quoted-printable")
    raw = letter(client_head("Fri, 04 Dec 2026 14:10:21 +0300",
                             "<D4E5F6A7-B8C9-4D0E-9F1A-2B3C4D5E6F70@econ.admin-smolensk.ru>",
                             [("User-Agent", "K-9 Mail for Android")]), body)
    write(HERE, "k9-ru", raw, own)


def ios(lang: str) -> None:
    own = "Спасибо, справку получила."
    footer, attribution = (
        ("Отправлено с iPhone", f"4 дек. 2026 г., в 10:15, {SVC} написал(а):") if lang == "ru"
        else ("Sent from my iPhone", f"On 4 Dec 2026, at 10:15, {SVC} wrote:"))
    plain = (own + "\n\n" + footer + "\n\n> " + attribution + "\n> \n" + quote(ANSWER, "> ", "> ")
             + "\n")
    html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">'
            '</head><body dir="auto"><div dir="ltr">' + html_escape(own) + '</div><div dir="ltr">'
            '<br id="lineBreakAtBeginningOfSignature"><div dir="ltr">' + footer + "</div><div "
            'dir="ltr"><br><blockquote type="cite">' + html_escape(attribution)
            + '<br><br></blockquote></div><blockquote type="cite"><div dir="ltr">'
            + html_escape(ANSWER).replace("\n", "<br>") + "</div></blockquote></div></body></html>")
    body = alternative("Apple-Mail-7E1D2C3B-4A59-4687-9786-A5B4C3D2E1F0",
                       part("text/plain", plain, "utf-8", "quoted-printable"),
                       part("text/html", html, "utf-8", "quoted-printable"))
    raw = letter(client_head("Fri, 4 Dec 2026 14:20:44 +0300",
                             f"<7E1D2C3B-4A59-4687-9786-A5B4C3D2E1{'F0' if lang == 'ru' else 'F1'}"
                             "@econ.admin-smolensk.ru>",
                             [("X-Mailer", "iPhone Mail (22B91)")]), body)
    write(HERE, f"ios-{lang}", raw, own)


if __name__ == "__main__":
    outlook_ru()
    outlook_en()
    thunderbird("ru")
    thunderbird("en")
    r7_ru()
    myoffice_ru()
    yandex_ru()
    mailru_ru()
    apple_mail_ru()
    gmail("ru")
    gmail("en")
    mutt_en()
    snail_en()
    gmail_android_en()
    k9_ru()
    ios("ru")
    ios("en")
