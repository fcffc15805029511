"""Writes the golden mail corpus: NAME.eml and NAME.expected.json for each case below.

The messages imitate what a regional ministry's accounting service receives: Outlook/Exchange in
cp1251, Thunderbird in UTF-8, old KOI8-R and cp866 mailers, web mail HTML, bounces, out-of-office
replies and plainly broken mail. Expectations are written by hand next to each message, never taken
from the parser. Run: ``python tests/corpus/mail/make_corpus.py``.
"""

from __future__ import annotations

import base64
import json
import quopri
import zlib
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).parent
CASES: dict[str, tuple[bytes, dict[str, object]]] = {}

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
XLSX = b"PK\x03\x04" + bytes(range(200, 256)) * 20
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def b64(data: bytes | str, enc: str = "utf-8") -> bytes:
    raw = data.encode(enc) if isinstance(data, str) else data
    text = base64.b64encode(raw)
    return b"\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def qp(text: str, enc: str) -> bytes:
    return quopri.encodestring(text.encode(enc))


def ew(text: str, enc: str = "utf-8", kind: str = "B") -> str:
    data = text.encode({"x-mac-cyrillic": "mac_cyrillic"}.get(enc, enc))
    if kind == "B":
        return f"=?{enc}?B?{base64.b64encode(data).decode()}?="
    body = "".join(chr(b) if b < 128 and chr(b).isalnum() else f"={b:02X}" for b in data)
    return f"=?{enc}?Q?{body}?="


def msg(headers: str, body: bytes | str, enc: str = "ascii") -> bytes:
    head = headers.strip("\n").replace("\n", "\r\n").encode(enc)
    data = body.encode(enc) if isinstance(body, str) else body
    return head + b"\r\n\r\n" + data


def case(name: str, raw: bytes, **expected: object) -> None:
    CASES[name] = (raw, expected)


STD = "MIME-Version: 1.0\nDate: Mon, 12 Jan 2026 10:15:00 +0300"


def outlook_cases() -> None:
    text = (
        "Добрый день!\n\nПрошу разъяснить порядок начисления отпускных сотруднику, "
        "принятому 15.12.2025.\nТабель прилагаю.\n\nС уважением,\nглавный бухгалтер\n"
        "МБОУ «Школа №5» г. Смоленска\nПетрова Анна Сергеевна"
    )
    html = "<html><body><p>Добрый день!</p><p>Прошу разъяснить порядок начисления отпускных</p></body></html>"
    name = "Табель за январь.xlsx"
    raw = msg(
        f"""Received: from mail.school5.smolensk.ru by mx.minfin.smolensk.ru; Mon, 12 Jan 2026 10:15:02 +0300
From: {ew("Петрова Анна Сергеевна", "windows-1251")} <Petrova@School5.Smolensk.ru>
To: {ew("Бухгалтерия", "windows-1251", "Q")} <buh@minfin.smolensk.ru>
Subject: {ew("Вопрос по начислению отпускных", "windows-1251", "Q")}
{STD}
Message-ID: <A1B2C3D4E5F6@EXCH01.school5.local>
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AdqE1t2x3YfQ==
Content-Language: ru
Content-Type: multipart/mixed; boundary="----=_NextPart_000_0001_01DA4A2B"
""",
        b"""This is a multipart message in MIME format.\r\n\r\n------=_NextPart_000_0001_01DA4A2B\r
Content-Type: multipart/alternative; boundary="----=_NextPart_001_0002_01DA4A2B"\r
\r
------=_NextPart_001_0002_01DA4A2B\r
Content-Type: text/plain; charset="windows-1251"\r
Content-Transfer-Encoding: quoted-printable\r
\r
"""
        + qp(text, "cp1251")
        + b"""\r
------=_NextPart_001_0002_01DA4A2B\r
Content-Type: text/html; charset="windows-1251"\r
Content-Transfer-Encoding: quoted-printable\r
\r
"""
        + qp(html, "cp1251")
        + b"""\r
------=_NextPart_001_0002_01DA4A2B--\r
\r
------=_NextPart_000_0001_01DA4A2B\r
Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;\r
\tname=\""""
        + ew(name, "windows-1251").encode()
        + b"""\"\r
Content-Transfer-Encoding: base64\r
Content-Disposition: attachment;\r
\tfilename=\""""
        + ew(name, "windows-1251").encode()
        + b"""\"\r
\r
"""
        + b64(XLSX)
        + b"""\r
------=_NextPart_000_0001_01DA4A2B--\r
""",
    )
    case(
        "outlook_cp1251_qp",
        raw,
        from_addr="petrova@school5.smolensk.ru",
        from_name="Петрова Анна Сергеевна",
        subject="Вопрос по начислению отпускных",
        message_id="A1B2C3D4E5F6@EXCH01.school5.local",
        date="2026-01-12T10:15:00+03:00",
        body_contains=["Прошу разъяснить порядок начисления отпускных", "Петрова Анна Сергеевна"],
        body_excludes=["<p>", "=E0"],
        html_contains=["Добрый день!"],
        attachments=[{"filename": name, "size": len(XLSX), "inline": False}],
        automated=None,
        defects=False,
    )

    tnef = b"\x78\x9f\x3e\x22" + bytes(300)
    raw = msg(
        f"""From: "Sidorov Ivan" <sidorov@obrazovanie.smolensk.ru>
To: buh@minfin.smolensk.ru
Subject: {ew("Акт сверки", "windows-1251")}
{STD}
Message-ID: <tnef-1@EXCH02>
Content-Type: multipart/mixed; boundary="b1"
""",
        b"--b1\r\nContent-Type: text/plain; charset=windows-1251\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Направляю акт сверки за 4 квартал.".encode("cp1251")
        + b'\r\n--b1\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="winmail.dat"\r\n\r\n'
        + b64(tnef)
        + b"\r\n--b1--\r\n",
    )
    case(
        "outlook_winmail_dat",
        raw,
        from_addr="sidorov@obrazovanie.smolensk.ru",
        subject="Акт сверки",
        body_contains=["акт сверки за 4 квартал"],
        attachments=[
            {"filename": "winmail.dat", "size": len(tnef), "content_type": "application/ms-tnef"}
        ],
        automated=None,
        defects=False,
    )


def thunderbird_cases() -> None:
    text = "Здравствуйте!\n\nНаправляю справку 2-НДФЛ для сотрудника Кузнецова В.П.\n\n-- \nКузнецова Мария"
    name = "Справка 2-НДФЛ Кузнецов.pdf"
    raw = msg(
        f"""From: {ew("Кузнецова Мария")} <m.kuznetsova@yandex.ru>
To: buh@minfin.smolensk.ru
Cc: "Director" <director@school12.smolensk.ru>, other@school12.smolensk.ru
Subject: {ew("Справка 2-НДФЛ для сотрудника")}
{STD}
Message-ID: <5f1c2a3b-9d8e-4c7b-8a6f-0e1d2c3b4a59@yandex.ru>
User-Agent: Mozilla Thunderbird
Content-Language: ru
Content-Type: multipart/mixed; boundary="------------tb0123456789"
""",
        b"This is a multi-part message in MIME format.\r\n--------------tb0123456789\r\n"
        b"Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64(text)
        + b"\r\n--------------tb0123456789\r\n"
        b"Content-Type: application/pdf; name*=UTF-8''" + quote(name).encode() + b"\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''" + quote(name).encode() + b"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + b64(PDF)
        + b"\r\n--------------tb0123456789--\r\n",
    )
    case(
        "thunderbird_utf8_rfc2231",
        raw,
        from_addr="m.kuznetsova@yandex.ru",
        from_name="Кузнецова Мария",
        subject="Справка 2-НДФЛ для сотрудника",
        cc=["director@school12.smolensk.ru", "other@school12.smolensk.ru"],
        body_contains=["Направляю справку 2-НДФЛ для сотрудника Кузнецова В.П."],
        attachments=[{"filename": name, "size": len(PDF), "content_type": "application/pdf"}],
        automated=None,
        defects=False,
    )

    long_name = "Расчётная ведомость по заработной плате за декабрь 2025 года (уточнённая).xlsx"
    enc = quote(long_name)
    chunks = [enc[i : i + 60] for i in range(0, len(enc), 60)]
    params = "".join(
        f";\r\n filename*{i}*={'UTF-8' + chr(39) * 2 if i == 0 else ''}{c}"
        for i, c in enumerate(chunks)
    )
    raw = msg(
        f"""From: zarplata@roo-vyazma.ru
To: buh@minfin.smolensk.ru
Subject: =?UTF-8?B?0KDQsNGB0YfRkdGC0L3QsNGPINCy0LXQtA==?= =?UTF-8?B?0L7QvNC+0YHRgtGM?=
{STD}
Message-ID: <cont-2231@roo-vyazma.ru>
Content-Type: multipart/mixed; boundary="XX"
""",
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Ведомость во вложении.".encode()
        + b"\r\n--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment"
        + params.encode()
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64(XLSX)
        + b"\r\n--XX--\r\n",
    )
    case(
        "rfc2231_continuations",
        raw,
        from_addr="zarplata@roo-vyazma.ru",
        subject="Расчётная ведомость",
        body_contains=["Ведомость во вложении."],
        attachments=[{"filename": long_name, "size": len(XLSX)}],
        automated=None,
        defects=False,
    )

    name = "Договор №12 от 10.01.2026.docx"
    raw = msg(
        f"""From: {ew("Общество «Ромашка»")} <info@romashka-smol.ru>
To: buh@minfin.smolensk.ru
Subject: {ew("Договор на подпись", "utf-8", "Q")}
{STD}
Message-ID: <mailru-2047-name@mail.ru>
Content-Type: multipart/mixed; boundary="--ALT--mailru"
""",
        b"----ALT--mailru\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64("Добрый день, договор во вложении.")
        + b"\r\n----ALT--mailru\r\n"
        b'Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name="'
        + ew(name).encode()
        + b'"\r\nContent-Disposition: attachment; filename="'
        + ew(name).encode()
        + b'"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(PDF[:500])
        + b"\r\n----ALT--mailru--\r\n",
    )
    case(
        "rfc2047_filename",
        raw,
        from_addr="info@romashka-smol.ru",
        from_name="Общество «Ромашка»",
        subject="Договор на подпись",
        body_contains=["договор во вложении"],
        attachments=[{"filename": name, "size": 500}],
        automated=None,
        defects=False,
    )

    raw = msg(
        """From: hr@school1.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: =?utf-8?B?0J/RgNC40LrQsNC3?=
Date: Tue, 13 Jan 2026 09:00:00 +0300
Message-ID: <raw-name@school1>
Content-Type: multipart/mixed; boundary=zz
""",
        b"--zz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Приказ о приёме.".encode()
        + b'\r\n--zz\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="'
        + "Приказ №7-к.pdf".encode()
        + b'"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(PDF)
        + b'\r\n--zz\r\nContent-Type: application/msword; name="'
        + "Заявление.doc".encode("cp1251")
        + b'"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(b"\xd0\xcf\x11\xe0" * 50)
        + b"\r\n--zz--\r\n",
    )
    case(
        "raw_8bit_filenames",
        raw,
        from_addr="hr@school1.smolensk.ru",
        subject="Приказ",
        body_contains=["Приказ о приёме."],
        attachments=[
            {"filename": "Приказ №7-к.pdf", "size": len(PDF)},
            {"filename": "Заявление.doc", "size": 200},
        ],
        automated=None,
    )


def legacy_charset_cases() -> None:
    text = "Уважаемые коллеги!\nНаправляем сведения о численности работников за декабрь.\nБухгалтерия ЦБС"
    raw = msg(
        f"""From: {ew("Бухгалтерия ЦБС", "koi8-r")} <cbs@smolensk.old-isp.ru>
To: buh@minfin.smolensk.ru
Subject: {ew("Сведения о численности", "koi8-r")}
Date: Wed, 14 Jan 2026 08:30:00 +0300
Message-ID: <20260114083000.1234@cbs>
X-Mailer: The Bat! (v3.5.25) Professional
MIME-Version: 1.0
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: 8bit
""",
        text.encode("koi8_r"),
    )
    case(
        "koi8r_the_bat",
        raw,
        from_addr="cbs@smolensk.old-isp.ru",
        from_name="Бухгалтерия ЦБС",
        subject="Сведения о численности",
        body_contains=["Направляем сведения о численности работников"],
        attachments=[],
        automated=None,
        defects=False,
    )

    text = "Отчёт по форме 0503127 за 2025 год. Исполнитель: Смирнова."
    raw = msg(
        """From: dos-user@rayon.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: =?ibm866?Q?=8E=E2=E7=F1=E2?=
Date: Wed, 14 Jan 2026 08:31:00 +0300
Message-ID: <cp866@rayon>
MIME-Version: 1.0
Content-Type: text/plain; charset="cp866"
Content-Transfer-Encoding: quoted-printable
""",
        qp(text, "cp866"),
    )
    case(
        "cp866_qp",
        raw,
        from_addr="dos-user@rayon.smolensk.ru",
        subject="Отчёт",
        body_contains=["Отчёт по форме 0503127 за 2025 год", "Смирнова"],
        automated=None,
        defects=False,
    )

    text = "Просим сообщить реквизиты для перечисления субсидии. Директор МБУ «Спортшкола»."
    raw = (
        "From: sport@mbu-sport.ru\r\nTo: buh@minfin.smolensk.ru\r\nSubject: Реквизиты для субсидии"
        "\r\nDate: Thu, 15 Jan 2026 11:00:00 +0300\r\nMessage-ID: <undeclared@sport>\r\n\r\n" + text
    ).encode("cp1251")
    case(
        "undeclared_8bit_cp1251",
        raw,
        from_addr="sport@mbu-sport.ru",
        subject="Реквизиты для субсидии",
        body_contains=["Просим сообщить реквизиты для перечисления субсидии"],
        automated=None,
        defects=True,
    )

    text = "Добрый день! Прошу подтвердить получение платёжного поручения № 345 от 12.01.2026."
    raw = msg(
        f"""From: kazna@fk-smolensk.ru
To: buh@minfin.smolensk.ru
Subject: {ew("Новое письмо", "koi8-r")}
Date: Thu, 15 Jan 2026 12:00:00 +0300
Message-ID: <wrong-cs@fk>
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: 8bit
""",
        text.encode("cp1251"),
    )
    case(
        "wrong_declared_charset",
        raw,
        from_addr="kazna@fk-smolensk.ru",
        subject="Новое письмо",
        body_contains=["Прошу подтвердить получение платёжного поручения № 345"],
        defects=True,
    )

    raw = msg(
        """From: old@village.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: =?x-unknown-cyr?Q?=C7=E0=EF=F0=EE=F1?=
Date: Thu, 15 Jan 2026 12:05:00 +0300
Message-ID: <unknown-cs@village>
Content-Type: text/plain; charset="x-unknown-cyr"
Content-Transfer-Encoding: 8bit
""",
        "Запрос о задолженности по коммунальным платежам сельского поселения.".encode("cp1251"),
    )
    case(
        "unknown_charset",
        raw,
        from_addr="old@village.smolensk.ru",
        subject="Запрос",
        body_contains=["Запрос о задолженности по коммунальным платежам"],
        defects=True,
    )

    raw = msg(
        f"""From: mac@design.ru
To: buh@minfin.smolensk.ru
Subject: {ew("Счёт", "x-mac-cyrillic")}
Date: Thu, 15 Jan 2026 12:06:00 +0300
Message-ID: <mac@design>
Content-Type: text/plain; charset=x-mac-cyrillic
Content-Transfer-Encoding: 8bit
""",
        "Счёт на оплату услуг по вёрстке отчёта.".encode("mac_cyrillic"),
    )
    case(
        "mac_cyrillic",
        raw,
        from_addr="mac@design.ru",
        subject="Счёт",
        body_contains=["Счёт на оплату услуг по вёрстке отчёта."],
        defects=False,
    )

    raw = (
        "From: Иванов <ivanov@rambler.ru>\r\nTo: buh@minfin.smolensk.ru\r\nSubject: Срочно: "
        + ew("перерасчёт")
        + " пенсии\r\nDate: Fri, 16 Jan 2026 09:00:00 +0300\r\n"
        "Message-ID: <mixed-hdr@rambler>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Прошу сделать перерасчёт."
    ).encode("utf-8")
    case(
        "raw_utf8_headers",
        raw,
        from_addr="ivanov@rambler.ru",
        from_name="Иванов",
        subject="Срочно: перерасчёт пенсии",
        body_contains=["Прошу сделать перерасчёт."],
        defects=False,
    )


def html_cases() -> None:
    html = """<!DOCTYPE html><html><head><title>Письмо</title>
<style>body { color: red; } .x { font-size: 12px }</style>
<script>alert('xss')</script></head>
<body onload="steal()"><div>Добрый&nbsp;день!</div><div><br></div>
<div>Прошу выслать &laquo;Расчётный листок&raquo; за&nbsp;декабрь &amp; январь.</div>
<ul><li>Фамилия: Орлова</li><li>Табельный № 1045</li></ul>
<table><tr><td>Месяц</td><td>Сумма</td></tr><tr><td>Декабрь</td><td>45&nbsp;000</td></tr></table>
<img src="http://tracker.example.com/pixel.gif?id=42" width="1" height="1">
<a href="javascript:evil()">ссылка</a> <a href="https://minfin.admin-smolensk.ru/">сайт</a>
<div>--<br>Орлова Е.В.</div></body></html>"""
    raw = msg(
        f"""From: {ew("Елена Орлова")} <orlova.e@mail.ru>
To: buh@minfin.smolensk.ru
Subject: {ew("Расчётный листок")}
{STD}
Message-ID: <1736665500.123456789@f123.i.mail.ru>
X-Mailer: Mail.Ru Mailer 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64
""",
        b64(html),
    )
    case(
        "html_only_mailru",
        raw,
        from_addr="orlova.e@mail.ru",
        subject="Расчётный листок",
        body_contains=[
            "Добрый день!",
            "Прошу выслать «Расчётный листок» за декабрь & январь.",
            "- Фамилия: Орлова",
            "Декабрь | 45 000",
            "Орлова Е.В.",
        ],
        body_excludes=["<div", "alert(", "color: red", "&nbsp;", "&laquo;", "Письмо"],
        html_contains=["Расчётный листок", "https://minfin.admin-smolensk.ru/"],
        html_excludes=[
            "<script",
            "alert(",
            "onload",
            "tracker.example.com",
            "javascript:",
            "<style",
        ],
        attachments=[],
        automated=None,
        defects=False,
    )

    html = (
        "<div>Здравствуйте,</div><div>&nbsp;</div><div>вопрос по авансовому отчёту "
        "командированного сотрудника.</div><div>&nbsp;</div><div>-- <br />С уважением, "
        "Никитин П.</div>"
    )
    raw = msg(
        f"""From: nikitin-p@yandex.ru
To: buh@minfin.smolensk.ru
Subject: {ew("Авансовый отчёт")}
{STD}
Message-ID: <123451736665500@mail.yandex.ru>
Content-Type: multipart/alternative; boundary="----==--bound.1.yandex"
""",
        b"------==--bound.1.yandex\r\nContent-Type: text/plain\r\n\r\n\r\n"
        b"------==--bound.1.yandex\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        + qp(html, "utf-8")
        + b"\r\n------==--bound.1.yandex--\r\n",
    )
    case(
        "yandex_empty_plain_alternative",
        raw,
        from_addr="nikitin-p@yandex.ru",
        subject="Авансовый отчёт",
        body_contains=["вопрос по авансовому отчёту командированного сотрудника.", "Никитин П."],
        body_excludes=["<div>", "<br"],
        automated=None,
        defects=False,
    )

    html = '<p>Смотрите схему ниже:</p><img src="cid:image001.png@01DA4A2B"><p>Спасибо.</p>'
    raw = msg(
        """From: it@minfin.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: Schema
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <related@minfin>
Content-Type: multipart/related; boundary="rel"; type="text/html"
""",
        b"--rel\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + html.encode()
        + b"\r\n--rel\r\nContent-Type: image/png\r\nContent-ID: <image001.png@01DA4A2B>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(PNG) + b"\r\n--rel--\r\n",
    )
    case(
        "html_related_inline_image",
        raw,
        from_addr="it@minfin.smolensk.ru",
        subject="Schema",
        body_contains=["Смотрите схему ниже:", "Спасибо."],
        html_contains=['src="cid:image001.png@01DA4A2B"'],
        attachments=[{"filename": "вложение-1.png", "size": len(PNG), "inline": True}],
        defects=False,
    )


def inner_letter(subject: str, sender: str, text: str, extra: bytes = b"") -> bytes:
    return msg(
        f"""From: {sender}
To: director@school3.smolensk.ru
Subject: {ew(subject)}
Date: Fri, 09 Jan 2026 16:00:00 +0300
Message-ID: <inner-{zlib.crc32(subject.encode())}@school3>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
""",
        text.encode() + extra,
    )


def forward_cases() -> None:
    inner = inner_letter(
        "Заявление на материальную помощь",
        "teacher@school3.smolensk.ru",
        "Прошу оказать материальную помощь в связи с рождением ребёнка.",
    )
    raw = msg(
        f"""From: director@school3.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: {ew("Fwd: Заявление на материальную помощь")}
{STD}
Message-ID: <fwd-1@school3>
Content-Type: multipart/mixed; boundary="fw"
""",
        "--fw\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nПересылаю заявление, прошу рассмотреть.\r\n"
        "--fw\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n".encode()
        + inner
        + b"\r\n--fw--\r\n",
    )
    case(
        "forwarded_rfc822",
        raw,
        from_addr="director@school3.smolensk.ru",
        subject="Fwd: Заявление на материальную помощь",
        body_contains=["Пересылаю заявление, прошу рассмотреть."],
        body_excludes=["рождением ребёнка"],
        forwarded=[
            {
                "subject": "Заявление на материальную помощь",
                "from_addr": "teacher@school3.smolensk.ru",
                "body_contains": ["Прошу оказать материальную помощь"],
            }
        ],
        attachments=[],
        defects=False,
    )

    level3 = inner_letter("Исходный запрос", "citizen@mail.ru", "Где мой налоговый вычет?")
    level2 = msg(
        """From: secretary@admin.smolensk.ru
Subject: FW: request
Date: Sat, 10 Jan 2026 10:00:00 +0300
Content-Type: multipart/mixed; boundary="l2"
""",
        b"--l2\r\nContent-Type: text/plain\r\n\r\nFor action.\r\n--l2\r\nContent-Type: message/rfc822\r\n\r\n"
        + level3
        + b"\r\n--l2--\r\n",
    )
    raw = msg(
        f"""From: reception@minfin.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: FW: FW: request
{STD}
Message-ID: <fwd-chain@minfin>
Content-Type: multipart/mixed; boundary="l1"
""",
        b"--l1\r\nContent-Type: text/plain\r\n\r\n\r\n--l1\r\nContent-Type: message/rfc822\r\n\r\n"
        + level2
        + b"\r\n--l1--\r\n",
    )
    case(
        "forward_only_chain",
        raw,
        from_addr="reception@minfin.smolensk.ru",
        subject="FW: FW: request",
        body_excludes=["For action.", "налоговый вычет"],
        forwarded=[
            {
                "subject": "FW: request",
                "from_addr": "secretary@admin.smolensk.ru",
                "body_contains": ["For action."],
                "forwarded": [
                    {
                        "subject": "Исходный запрос",
                        "from_addr": "citizen@mail.ru",
                        "body_contains": ["Где мой налоговый вычет?"],
                    }
                ],
            }
        ],
        defects=False,
    )

    inner = inner_letter("Справка", "a@b.ru", "Вложенное письмо в base64.")
    raw = msg(
        """From: gateway@edo.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: Forward (b64)
Date: Sat, 10 Jan 2026 10:00:00 +0300
Message-ID: <fwd-b64@edo>
Content-Type: multipart/mixed; boundary="g"
""",
        b"--g\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--g\r\nContent-Type: message/rfc822; "
        b'name="letter.eml"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(inner)
        + b"\r\n--g--\r\n",
    )
    case(
        "forwarded_base64_rfc822",
        raw,
        from_addr="gateway@edo.smolensk.ru",
        body_contains=["See attached."],
        forwarded=[
            {
                "subject": "Справка",
                "from_addr": "a@b.ru",
                "body_contains": ["Вложенное письмо в base64."],
            }
        ],
    )

    quoted = (
        "Спасибо, получили.\n\n12.01.2026 10:15, Бухгалтерия пишет:\n> Добрый день!\n"
        "> Направляем расчёт [БУХ-2026-000123].\n>\n> -- \n> Бухгалтерия Минфина"
    )
    raw = msg(
        f"""From: Petrova@School5.Smolensk.ru
To: buh@minfin.smolensk.ru
Subject: {ew("Re: [БУХ-2026-000123] Расчёт отпускных")}
{STD}
Message-ID: <reply-1@school5>
In-Reply-To: <buh.20260112.abc123.sig456@minfin.smolensk.ru>
References: <A1B2C3D4E5F6@EXCH01.school5.local>
 <buh.20260112.abc123.sig456@minfin.smolensk.ru>
Content-Type: text/plain; charset=utf-8; format=flowed
Content-Transfer-Encoding: 8bit
""",
        quoted.encode(),
    )
    case(
        "reply_with_quote",
        raw,
        from_addr="petrova@school5.smolensk.ru",
        subject="Re: [БУХ-2026-000123] Расчёт отпускных",
        in_reply_to=["buh.20260112.abc123.sig456@minfin.smolensk.ru"],
        references=[
            "A1B2C3D4E5F6@EXCH01.school5.local",
            "buh.20260112.abc123.sig456@minfin.smolensk.ru",
        ],
        body_contains=["Спасибо, получили.", "> Направляем расчёт [БУХ-2026-000123]."],
        automated=None,
        defects=False,
    )


def automated_cases() -> None:
    raw = msg(
        f"""From: {ew("Смирнов Олег Петрович", "koi8-r")} <smirnov@minfin.smolensk.ru>
To: buh@minfin.smolensk.ru
Subject: {ew("Автоматический ответ: [БУХ-2026-000124] Запрос", "koi8-r")}
{STD}
Message-ID: <oof-exch@EXCH01>
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: smirnov@minfin.smolensk.ru
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: 8bit
""",
        "Я в отпуске до 26.01.2026. По срочным вопросам обращайтесь к Ивановой И.И.".encode(
            "koi8_r"
        ),
    )
    case(
        "ooo_exchange_ru",
        raw,
        from_addr="smirnov@minfin.smolensk.ru",
        subject="Автоматический ответ: [БУХ-2026-000124] Запрос",
        body_contains=["Я в отпуске до 26.01.2026."],
        automated="auto-reply",
        defects=False,
    )

    raw = msg(
        f"""From: kovaleva@yandex.ru
To: buh@minfin.smolensk.ru
Subject: {ew("Автоответ: Re: Справка")}
{STD}
Message-ID: <autoreply-yandex@yandex.ru>
Content-Type: text/plain; charset=utf-8
""",
        "Нет на месте до понедельника.".encode(),
    )
    case(
        "ooo_yandex_subject",
        raw,
        from_addr="kovaleva@yandex.ru",
        subject="Автоответ: Re: Справка",
        automated="auto-reply",
        defects=False,
    )

    raw = msg(
        """From: user@mail.ru
To: buh@minfin.smolensk.ru
Subject: Re: request
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <x-autoreply@mail.ru>
X-Autoreply: yes
Content-Type: text/plain; charset=utf-8
""",
        "Out of office.",
    )
    case("ooo_mailru_header", raw, from_addr="user@mail.ru", automated="auto-reply")

    original = (
        "Return-Path: <buh@minfin.smolensk.ru>\r\nFrom: buh@minfin.smolensk.ru\r\n"
        "To: nobody@school99.smolensk.ru\r\nSubject: [БУХ-2026-000125] Ответ\r\n"
        "Message-ID: <buh.out.1@minfin.smolensk.ru>\r\n"
    ).encode()
    raw = msg(
        """Return-Path: <>
From: MAILER-DAEMON@mx.minfin.smolensk.ru (Mail Delivery System)
To: buh@minfin.smolensk.ru
Subject: Undelivered Mail Returned to Sender
Date: Fri, 16 Jan 2026 10:01:00 +0300
Message-ID: <20260116070100.ABC1@mx.minfin.smolensk.ru>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="DSN.1"
""",
        b"This is a MIME-encapsulated message.\r\n\r\n--DSN.1\r\nContent-Description: Notification\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\nThis is the mail system at host mx.minfin.smolensk.ru.\r\n\r\n"
        b"I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n"
        b"<nobody@school99.smolensk.ru>: host mx.school99.smolensk.ru said: 550 5.1.1 User unknown\r\n\r\n"
        b"--DSN.1\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.minfin.smolensk.ru\r\nArrival-Date: Fri, 16 Jan 2026 10:00:59 +0300\r\n\r\n"
        b"Final-Recipient: rfc822; nobody@school99.smolensk.ru\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--DSN.1\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        + original
        + b"\r\n--DSN.1--\r\n",
    )
    case(
        "dsn_postfix",
        raw,
        from_addr="mailer-daemon@mx.minfin.smolensk.ru",
        subject="Undelivered Mail Returned to Sender",
        body_contains=["550 5.1.1 User unknown"],
        attachments=[
            {"filename": "вложение-1.txt", "content_type": "message/delivery-status"},
            {"filename": "вложение-2.txt", "size": len(original)},
        ],
        automated="bounce",
    )

    html = "<p><b>Не удалось доставить сообщение следующим получателям:</b></p><p>ivanov@school7.ru</p>"
    raw = msg(
        f"""From: postmaster@minfin.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: {ew("Недоставленное сообщение: [БУХ-2026-000126] Ответ", "utf-8")}
{STD}
Message-ID: <exch-ndr-1@EXCH01.minfin.local>
Content-Language: ru-RU
Content-Type: multipart/report; report-type=delivery-status; boundary="_000_ndr_"
""",
        b'--_000_ndr_\r\nContent-Type: multipart/alternative; boundary="_001_ndr_"\r\n\r\n'
        b"--_001_ndr_\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64(html)
        + b"\r\n--_001_ndr_--\r\n\r\n--_000_ndr_\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns;EXCH01.minfin.local\r\n\r\nFinal-recipient: RFC822; ivanov@school7.ru\r\n"
        b"Action: failed\r\nStatus: 5.1.10\r\n\r\n--_000_ndr_--\r\n",
    )
    case(
        "dsn_exchange_ru",
        raw,
        from_addr="postmaster@minfin.smolensk.ru",
        subject="Недоставленное сообщение: [БУХ-2026-000126] Ответ",
        body_contains=["Не удалось доставить сообщение следующим получателям:"],
        body_excludes=["<b>"],
        automated="bounce",
    )

    raw = msg(
        """From: "Рассылка Минфина России" <news@minfin.gov.ru>
To: buh@minfin.smolensk.ru
Subject: =?utf-8?B?0J3QvtCy0L7RgdGC0Lg=?=
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <list-1@lists.minfin.gov.ru>
List-Id: <news.minfin.gov.ru>
List-Unsubscribe: <mailto:unsubscribe@minfin.gov.ru>
Content-Type: text/plain; charset=utf-8
""",
        "Новости бюджетного учёта.",
        "utf-8",
    )
    case("mailing_list", raw, from_addr="news@minfin.gov.ru", subject="Новости", automated="list")

    raw = msg(
        """From: promo@tender-info.ru
To: buh@minfin.smolensk.ru
Subject: Tenders of the week
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <bulk-1@tender-info.ru>
Precedence: bulk
List-Unsubscribe: <https://tender-info.ru/u/1>
Content-Type: text/plain
""",
        "Weekly digest.",
    )
    case("bulk_precedence", raw, from_addr="promo@tender-info.ru", automated="bulk")

    raw = msg(
        """From: Gosuslugi <no-reply@gosuslugi.ru>
To: buh@minfin.smolensk.ru
Subject: =?utf-8?B?0KPQstC10LTQvtC80LvQtdC90LjQtQ==?=
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <n1@gosuslugi.ru>
Content-Type: text/plain; charset=utf-8
""",
        "Ваше заявление принято.".encode(),
    )
    case(
        "noreply_notification",
        raw,
        from_addr="no-reply@gosuslugi.ru",
        subject="Уведомление",
        automated="auto-generated",
    )

    raw = msg(
        """From: buh@minfin.smolensk.ru
To: client@school5.smolensk.ru
Subject: =?utf-8?B?W9CR0KPQpS0yMDI2LTAwMDEyN10g0J7RgtCy0LXRgg==?=
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <buh.out.2@minfin.smolensk.ru>
X-Buhdesk-Loop: minfin
Auto-Submitted: auto-generated
Content-Type: text/plain; charset=utf-8
""",
        "Ваше обращение зарегистрировано.".encode(),
    )
    case(
        "own_loop",
        raw,
        from_addr="buh@minfin.smolensk.ru",
        subject="[БУХ-2026-000127] Ответ",
        automated="loop",
        own_addresses=["BUH@minfin.smolensk.ru"],
    )

    raw = msg(
        """From: BUH@Minfin.Smolensk.ru
To: client@school5.smolensk.ru
Subject: copy
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <own-1@minfin>
""",
        "copy",
    )
    case(
        "own_address",
        raw,
        from_addr="buh@minfin.smolensk.ru",
        automated="own",
        own_addresses=["buh@minfin.smolensk.ru"],
    )


def broken_cases() -> None:
    raw = msg(
        """From: anon@school8.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: no id no date
""",
        "Письмо без Message-ID и Date.".encode(),
        "ascii",
    )
    case(
        "no_message_id_no_date",
        raw,
        from_addr="anon@school8.smolensk.ru",
        subject="no id no date",
        message_id=None,
        date=None,
        body_contains=["Письмо без Message-ID и Date."],
    )

    raw = msg(
        """From: broken@school9.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: missing boundary
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <nob@school9>
Content-Type: multipart/mixed
""",
        b"--lost_boundary_42\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Текст письма с потерянной границей.".encode()
        + b"\r\n--lost_boundary_42\r\n"
        b'Content-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(PDF)
        + b"\r\n--lost_boundary_42--\r\n",
    )
    case(
        "missing_boundary",
        raw,
        from_addr="broken@school9.smolensk.ru",
        body_contains=["Текст письма с потерянной границей."],
        body_excludes=["lost_boundary_42"],
        attachments=[{"filename": "a.pdf", "size": len(PDF)}],
        defects=True,
    )

    encoded = b64("Текст в base64, обрезанный на середине передачи данных.").replace(b"\r\n", b"")
    raw = msg(
        """From: cut@school10.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: truncated base64
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <cut@school10>
Content-Type: multipart/mixed; boundary="c"
""",
        b"--c\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded[:-7]
        + b'\r\n--c\r\nContent-Type: application/pdf; name="cut.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(PDF)[:1001] + b"\r\n--c--\r\n",
    )
    case(
        "truncated_base64",
        raw,
        from_addr="cut@school10.smolensk.ru",
        body_contains=["Текст в base64, обрезанный"],
        attachments=[{"filename": "cut.pdf"}],
        defects=True,
    )

    raw = msg(
        """From: unterminated@school11.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: unterminated
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <unt@school11>
Content-Type: multipart/mixed; boundary="u"
""",
        b"--u\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Начало письма.".encode()
        + b'\r\n--u\r\nContent-Type: application/pdf; name="u.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(PDF)
        + b"\r\n",
    )
    case(
        "unterminated_multipart",
        raw,
        from_addr="unterminated@school11.smolensk.ru",
        body_contains=["Начало письма."],
        attachments=[{"filename": "u.pdf", "size": len(PDF)}],
        defects=True,
    )

    raw = (
        b"From: headers-only@school12.smolensk.ru\r\nTo: buh@minfin.smolensk.ru\r\n"
        b"Subject: =?utf-8?B?0YLQvtC70YzQutC+INC30LDQs9C+0LvQvtCy0L7Qug==?=\r\n"
        b"Date: Fri, 16 Jan 2026 10:00:00 +0300\r\n"
    )
    case(
        "header_only",
        raw,
        from_addr="headers-only@school12.smolensk.ru",
        subject="только заголовок",
        body_text="",
        attachments=[],
        body_html_is_none=True,
    )

    line = ("Очень длинная строка без переносов; " * 3000) + "КОНЕЦ"
    raw = msg(
        """From: long@school13.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: long line
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <long@school13>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
""",
        line.encode(),
    )
    case(
        "very_long_line",
        raw,
        from_addr="long@school13.smolensk.ru",
        body_contains=["без переносов; КОНЕЦ"],
    )

    raw = msg(
        """From: nul@school14.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: nul\x00 byte
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <nul@school14>
Content-Type: text/plain; charset=utf-8
""",
        "Текст\x00 с нулевым\x00 байтом.".encode(),
    )
    case(
        "nul_bytes",
        raw,
        from_addr="nul@school14.smolensk.ru",
        subject="nul byte",
        body_contains=["Текст с нулевым байтом."],
        body_excludes=["\x00"],
    )

    raw = b"From MAILER-DAEMON Fri Jan 16 10:00:00 2026\n" + msg(
        """From: mbox@school15.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: mbox
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <mbox@school15>
""",
        "Из mbox-архива.".encode(),
    )
    case(
        "mbox_from_line",
        raw,
        from_addr="mbox@school15.smolensk.ru",
        subject="mbox",
        body_contains=["Из mbox-архива."],
        automated=None,
    )

    parts = b"".join(b"--m\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(600))
    raw = msg(
        """From: many@school16.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: many parts
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <many@school16>
Content-Type: multipart/mixed; boundary="m"
""",
        parts + b"--m--\r\n",
    )
    case(
        "too_many_parts",
        raw,
        from_addr="many@school16.smolensk.ru",
        body_contains=["part 0", "part 497"],
        body_excludes=["part 599"],
        defects=True,
    )

    raw = msg(
        """From: big@school17.smolensk.ru
To: buh@minfin.smolensk.ru
Subject: big attachment
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <big@school17>
Content-Type: multipart/mixed; boundary="b"
""",
        b"--b\r\nContent-Type: text/plain\r\n\r\nscan attached\r\n--b\r\nContent-Type: image/jpeg; name=scan.jpg\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(bytes(5000)) + b"\r\n--b--\r\n",
    )
    case(
        "attachment_over_limit",
        raw,
        from_addr="big@school17.smolensk.ru",
        parse_kwargs={"max_attachment_bytes": 4096},
        attachments=[{"filename": "scan.jpg", "size": 5000, "truncated": True, "data_len": 0}],
        defects=True,
    )


def hostile_names_case() -> None:
    names = [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\System32\\evil.exe", "evil.exe"),
        ("docs/2026/report.txt", "report.txt"),
        ("CON.txt", "_CON.txt"),
        ("\x07bell\x1b[31m.txt", "bell[31m.txt"),
        ("invoice\u202etxt.exe", "invoicetxt.exe"),
        ("..hidden", "hidden"),
        ("a" * 296 + ".pdf", "a" * 176 + ".pdf"),
        ("", "вложение-9.pdf"),
        ('what?<>|"*.doc', "what______.doc"),
    ]
    body = b""
    for given, _ in names:
        param = f"; filename*=utf-8''{quote(given, safe='')}" if given else ""
        body += (
            b"--h\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment"
            + param.encode()
            + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b64(b"x" * 10)
            + b"\r\n"
        )
    raw = msg(
        """From: attacker@evil.example
To: buh@minfin.smolensk.ru
Subject: hostile names
Date: Fri, 16 Jan 2026 10:00:00 +0300
Message-ID: <hostile@evil>
Content-Type: multipart/mixed; boundary="h"
""",
        body + b"--h--\r\n",
    )
    case(
        "hostile_attachment_names",
        raw,
        from_addr="attacker@evil.example",
        attachments=[{"filename": safe, "size": 10} for _, safe in names],
    )


CHARSET_HEAD = ("MIME-Version: 1.0\nDate: Fri, 04 Dec 2026 09:30:00 +0300\n"
                "To: buh@minfin.example")


def charset_case(name: str, charset: str | None, subject: str, subject_field: bytes | str,
                 body: str, body_bytes: bytes, cte: str = "8bit", from_field: str | None = None,
                 **expected: object) -> None:
    """One letter of a charset family: the subject as written in the header (an encoded word or
    raw bytes) and the body's bytes as the mailer sent them; expectations written by hand."""
    ctype = f'text/plain; charset="{charset}"' if charset else "text/plain"
    sender = from_field or f"sender@{name.replace('_', '-')}.example"
    head = (f"From: {sender}\nMessage-ID: <{name}@corpus.example>\n{CHARSET_HEAD}\n"
            f"Content-Type: {ctype}\nContent-Transfer-Encoding: {cte}\n").encode("ascii")
    subject_line = (subject_field.encode("ascii") if isinstance(subject_field, str)
                    else subject_field)
    raw = (head.replace(b"\n", b"\r\n") + b"Subject: " + subject_line + b"\r\n\r\n" + body_bytes)
    expected.setdefault("body_text", body)
    case(name, raw, subject=subject, **expected)


def charset_cases() -> None:
    """One letter per charset family the service meets (issue 17, item 8)."""
    ru = "Добрый день!\nПрошу выдать справку о доходах за 2026 год.\nСмирнова О. В."
    charset_case("charset_cp1251", "windows-1251", "Справка о доходах",
                 ew("Справка о доходах", "windows-1251"), ru, qp(ru, "cp1251"),
                 "quoted-printable")
    charset_case("charset_koi8r", "koi8-r", "Справка о доходах", ew("Справка о доходах", "koi8-r"),
                 ru, ru.encode("koi8-r"))
    utf = "Добрый день! Отчёт «0503127» готов ✅ — 5 000 ₽."
    charset_case("charset_utf8", "utf-8", "Отчёт «0503127» ✅", ew("Отчёт «0503127» ✅"), utf,
                 b64(utf), "base64")
    de = "Sehr geehrte Damen und Herren,\nanbei die Rechnung für Jürgen Müller (Köln).\nGrüße"
    charset_case("charset_iso8859_1", "iso-8859-1", "Rechnung für Jürgen Müller",
                 ew("Rechnung für Jürgen Müller", "iso-8859-1", "Q"), de, qp(de, "latin-1"),
                 "quoted-printable")
    euro = "Facture n° 12 : 1 250 € à régler avant le 15 décembre."
    charset_case("charset_iso8859_15", "iso-8859-15", "Facture n° 12 — 1 250 €",
                 ew("Facture n° 12 — 1 250 €", "utf-8"), euro, euro.encode("iso8859_15"))
    zh = "您好！\n关于二零二六年度工资发放的通知，请查收附件。"
    charset_case("charset_gb2312", "gb2312", "关于工资发放的通知", ew("关于工资发放的通知", "gb2312"),
                 zh, b64(zh, "gb2312"), "base64")
    # GBK characters (镕, 喆) under a GB2312 label, and a raw 8-bit GBK subject: no label at all
    gbk = "朱镕基同志与张喆的会议纪要。"
    charset_case("charset_gbk_raw_subject", "gb2312", "会议纪要（朱镕基）",
                 "会议纪要（朱镕基）".encode("gbk"), gbk, gbk.encode("gbk"))
    tw = "您好：\n關於工資發放的通知，請查收附件。"
    charset_case("charset_big5", "big5", "關於工資發放的通知", ew("關於工資發放的通知", "big5"), tw,
                 b64(tw, "big5"), "base64")
    ja = "お世話になっております。\n給与の支払いについてのお知らせです。"
    charset_case("charset_iso2022jp", "iso-2022-jp", "給与のお知らせ",
                 ew("給与のお知らせ", "iso-2022-jp"), ja, ja.encode("iso2022_jp"), "7bit")
    # no charset declared: only the ISO-2022 escape sequences say it is Japanese
    charset_case("charset_iso2022jp_undeclared", None, "給与のお知らせ",
                 ew("給与のお知らせ", "iso-2022-jp"), ja, ja.encode("iso2022_jp"), "7bit")
    # labelled ISO-2022-JP, sent as raw Shift_JIS bytes (some Japanese web mailers)
    charset_case("charset_iso2022jp_8bit_sjis", "iso-2022-jp", "給与のお知らせ",
                 ew("給与のお知らせ", "iso-2022-jp"), ja, ja.encode("shift_jis"))
    sj = "添付ファイル①と②をご確認ください。"  # ① ② are Windows (cp932) characters
    charset_case("charset_shift_jis", "shift_jis", "添付ファイルのご確認",
                 ew("添付ファイルのご確認", "shift_jis"), sj, b64(sj, "cp932"), "base64")
    ko = "안녕하세요.\n급여 지급에 관한 안내입니다. 첨부 파일을 확인하십시오."
    charset_case("charset_euc_kr", "euc-kr", "급여 지급 안내",
                 "=?ks_c_5601-1987?B?" + base64.b64encode("급여 지급 안내".encode("cp949")).decode()
                 + "?=", ko, ko.encode("euc_kr"))
    # nothing declared: raw 8-bit cp1251 in the subject, the sender's name and the body
    charset_case("charset_undeclared_cyrillic", None, "Справка о доходах",
                 "Справка о доходах".encode("cp1251"), ru, ru.encode("cp1251"),
                 from_field="Smirnova <smirnova@rayon.example>")
    # nothing declared: raw 8-bit ISO-8859-1 in the subject and the body
    charset_case("charset_undeclared_latin1", None, "Grüße aus München",
                 "Grüße aus München".encode("latin-1"), de, de.encode("latin-1"))


def parse_fix_cases() -> None:
    """An address inside an encoded word, base64 bodies a mailer mislabelled, letters with
    nothing visible in them."""
    mailbox = base64.b64encode("Иван Петров <Ivan.Petrov@rayon.example>".encode()).decode()
    case("address_in_encoded_word",
         msg(f"From: =?utf-8?B?{mailbox}?=\nTo: buh@minfin.example\nSubject: test\n{STD}\n"
             "Content-Type: text/plain; charset=utf-8", "text"),
         from_addr="ivan.petrov@rayon.example", from_name="Иван Петров", body_text="text")
    text = "Добрый день! Справка во вложении не нужна, спасибо."
    case("base64_quoted_cte",
         msg(f"From: a@rayon.example\nSubject: cte\n{STD}\n"
             'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: "Base64"',
             b64(text)),
         body_text=text)
    case("base64_without_cte",
         msg(f"From: a@rayon.example\nSubject: no cte\n{STD}\n"
             "Content-Type: text/plain; charset=utf-8", b64(text + " " + text) + b"\r\n"),
         body_text=text + " " + text)
    case("no_visible_content_plain",
         msg(f"From: a@rayon.example\nSubject: scan\n{STD}\n"
             "Content-Type: multipart/alternative; boundary=nv",
             "--nv\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\u00a0\r\n\u200b\r\n \r\n"
             "--nv\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
             "<html><body><div>&nbsp;</div><div><br></div></body></html>\r\n--nv--\r\n", "utf-8"),
         body_text="")
    case("no_visible_content_html",
         msg(f"From: a@rayon.example\nSubject: image\n{STD}\n"
             "Content-Type: text/html; charset=utf-8",
             '<html><body><p>&nbsp;</p><img src="cid:scan1"><p>\u200b</p></body></html>', "utf-8"),
         body_text="")


def arf_case() -> None:
    """An abuse/feedback report (RFC 5965) from a mail provider's feedback loop about one of our
    answers: automated mail, not a person's letter and not a delivery failure."""
    original = (f"From: {ew('Бухгалтерская служба')} <buh@minfin.example>\r\n"
                "To: smirnova@mail.example\r\nSubject: =?utf-8?B?"
                + base64.b64encode("[БУХ-2026-000123] Ответ на обращение".encode()).decode()
                + "?=\r\nMessage-ID: <a.BUH-2026-000123.51bd02@minfin.example>\r\n"
                "Date: Fri, 04 Dec 2026 10:15:00 +0300\r\n\r\n"
                "=D0=A3=D0=B2=D0=B0=D0=B6=D0=B0=D0=B5=D0=BC=D0=B0=D1=8F\r\n")
    raw = msg(
        "From: <fbl@feedback.mail.example>\nDate: Fri, 04 Dec 2026 12:01:13 +0300\n"
        "Subject: FW: =?utf-8?B?" + base64.b64encode(
            "[БУХ-2026-000123] Ответ на обращение".encode()).decode() + "?=\n"
        "To: abuse@minfin.example\nMessage-ID: <433689.81121.example@feedback.mail.example>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report;\n\tboundary="part1_13d.2e68ed54_boundary"',
        "--part1_13d.2e68ed54_boundary\r\nContent-Type: text/plain; charset=\"US-ASCII\"\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
        "This is an email abuse report for an email message received from IP\r\n"
        "192.0.2.25 on Fri, 04 Dec 2026 10:15:02 +0300.\r\n"
        "For more information about this format please see\r\n"
        "http://www.mipassoc.org/arf/.\r\n\r\n"
        "--part1_13d.2e68ed54_boundary\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\n"
        "Original-Mail-From: <buh@minfin.example>\r\nOriginal-Rcpt-To: <smirnova@mail.example>\r\n"
        "Arrival-Date: Fri, 04 Dec 2026 10:15:02 +0300\r\nReporting-MTA: dns; mail.example\r\n"
        "Source-IP: 192.0.2.25\r\nAuthentication-Results: mail.example;\r\n spf=pass "
        "smtp.mail=buh@minfin.example\r\nReported-Domain: minfin.example\r\n\r\n"
        "--part1_13d.2e68ed54_boundary\r\nContent-Type: message/rfc822\r\n"
        "Content-Disposition: inline\r\n\r\n" + original +
        "\r\n--part1_13d.2e68ed54_boundary--\r\n")
    case("arf_feedback_report", raw, automated="feedback-report",
         from_addr="fbl@feedback.mail.example",
         body_contains=["This is an email abuse report"],
         forwarded=[{"message_id": "a.BUH-2026-000123.51bd02@minfin.example",
                     "subject": "[БУХ-2026-000123] Ответ на обращение"}])


def main() -> None:
    for build in (
        outlook_cases,
        thunderbird_cases,
        legacy_charset_cases,
        html_cases,
        forward_cases,
        automated_cases,
        broken_cases,
        hostile_names_case,
        charset_cases,
        parse_fix_cases,
        arf_case,
    ):
        build()
    for name, (raw, expected) in CASES.items():
        (HERE / f"{name}.eml").write_bytes(raw)
        text = json.dumps(expected, ensure_ascii=False, indent=1, sort_keys=True)
        (HERE / f"{name}.expected.json").write_text(text + "\n", encoding="utf-8")
    print(f"{len(CASES)} messages written to {HERE}")


if __name__ == "__main__":
    main()
