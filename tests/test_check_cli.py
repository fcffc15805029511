"""`buhdesk check` as an administrator uses it after editing rules/ or templates/: every mistake is
named in Russian with its file and line and the exit status is 1; a clean set passes. Then the
whole flow: add a term, check, and see the new decision with `buhdesk explain`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from buhdesk.cli.command import main
from buhdesk.config import package_data_dir


@pytest.fixture
def setup(tmp_path: Path, secret_env: str,
          make_config: Callable[..., Path]) -> tuple[Path, Path, Path]:
    """A configuration whose rules and templates are editable copies: (config, rules, templates)."""
    rules, templates = tmp_path / "rules", tmp_path / "templates"
    shutil.copytree(package_data_dir("rules"), rules)
    shutil.copytree(package_data_dir("templates"), templates)
    config = make_config(tmp_path, f'[paths]\nrules = "{rules}"\ntemplates = "{templates}"\n')
    return config, rules, templates


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old``; return the line where it started."""
    text = path.read_text(encoding="utf-8-sig")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def check(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["--config", str(config), "check"])
    return status, capsys.readouterr().out


def test_clean_set_passes(setup: tuple[Path, Path, Path],
                          capsys: pytest.CaptureFixture[str]) -> None:
    status, out = check(setup[0], capsys)
    assert status == 0, out
    assert "Правила:" in out and "в порядке" in out and out.rstrip().endswith("Проверка пройдена.")
    assert "ОШИБКА" not in out


# (file, old, new, words in the message, line of the problem relative to where `old` was)
MISTAKES = [
    ("classify.toml", 'name = "зарплата-основное"\n', 'name = "зарплата-основное"\nwieght = 2\n',
     "неизвестный ключ «wieght»", 1),
    ("segments.toml", 'payroll = "ivanova"', 'payroll = "ivanov"',
     "сегмент «Министерство финансов»: неизвестный сотрудник «ivanov»", 0),
    ("classify.toml", 'name = "командировки-сопутствующее"', 'name = "зарплата-основное"',
     "повторяется имя правила «зарплата-основное»", 0),
    ("segments.toml", 'name = "Министерства экономического блока"',
     'name = "Министерство финансов"', "имя сегмента «Министерство финансов» повторяется", 0),
    ("staff.toml", 'login = "petrova"', 'login = "ivanova"', "логин «ivanova» повторяется", 0),
    ("classify.toml", "patterns = ['\\?']", "patterns = ['(?']", "неверное регулярное", 0),
    ("segments.toml", ('[segment.assign]\npayroll = "group:zarplata"\n'
                       'timesheet = "group:zarplata"\nexternal_reporting = "tarasova"\n'
                       '"*" = "sorokina"\n'), "",
     "сегмент «Прочие отправители»: никто не назначен", -3),
]


@pytest.mark.parametrize(("file", "old", "new", "words", "offset"), MISTAKES,
                         ids=[m[3] for m in MISTAKES])
def test_each_mistake_is_named_with_file_and_line(
        setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str], file: str, old: str,
        new: str, words: str, offset: int) -> None:
    config, rules, _ = setup
    line = edit(rules / file, old, new)
    status, out = check(config, capsys)
    assert status == 1
    errors = [x for x in out.splitlines() if x.startswith("ОШИБКА: ")]
    assert any(x.startswith(f"ОШИБКА: {rules.name}/{file}:{line + offset}: ") and words in x
               for x in errors), out
    assert "Найдено ошибок:" in out and "Проверка пройдена" not in out


def test_all_mistakes_are_reported_together(setup: tuple[Path, Path, Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config, rules, _ = setup
    chosen = [MISTAKES[i] for i in (0, 1, 5)]  # in three places, independent of each other
    for file, old, new, _words, _offset in chosen:
        edit(rules / file, old, new)
    status, out = check(config, capsys)
    assert status == 1
    errors = [x for x in out.splitlines() if x.startswith("ОШИБКА: ")]
    assert f"Найдено ошибок: {len(errors)}." in out
    assert all(any(m[3] in x for x in errors) for m in chosen), out


def test_template_with_an_undefined_variable(setup: tuple[Path, Path, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    config, _, templates = setup
    edit(templates / "notice.txt.j2", "{{ client_name", "{{ client_nam")
    status, out = check(config, capsys)
    assert status == 1
    assert any(x.startswith("ОШИБКА: ") and "notice.txt.j2" in x and "client_nam" in x
               for x in out.splitlines()), out


def test_template_problem_is_russian_with_line(setup: tuple[Path, Path, Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config, _, templates = setup
    line = edit(templates / "notice.txt.j2", "{{ client_name", "{{ client_nam")
    status, out = check(config, capsys)
    assert status == 1
    assert f"notice.txt.j2:{line}: " in out and "«client_nam» не определена" in out


def test_administrator_adds_a_term_checks_and_explains(
        setup: tuple[Path, Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config, rules, _ = setup
    eml = tmp_path / "letter.eml"
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"] = "orlov@culture.admin-smolensk.ru", "buh@minfin.example"
    msg["Subject"], msg["Message-ID"] = "Проезд до ледокола", "<ice@client.example>"
    msg.set_content("Прошу оплатить проезд до ледокола.")
    eml.write_bytes(msg.as_bytes())

    def explain() -> dict[str, object]:
        assert main(["--config", str(config), "explain", "--json", str(eml)]) == 0
        [line] = capsys.readouterr().out.splitlines()
        return json.loads(line)  # type: ignore[no-any-return]

    assert explain()["process"] == "travel"
    edit(rules / "classify.toml", '"табель", "табельный",', '"табель", "ледокол", "табельный",')
    status, out = check(config, capsys)
    assert status == 0, out
    result = explain()
    assert result["process"] == "timesheet" and result["action"] == "new-request"
    classify = next(r for r in result["rules"]  # type: ignore[attr-defined]
                    if r["stage"] == "classify")
    assert any("ледокол" in h["terms"] for h in classify["hits"])


@pytest.mark.parametrize(("file", "text", "words"), [
    ("delopro.toml", 'executor_wins = "да"\n', "должно быть true или false"),
    ("survey.toml", "[[question]\n", "survey.toml"),
    ("touchpoints.toml", "[[touchpoint]]\nprocess = 1\n", "touchpoints.toml"),
])
def test_other_rule_files_are_checked(setup: tuple[Path, Path, Path],
                                      capsys: pytest.CaptureFixture[str],
                                      file: str, text: str, words: str) -> None:
    config, rules, _ = setup
    (rules / file).write_text(text, encoding="utf-8")
    status, out = check(config, capsys)
    assert status == 1
    assert any(x.startswith("ОШИБКА: ") and words in x for x in out.splitlines()), out


def test_config_tables_are_checked(setup: tuple[Path, Path, Path],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = setup[0]
    config.write_text(config.read_text(encoding="utf-8") + '\n[schedule]\ndigest_time = "25:99"\n',
                      encoding="utf-8")
    status, out = check(config, capsys)
    assert status == 1 and "digest_time" in out and "ЧЧ:ММ" in out


def test_report_templates_are_checked_with_file_and_line(
        setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The HTML report pages are templates too: a misspelt variable or broken syntax in them is
    named like a letter template's."""
    config, _, templates = setup
    misspelt = edit(templates / "reports" / "kb.html.j2", "{{ period }}.", "{{ periodd }}.")
    status, out = check(config, capsys)
    assert status == 1
    assert f"reports/kb.html.j2:{misspelt}: переменная «periodd» не определена" in out, out
    broken = edit(templates / "reports" / "base.html.j2", "{% block content %}",
                  "{% block content %")
    status, out = check(config, capsys)
    assert status == 1
    assert f"reports/base.html.j2:{broken}: ошибка синтаксиса шаблона" in out, out


def test_a_templates_folder_without_report_templates_uses_the_shipped_ones(
        setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A templates folder copied before the reports had templates keeps working."""
    config, _, templates = setup
    shutil.rmtree(templates / "reports")
    status, out = check(config, capsys)
    assert status == 0, out
