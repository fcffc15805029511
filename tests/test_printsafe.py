"""Terminal escapes, control characters and bidirectional overrides in what strangers write
(subjects, names) never reach the administrator's terminal raw: `list`, `held` and `explain`
print a visible stand-in instead, and `--json` output escapes them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlmodel import Session

from buhdesk.cli.command import main
from buhdesk.store.models import Message
from buhdesk.trust.printsafe import safe_json, safe_line, safe_text
from buhdesk.service.runner import Daemon

HOSTILE = ("Справка\x1b[2J\x1b[31mКРАСНЫЙ\x1b]0;pwned\x07\x9b6n "
           "\u202eтxt.exe\u202c\r\nINFO fake line\x00\x7f")
DANGEROUS = ["\x1b", "\x9b", "\u202e", "\u202c", "\r", "\x00", "\x07", "\x7f"]


def assert_clean(text: str) -> None:
    for ch in DANGEROUS:
        assert ch not in text, repr(ch)


def test_one_line_keeps_the_words_and_drops_what_a_terminal_acts_on() -> None:
    line = safe_line(HOSTILE)
    assert_clean(line)
    assert "\n" not in line and "Справка" in line and "КРАСНЫЙ" in line and "fake line" in line
    assert "pwned" not in line and "[2J" not in line  # the sequence goes with its parameters
    assert safe_line("Обычная тема, без фокусов") == "Обычная тема, без фокусов"
    assert safe_text("строка 1\n\tстрока 2\x1b[1m") == "строка 1\n\tстрока 2\ufffd"


def test_json_is_the_same_data_without_raw_controls() -> None:
    value = {"subject": HOSTILE}
    text = safe_json(value)
    assert_clean(text)
    assert json.loads(text) == value and "Справка" in text


def encoded(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def hostile_letter() -> bytes:
    """Encoded words carry what a header line itself cannot: ESC, CR LF, bidi overrides."""
    name = "Иван\u202eвонави\u202c \x1b[5mИванов"
    return (f"From: {encoded(name)} <ivanov@minfin.example>\r\n"
            "To: buh@minfin.example\r\n"
            f"Subject: {encoded(HOSTILE)}\r\n"
            "Message-ID: <hostile@minfin.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
            "Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год.\r\n").encode()


def test_list_prints_a_hostile_subject_and_name_harmlessly(
        daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    daemon.sources[0].put(hostile_letter())  # type: ignore[attr-defined]
    daemon.drain()
    config = str(daemon.rt.config.file)
    assert main(["--config", config, "list"]) == 0
    out = capsys.readouterr().out
    assert "КРАСНЫЙ" in out and "Иванов" in out
    assert_clean(out)
    assert not any(line.startswith("INFO fake line") for line in out.splitlines())
    assert main(["--config", config, "list", "--json"]) == 0
    assert_clean(capsys.readouterr().out)


def test_held_prints_a_hostile_subject_harmlessly(
        daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    with Session(daemon.rt.engine) as s:
        s.add(Message(direction="in", kind="request", status="held", source="minfin",
                      source_key="1:1", from_addr="x\x1b[8m@minfin.example",
                      subject=HOSTILE.replace("\x00", ""),  # PostgreSQL text holds no NUL
                      reason="не удалось разобрать письмо"))
        s.commit()
    config = str(daemon.rt.config.file)
    assert main(["--config", config, "held"]) == 0
    out = capsys.readouterr().out
    assert "КРАСНЫЙ" in out
    assert_clean(out)
    assert main(["--config", config, "held", "--json"]) == 0
    assert_clean(capsys.readouterr().out)


def test_explain_prints_a_hostile_subject_harmlessly(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hostile.eml"
    path.write_bytes(hostile_letter())
    assert main(["--config", str(tmp_path / "absent.toml"), "explain", str(path)]) == 0
    out = capsys.readouterr().out
    assert "КРАСНЫЙ" in out
    assert_clean(out)
