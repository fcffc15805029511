"""The reply corpus: every client's reply yields exactly the new text written beside it, and the
commands read from a reply are those its writer typed, never the ones quoted below."""

from __future__ import annotations

from pathlib import Path

import pytest
from reply_corpus import HELDOUT, REPLIES, cases, read

from buhdesk.reply.answers import Commands, parse_commands
from buhdesk.route.mime import parse_message
from buhdesk.route.quoting import new_text

MAIN = cases(REPLIES)
HELD = cases(HELDOUT)
ALL = MAIN + HELD
CLIENTS = ("outlook", "thunderbird", "r7", "myoffice", "yandex", "mailru", "apple-mail", "gmail",
           "mutt", "s-nail", "gmail-android", "k9", "ios")


@pytest.mark.parametrize("path", MAIN, ids=[p.stem for p in MAIN])
def test_reply_new_text(path: Path) -> None:
    reply = read(path)
    assert reply.got == reply.expected


@pytest.mark.parametrize("path", HELD, ids=[p.stem for p in HELD])
def test_heldout_reply_new_text(path: Path) -> None:
    reply = read(path)
    assert reply.got == reply.expected


def test_corpus_covers_the_clients_and_languages() -> None:
    names = {p.stem for p in ALL}
    for client in CLIENTS:
        assert {f"{client}-ru", f"{client}-en"} & names, client
    for client in ("outlook", "thunderbird", "gmail"):
        assert {f"{client}-ru", f"{client}-en"} <= names, client
    assert len(HELD) >= 6 and len({p.stem.rsplit("-", 1)[0] for p in HELD}) >= 6


def _commands(text: str) -> Commands:
    return parse_commands(text)[1]


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_commands_come_from_the_new_text_only(path: Path) -> None:
    """The notice's help («#передать логин», «#слово Буханцевой» …) is quoted in most replies."""
    body = parse_message(path.read_bytes()).body_text
    expected = path.with_suffix(".expected.txt").read_text(encoding="utf-8")
    got = _commands(new_text(body))
    assert got == _commands(expected)
    assert got.transfer_to != "логин" and "Буханцевой" not in got.words and not got.problems


def test_a_command_that_does_not_parse_is_a_problem_not_text() -> None:
    text, commands = parse_commands("Справка готова.\n#закрыт\n#передать\n#статья")
    assert text == "Справка готова."
    assert not commands.close and commands.transfer_to is None and not commands.articles
    typo, transfer, article = commands.problems
    assert typo["line"] == 2 and "#закрыт" in str(typo["message"])
    assert typo["suggestions"][0] == "#закрыть"
    assert transfer["line"] == 3 and "логин" in str(transfer["message"])
    assert article["line"] == 4 and "статьи" in str(article["message"])


def test_known_commands_still_parse() -> None:
    text, commands = parse_commands("Ответ.\n#передать petrova\n#слово Буханцевой\n#закрыть")
    assert text == "Ответ."
    assert commands.transfer_to == "petrova" and commands.words == ["Буханцевой"]
    assert commands.close and not commands.problems


def test_a_tab_indented_line_without_an_attribution_is_kept() -> None:
    text = "Справка готова:\n\tпункт первый\n\tпункт второй\n\nИванова И.И."
    assert new_text(text) == "Справка готова:\n\tпункт первый\n\tпункт второй"


def test_a_sentence_ending_in_wrote_is_not_an_attribution() -> None:
    text = "Коллега мне написала:\nсправка нужна к пятнице.\n\nПетрова А.А."
    assert new_text(text) == "Коллега мне написала:\nсправка нужна к пятнице."
