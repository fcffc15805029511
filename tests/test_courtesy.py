"""Which replies after closure are courtesy (recorded, nothing reopened) and which are news."""

from __future__ import annotations

import pytest

from buhdesk.feedback.settings import DEFAULT_THANKS
from buhdesk.route.courtesy import is_courtesy


def courtesy(text: str, need: str = "other") -> bool:
    return is_courtesy(text, thanks=DEFAULT_THANKS, max_other_words=3, need=need)


@pytest.mark.parametrize("text", [
    "Спасибо большое!",
    "Спасибо, получила.",
    "ок",
    "Добрый день! Благодарю за оперативность.",
    "Получил, спасибо.",
    "Хорошо, спасибо за ответ!",
    "Всё в порядке, спасибо",
])
def test_thanks_and_confirmations_are_courtesy(text: str) -> None:
    assert courtesy(text)


@pytest.mark.parametrize("text", [
    "Спасибо! А можно получить две копии справки?",
    "Спасибо, но в справке ошибка в фамилии, исправьте пожалуйста",
    "Извините, нужна ещё справка за 2024 год.",
    "Направляю подписанный авансовый отчёт.",
    "",
])
def test_a_question_or_news_is_not(text: str) -> None:
    assert not courtesy(text)


def test_a_need_the_classifier_sees_is_not_courtesy() -> None:
    assert not courtesy("Спасибо, получила справку", need="result")
    assert courtesy("Спасибо, получила справку", need="feedback")


def test_the_list_is_the_administrators() -> None:
    assert not is_courtesy("Мерси", thanks=DEFAULT_THANKS, max_other_words=3, need="other")
    assert is_courtesy("Мерси", thanks=("мерси",), max_other_words=3, need="other")
