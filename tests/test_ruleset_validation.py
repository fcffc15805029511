"""Every validation error of the rule files, in Russian, with the file and the line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from buhdesk.rules.lemmas import Lemmatizer
from buhdesk.rules.ruleset import RuleSetError, load_ruleset

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "rules"
FILES = ("classify.toml", "staff.toml", "segments.toml", "absences.csv")


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return Lemmatizer()


@pytest.fixture()
def rules(tmp_path: Path) -> Path:
    for name in FILES:
        shutil.copy(SHIPPED / name, tmp_path / name)
    return tmp_path


def edit(rules: Path, file: str, old: str, new: str) -> int:
    """Replace the first ``old`` with ``new``; return the line where ``new`` starts."""
    path = rules / file
    text = path.read_text(encoding="utf-8-sig")
    assert old in text, old
    changed = text.replace(old, new, 1)
    path.write_text(changed, encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def problems_of(rules: Path, lemmatizer: Lemmatizer) -> RuleSetError:
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(rules, lemmatizer=lemmatizer)
    return caught.value


def test_shipped_rules_are_valid(lemmatizer: Lemmatizer) -> None:
    rs = load_ruleset(SHIPPED, lemmatizer=lemmatizer)
    assert rs.unsorted_queue in rs.staff
    assert 6 <= len(rs.staff) <= 8
    assert any(m.role == "head" for m in rs.staff.values())
    assert set(rs.process_labels) == {"payroll", "travel", "timesheet", "reporting", "facts",
                                      "info_on_demand", "external_reporting"}


# (file, old, new, expected words, line is where `new` starts: True/False)
CASES = [
    ("classify.toml", 'name = "зарплата-основное"\n',
     'name = "зарплата-основное"\nwieght = 2\n', "неизвестный ключ «wieght»", 1),
    ("classify.toml", 'process = "payroll"\nweight = 3\n',
     'process = "salary"\nweight = 3\n', "неизвестный процесс «salary»", 0),
    ("classify.toml", 'need = "forms"', 'need = "blanks"', "неизвестная потребность «blanks»", 0),
    ("classify.toml", 'name = "командировки-сопутствующее"', 'name = "зарплата-основное"',
     "повторяется имя правила «зарплата-основное»", 0),
    ("classify.toml", "patterns = ['\\?']", "patterns = ['(?']", "неверное регулярное", 0),
    ("classify.toml", 'process = "travel"\nweight = 1\n',
     'process = "travel"\nneed = "other"\nweight = 1\n', "ровно одно из process или need", None),
    ("classify.toml", 'name = "фхж-основное"\nprocess = "facts"\nweight = 3',
     'name = "фхж-основное"\nprocess = "facts"\nweight = -3', "больше нуля", 2),
    ("classify.toml", 'where = "body"', 'where = "letter"', "where должно быть", 0),
    ("classify.toml", 'terms = ["почему", "на каком основании", "из чего складывается"]',
     "terms = []", "список terms пуст", 0),
    ("classify.toml", "need_threshold = 1.0", "need_treshold = 1.0", "неизвестный ключ", 0),
    ("classify.toml", 'unsorted_queue = "kovaleva"', 'unsorted_queue = "nobody"',
     "неизвестный сотрудник «nobody»", 0),
    ("classify.toml", 'fallback_need = "other"', 'fallback_need = "misc"',
     "неизвестная потребность «misc»", 0),
    ("classify.toml", 'senders = ["@sfr.gov.ru",', 'senders = ["sfr gov",',
     "не адрес и не домен", 0),
    ("classify.toml", '"получка", ', '"получка", "Получки", ', "повторяется", 0),
    ("classify.toml", 'other = "Другое"\n', "", "нет названия для «other»", None),
    ("classify.toml", "[settings]\n", "[settings]\nx = [\n", "синтаксиса TOML", None),
    ("staff.toml", 'login = "petrova"', 'login = "ivanova"', "логин «ivanova» повторяется", 0),
    ("staff.toml", 'deputy = "petrova"', 'deputy = "petrov"', "заместитель «petrov»", 0),
    ("staff.toml", 'deputy = "petrova"', 'deputy = "ivanova"', "сам себя", 0),
    ("staff.toml", 'processes = ["payroll", "timesheet"]', 'processes = ["payroll", "zarplata"]',
     "неизвестный процесс «zarplata»", 0),
    ("staff.toml", 'role = "head"', 'role = "boss"', "роль должна быть", 0),
    ("staff.toml", 'email = "ivanova@minfin.example"', 'email = "ivanova(at)minfin"',
     "неверный адрес e-mail", 0),
    ("staff.toml", 'name = "Петрова Анна Игоревна"', 'name = ""', "не заполнено поле «name»", 0),
    ("staff.toml", 'phone = "+7 (4812) 29-20-12"', 'phon = "+7 (4812) 29-20-12"',
     "неизвестный ключ «phon»", 0),
    ("segments.toml", 'payroll = "ivanova"', 'payroll = "ivanov"', "неизвестный сотрудник «ivanov»",
     0),
    ("segments.toml", 'facts = "group:nfa"', 'facts = "group:nfa2"', "неизвестная группа", 0),
    ("segments.toml", 'timesheet = "ivanova"', 'timesheets = "ivanova"',
     "неизвестный процесс «timesheets»", 0),
    ("segments.toml", 'nfa = ["grigorieva", "kovaleva"]', "nfa = []", "группа «nfa» пуста", 0),
    ("segments.toml", 'nfa = ["grigorieva", "kovaleva"]', 'nfa = ["grigorieva", "kovalev"]',
     "неизвестный сотрудник «kovalev»", 0),
    ("segments.toml", ('default = true\n[segment.assign]\npayroll = "group:zarplata"\n'
     'timesheet = "group:zarplata"\nexternal_reporting = "tarasova"\n"*" = "sorokina"\n'),
     "default = true\n", "никто не назначен", None),
    ("segments.toml", "\ndefault = true", "\ndefault = false", "ровно один сегмент по умолчанию",
     None),
    ("segments.toml", 'name = "Министерства экономического блока"',
     'name = "Министерство финансов"', "имя сегмента «Министерство финансов» повторяется", 0),
    ("segments.toml", '"econ.admin-smolensk.ru",', '"culture.admin-smolensk.ru",',
     "домен culture.admin-smolensk.ru указан в сегментах", 0),
    ("segments.toml", 'duty = "sorokina"', 'duty = "sorokin"', "дежурный бухгалтер «sorokin»", 0),
    ("segments.toml", 'domains = ["minfin.example", "minfin.admin-smolensk.ru"]',
     'domains = ["minfin example"]', "не имя домена", 0),
    ("segments.toml", "[groups]", "[grups]", "неизвестный ключ «grups»", 0),
    ("absences.csv", "01.12.2025;14.12.2025", "01.12.2025;30.11.2025",
     "дата окончания раньше даты начала", 0),
    ("absences.csv", ";ivanova;", ";ivanoff;", "неизвестный сотрудник «ivanoff»", 0),
]


@pytest.mark.parametrize(("file", "old", "new", "words", "offset"), CASES,
                         ids=[f"{c[0]}:{c[3]}" for c in CASES])
def test_each_problem_names_file_line_and_cause(
    rules: Path, lemmatizer: Lemmatizer, file: str, old: str, new: str, words: str,
    offset: int | None,
) -> None:
    line = edit(rules, file, old, new)
    error = problems_of(rules, lemmatizer)
    found = [p for p in error.problems if p.file.endswith(f"/{file}") and words in p.message]
    assert found, str(error)
    if offset is not None:
        assert any(p.line == line + offset for p in found), str(error)
    assert f"{file}:" in str(error)


def test_rule_without_anything_to_match(rules: Path, lemmatizer: Lemmatizer) -> None:
    edit(rules, "classify.toml", "weight = 4\nsenders = [", "weight = 4\nxsenders = [")
    error = problems_of(rules, lemmatizer)
    assert any("нужно хотя бы одно из terms, patterns, senders" in p.message
               for p in error.problems)


def test_all_problems_in_all_files_are_reported_together(
    rules: Path, lemmatizer: Lemmatizer
) -> None:
    edit(rules, "classify.toml", 'need = "forms"', 'need = "blanks"')
    edit(rules, "staff.toml", 'role = "head"', 'role = "boss"')
    edit(rules, "segments.toml", 'duty = "sorokina"', 'duty = "sorokin"')
    error = problems_of(rules, lemmatizer)
    shown = {f"{rules.name}/{name}" for name in ("classify.toml", "staff.toml", "segments.toml")}
    assert {p.file for p in error.problems} >= shown  # named one way: the rules folder, the file
    for line in str(error).splitlines():
        file, number, message = line.split(":", 2)
        assert file.split("/")[-1] in FILES and file.startswith(f"{rules.name}/")
        assert number.isdigit() and message.strip()


def test_missing_file_is_reported(rules: Path, lemmatizer: Lemmatizer) -> None:
    (rules / "staff.toml").unlink()
    error = problems_of(rules, lemmatizer)
    assert any(p.file.endswith("/staff.toml") and "не найден" in p.message for p in error.problems)


def test_absences_file_is_optional(rules: Path, lemmatizer: Lemmatizer) -> None:
    (rules / "absences.csv").unlink()
    assert load_ruleset(rules, lemmatizer=lemmatizer).absences == ()


def test_unknown_login_names_the_near_match(rules: Path, lemmatizer: Lemmatizer) -> None:
    edit(rules, "segments.toml", 'duty = "sorokina"', 'duty = "sorokinna"')
    error = problems_of(rules, lemmatizer)
    assert "возможно, вы имели в виду «sorokina»" in str(error)


def test_unknown_login_without_a_near_match_lists_the_logins(
        rules: Path, lemmatizer: Lemmatizer) -> None:
    edit(rules, "segments.toml", 'duty = "sorokina"', 'duty = "zzz"')
    message = next(p.message for p in problems_of(rules, lemmatizer).problems if "zzz" in p.message)
    assert "неизвестный сотрудник" in message and "sorokina" in message and "ivanova" in message


@pytest.mark.parametrize(("new", "words"), [
    ('duty = "sorokina\n', "закрывающую кавычку"),
    ('duty = sorokina', "текст берите в кавычки"),
    ('duty = "sorokina" дежурная', "лишний текст"),
])
def test_toml_syntax_errors_are_russian_with_line_and_hint(
        rules: Path, lemmatizer: Lemmatizer, new: str, words: str) -> None:
    line = edit(rules, "segments.toml", 'duty = "sorokina"', new)
    problem = problems_of(rules, lemmatizer).problems[0]
    assert (problem.file, problem.line) == (f"{rules.name}/segments.toml", line)
    assert problem.message.startswith("ошибка синтаксиса TOML в столбце ")
    assert words in problem.message
    assert not any(w in problem.message for w in ("Illegal", "Invalid", "Expected", "at line"))
