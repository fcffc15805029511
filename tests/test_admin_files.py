"""Every admin-edited file is read the same way: a UTF-8 byte-order mark (Windows Notepad writes
one) is accepted, bytes that are not UTF-8 and TOML syntax errors are refused with the file and
line, and a value of the wrong type is refused at the line where it is written — through each
reader (configuration, rule files, text-check rules, survey, touchpoints, «карта болей»,
deadlines, calendar, «ДелоПро», knowledge-base articles) and through `buhdesk check`."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from buhdesk.cli.check import run_checks
from buhdesk.config import ConfigError, load_config, package_data_dir
from buhdesk.feedback.painmap import PainMapError, load_measures
from buhdesk.feedback.survey import load_survey
from buhdesk.kb.library import KbError, KnowledgeBase
from buhdesk.reports.touchpoints import load_touchpoints
from buhdesk.rules.classify import PROCESSES
from buhdesk.rules.documents import DocumentSettingsError, load_document_settings
from buhdesk.rules.locatedtoml import RuleFileError
from buhdesk.rules.ruleset import RuleSetError, load_ruleset
from buhdesk.textcheck import TextChecker, TextCheckRulesError
from buhdesk.worktime.calendar import WorkCalendar
from buhdesk.worktime.deadlines import DeadlinePolicy

CONFIG = """[service]
name = "Бухгалтерия"

[paths]
rules = "rules"

[outbox]
kind = "files"
path = "outbox"
batch = 50
"""
ARTICLE = """---
title: Справка о доходах
processes: payroll
owner: ivanova
reviewed: 2026-10-01
---
Справку выдаём за три рабочих дня.
"""


def _errors(load: Callable[[Path], object], *kinds: type[Exception]) -> Callable[[Path], str]:
    """A reader as the tests use it: the text of its error, or "" when the file was accepted."""
    def read(root: Path) -> str:
        try:
            load(root)
        except kinds as e:
            return str(e)
        return ""
    return read


def _deadlines(root: Path) -> object:
    return DeadlinePolicy.load(root / "rules", WorkCalendar.load(root / "rules"))


@dataclass(frozen=True)
class Reader:
    file: str  # relative to the test root
    read: Callable[[Path], str]
    wrong_from: str  # a line of the file …
    wrong_to: str  # … and the same key with a value of the wrong type
    wrong_says: str  # what the error says about it


READERS = {
    "config": Reader("buhdesk.toml",
                     _errors(lambda r: load_config(r / "buhdesk.toml"), ConfigError),
                     "batch = 50", 'batch = "50"', "должен быть типа"),
    "staff.toml": Reader("rules/staff.toml",
                         _errors(lambda r: load_ruleset(r / "rules"), RuleSetError),
                         'processes = ["reporting"]', 'processes = "reporting"',
                         "processes должен быть списком"),
    "style.toml": Reader("rules/style.toml",
                         _errors(lambda r: TextChecker.load(r / "rules"), TextCheckRulesError),
                         "noun_chain = 10", 'noun_chain = "десять"',
                         "noun_chain должен быть целым числом"),
    "survey.toml": Reader("rules/survey.toml",
                          _errors(lambda r: load_survey(r / "rules"), RuleSetError),
                          "min = 1", 'min = "1"', "min"),
    "touchpoints.toml": Reader("rules/touchpoints.toml",
                               _errors(lambda r: load_touchpoints(r / "rules", set(PROCESSES)),
                                       RuleSetError),
                               'number = "1."', "number = 1", "number"),
    "painmap.toml": Reader("rules/painmap.toml",
                           _errors(lambda r: load_measures(r / "rules", set(PROCESSES)),
                                   RuleSetError, PainMapError),
                           "deadline = 2026-12-25", "deadline = 25", "deadline"),
    "deadlines.toml": Reader("rules/deadlines.toml", _errors(_deadlines, RuleFileError),
                             "pauses_while_waiting = true", 'pauses_while_waiting = "да"',
                             "true или false"),
    "delopro.toml": Reader("rules/delopro.toml",
                           _errors(lambda r: load_document_settings(r / "rules"),
                                   DocumentSettingsError),
                           "executor_wins = true", 'executor_wins = "да"', "true или false"),
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(package_data_dir("rules"), tmp_path / "rules")
    (tmp_path / "buhdesk.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def _located(file: str, line: int) -> re.Pattern[str]:
    """The one shape of every error: ``…/rules/staff.toml:12: …`` (file, line, Russian text)."""
    return re.compile(rf"(^|[/\s]){re.escape(file)}:{line}: ")


def _with_line(path: Path, line: int, content: bytes) -> None:
    """Put ``content`` as line ``line`` (1-based) of the file."""
    lines = path.read_bytes().split(b"\n")
    lines.insert(line - 1, content)
    path.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("name", READERS)
def test_a_byte_order_mark_is_accepted(root: Path, name: str) -> None:
    reader = READERS[name]
    assert reader.read(root) == ""
    path = root / reader.file
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert reader.read(root) == ""


@pytest.mark.parametrize("name", READERS)
def test_bytes_that_are_not_utf8_are_named_by_file_and_line(root: Path, name: str) -> None:
    reader = READERS[name]
    _with_line(root / reader.file, 2, "# примечание: отпуск ".encode("cp1251"))
    error = reader.read(root)
    assert _located(Path(reader.file).name, 2).search(error), error
    assert "не в кодировке UTF-8" in error and "байт 0x" in error


@pytest.mark.parametrize("name", READERS)
def test_a_syntax_error_is_named_by_file_line_and_column(root: Path, name: str) -> None:
    reader = READERS[name]
    _with_line(root / reader.file, 3, 'подпись = "не закрыта'.encode())
    error = reader.read(root)
    assert _located(Path(reader.file).name, 3).search(error), error
    assert "ошибка синтаксиса TOML в столбце" in error


@pytest.mark.parametrize("name", READERS)
def test_a_value_of_the_wrong_type_is_named_by_the_line_of_its_key(root: Path, name: str) -> None:
    reader = READERS[name]
    path = root / reader.file
    text = path.read_text(encoding="utf-8")
    assert reader.wrong_from in text
    path.write_text(text.replace(reader.wrong_from, reader.wrong_to, 1), encoding="utf-8")
    start = text[: text.index(reader.wrong_from)].count("\n") + 1
    error = reader.read(root)
    assert _located(Path(reader.file).name, start).search(error), error
    assert reader.wrong_says in error


def test_a_utf16_file_is_refused_with_what_to_do(root: Path) -> None:
    path = root / "rules" / "staff.toml"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    error = READERS["staff.toml"].read(root)
    assert _located("staff.toml", 1).search(error) and "UTF-16" in error and "UTF-8" in error


def test_kb_articles_take_a_bom_and_name_bad_bytes(root: Path) -> None:
    kb = root / "rules" / "kb"
    shutil.rmtree(kb)
    kb.mkdir()
    (kb / "spravka.md").write_bytes(b"\xef\xbb\xbf" + ARTICLE.encode())
    assert [a.title for a in KnowledgeBase.load(root / "rules").articles] == ["Справка о доходах"]
    cp1251 = ARTICLE.encode().replace("три".encode(), "три".encode("cp1251"))
    (kb / "spravka.md").write_bytes(cp1251)
    with pytest.raises(KbError) as info:
        KnowledgeBase.load(root / "rules")
    [problem] = info.value.problems
    assert problem.line == 7 and "не в кодировке UTF-8" in problem.message


def test_kb_reports_a_broken_staff_file_instead_of_skipping_the_owners(root: Path) -> None:
    _with_line(root / "rules" / "staff.toml", 3, b'login = "')
    with pytest.raises(KbError) as info:
        KnowledgeBase.load(root / "rules")
    assert any(p.file.endswith("staff.toml") and p.line == 3 for p in info.value.problems)


def test_check_reports_every_broken_file_with_file_and_line(root: Path) -> None:
    """One run names every problem: the rule set, the other rule files and the text-check
    rules — not only the first file that failed."""
    config = root / "buhdesk.toml"
    _with_line(root / "rules" / "staff.toml", 3, b'login = "')
    _with_line(root / "rules" / "survey.toml", 2, b"# \xff")
    _with_line(root / "rules" / "style.toml", 1, b"[settings")
    out = io.StringIO()
    assert run_checks(config, out=out, today=date(2026, 11, 2)) == 1
    report = out.getvalue()
    for file, line in (("staff.toml", 3), ("survey.toml", 2), ("style.toml", 1)):
        assert _located(file, line).search(report), (file, report)


def test_check_names_the_line_of_a_wrong_value_in_a_table_of_the_configuration(root: Path) -> None:
    """Tables the scheduler and the survey validate themselves are located like the rest."""
    config = root / "buhdesk.toml"
    config.write_text(CONFIG + '\n[schedule]\nweekly_day = 3\ndigest_time = "8.30"\n',
                      encoding="utf-8")
    line = CONFIG.count("\n") + 4
    out = io.StringIO()
    assert run_checks(config, out=out, today=date(2026, 11, 2)) == 1
    assert _located("buhdesk.toml", line).search(out.getvalue()), out.getvalue()
    assert "digest_time: нужно время" in out.getvalue()
