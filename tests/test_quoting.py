"""Cutting quoted history, forwards and signatures off what the sender wrote."""

from __future__ import annotations

import pytest

from buhdesk.route.quoting import split_quoted, split_signature, strip_quoted

QUESTION = "Добрый день! Когда будет зарплата за ноябрь?"


@pytest.mark.parametrize(
    "history",
    [
        "> Добрый день, справка готова.\n> Бухгалтерия",
        "-----Original Message-----\nFrom: Бухгалтерия\nSent: Monday\n\nСправка готова.",
        "-----Исходное сообщение-----\nОт: Бухгалтерия\nОтправлено: 13 ноября\n\nСправка готова.",
        ("От: Бухгалтерия <buh@minfin.example>\nОтправлено: 15 ноября 2024 г. 16:40\n"
        "Кому: Иванова\nТема: RE: справка\n\nСправка готова."),
        "12.11.2024, 14:05, Бухгалтерия пишет:\n> Справка готова.",
        '12.11.2024, 14:05, "Бухгалтерия" <buh@minfin.example>:\n> Справка готова.',
        "пн, 18 нояб. 2024 г. в 11:20, Иван <i@x.ru>:\n> Справка готова.",
        "On 12.11.2024 10:00, Accounting wrote:\n> ready",
    ],
)
def test_reply_history_is_removed(history: str) -> None:
    assert strip_quoted(f"{QUESTION}\n\n{history}") == QUESTION


@pytest.mark.parametrize(
    "signature",
    [
        "-- \nИванова И.И.\nглавный специалист",
        "С уважением,\nИванова Ирина\nглавный специалист отдела\nтел. 38-14-22",
        "С уважением, Киселева Н.",
        "Отправлено с iPhone",
        "Отправлено из мобильной Почты Mail.ru",
        ("Иванова И.И.\nведущий специалист\nМинистерство культуры Смоленской области\n"
        "+7 (4812) 38-41-07"),
        "Данное сообщение и любые вложения конфиденциальны и предназначены только адресату.",
    ],
)
def test_signatures_and_footers_are_removed(signature: str) -> None:
    assert strip_quoted(f"{QUESTION}\n\n{signature}") == QUESTION


def test_pure_forward_keeps_the_forwarded_body() -> None:
    text = (
        "-------- Пересылаемое сообщение --------\nОт: Калугина <k@ya.ru>\nКому: k@x.ru\n"
        "Дата: 19.11.2024, 08:15\nТема: авансовый отчет\n\nАвансовый отчет во вложении.\n"
    )
    assert strip_quoted(text) == "Авансовый отчет во вложении."


def test_forward_with_a_comment_keeps_the_comment_and_the_forwarded_part_separately() -> None:
    text = (
        "Прошу подготовить ответ.\n\n---------- Forwarded message ---------\n"
        "От: КСП\nDate: Пн, 18 ноя 2024\nSubject: запрос\n\nПрошу представить выписку."
    )
    parts = split_quoted(text)
    assert parts.own == "Прошу подготовить ответ."
    assert parts.forwarded == "Прошу представить выписку."
    assert strip_quoted(text) == "Прошу подготовить ответ."


def test_text_without_quotes_or_signature_is_unchanged() -> None:
    text = "ТАБЕЛЬ ЗА 1 ПОЛОВИНУ НОЯБРЯ ВО ВЛОЖЕНИИ. ПОНОМАРЕВ"
    assert strip_quoted(text) == text


def test_content_lines_that_look_short_are_not_taken_for_a_signature() -> None:
    text = "Добрый день.\nОтдел закупок просит ускорить оплату по договору, поставщик торопит."
    assert strip_quoted(text) == text


def test_split_signature_returns_both_parts() -> None:
    body, signature = split_signature(f"{QUESTION}\n\nС уважением,\nПетров П.П.\nтел. 29-20-11")
    assert body == QUESTION
    assert signature.startswith("С уважением")
    assert "29-20-11" in signature


def test_split_signature_without_signature() -> None:
    assert split_signature(QUESTION) == (QUESTION, "")


def test_a_letter_that_is_only_a_name_is_not_emptied() -> None:
    assert strip_quoted("Иванов И.И.") == "Иванов И.И."
