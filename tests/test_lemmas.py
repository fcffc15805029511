"""Words of a letter and their normal forms, as classification and the knowledge base read them."""

from __future__ import annotations

import pytest

from buhdesk.rules.lemmas import Lemmatizer


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return Lemmatizer()


def test_word_forms_compounds_and_abbreviations(lemmatizer: Lemmatizer) -> None:
    tokens = lemmatizer.tokens("Прошу справку 2-НДФЛ и з/п по КОСГУ")
    assert [t.text for t in tokens] == ["Прошу", "справку", "2-НДФЛ", "и", "з/п", "по", "КОСГУ"]
    forms = {t.text: t.forms for t in tokens}
    assert "справка" in forms["справку"]
    assert {"ндфл", "2ндфл", "2-ндфл"} <= forms["2-НДФЛ"]
    assert {"з", "п", "зп"} <= forms["з/п"]
    assert "косгу" in forms["КОСГУ"]


def test_a_text_reads_the_same_line_by_line(lemmatizer: Lemmatizer) -> None:
    lines = ["Тема: отпускные", "", "Когда выплатят отпускные? Отпуск с 1.07.", "2-", "НДФЛ ×"]
    text = "\n".join(lines)
    whole = lemmatizer.tokens(text)
    assert whole == [t for line in lines for t in lemmatizer.tokens(line)]
    assert [t.text for t in whole] == ["Тема", "отпускные", "Когда", "выплатят", "отпускные",
                                       "Отпуск", "с", "1.07", "2", "НДФЛ"]
    assert lemmatizer.tokens(text) == whole  # read again (cached): the same words
    long_line = "справка " * 1000  # too long to keep, read all the same
    assert len(lemmatizer.tokens(long_line + "\nсправка")) == 1001
