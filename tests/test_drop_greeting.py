"""The accountant's own greeting gives way to the form's greeting by name and patronymic."""

from __future__ import annotations

import pytest

from buhdesk.reply.addressing import drop_greeting


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("Добрый день, Мария Петровна!\n\nСправка готова.", "Справка готова."),
        ("Мария Петровна, здравствуйте!\nСправка готова.", "Справка готова."),
        ("Уважаемая Мария Петровна, справка готова.", "Справка готова."),
        ("Добрый день! Справка готова.", "Справка готова."),
        ("Здравствуйте.\n\nСправка готова.", "Справка готова."),
        ("Доброго времени суток!\nСправка готова.", "Справка готова."),
    ],
)
def test_greeting_is_dropped(text: str, left: str) -> None:
    assert drop_greeting(text) == left


@pytest.mark.parametrize(
    "text",
    ["Справка готова. Добрый день", "Мария Петровна, справка готова.",
     "Добрые вести: справка готова."],
)
def test_text_without_a_greeting_stays(text: str) -> None:
    assert drop_greeting(text) == text
