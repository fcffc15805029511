"""Each punctuation, typography, style and greeting rule of the text check: it fires on the error
and stays silent on correct text (false alarms are what accountants hate most)."""

from __future__ import annotations

from pathlib import Path

import pytest

from buhdesk.textcheck import Finding, TextChecker, TextCheckRulesError

RULES = Path(__file__).parents[1] / "rules"
NAMES = ["Ковалева Мария Петровна", "Иванов Сергей Николаевич", "Тарасенко Оксана Васильевна"]


@pytest.fixture(scope="module")
def checker() -> TextChecker:
    return TextChecker.load(RULES).with_names(NAMES)


def _kinds(checker: TextChecker, text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in checker.check(text)]


FIRING = [
    ("Сообщаем , что выплата будет завтра.", "typography", " ,"),
    ("Справка готова .", "typography", " ."),
    ("Сообщаем,что выплата будет завтра.", "typography", ",ч"),
    ("Выплата произведена.Справка готова.", "typography", ".С"),
    ("Выплата будет произведена в в пятницу.", "typography", "в в"),
    ("Выплата будет произведена завтра,, после обеда.", "punctuation", ",,"),
    ("Выплата будет произведена завтра.. Спасибо.", "punctuation", ".."),
    ("Выплата (аванс будет перечислен завтра.", "punctuation", "("),
    ("Выплата аванс) будет перечислена завтра.", "punctuation", ")"),
    ("Документ «Авансовый отчёт не подписан.", "punctuation", "«"),
    ('Приложите "посадочный талон" к отчёту.', "typography", '"посадочный талон"'),
    ("Справка готова. заберите её в кабинете 214.", "punctuation", "заберите"),
    ("сообщаем, что справка готова.", "punctuation", "сообщаем"),
    ("Справка готова! заберите её.", "punctuation", "заберите"),
    ("Это СРОЧНО нужно сделать.", "style", "СРОЧНО"),
    ("Почему не выплатили!!!", "style", "!!!"),
    ("Почему не выплатили??", "style", "??"),
    ("Щас проверим и ответим.", "style", "Щас"),
    ("Всё норм, выплата прошла.", "style", "норм"),
    ("Ок, справку подготовим.", "style", "Ок"),
    ("Спс за обращение.", "style", "Спс"),
    ("Пришлите заявление, плиз.", "style", "плиз"),
    ("Мы типа проверили отчёт.", "style", "типа"),
    ("Короче, справка готова.", "style", "Короче"),
    ("А че не так с отчётом?", "style", "че"),
    ("Инфа о выплате будет завтра.", "style", "Инфа"),
    ("Зп за март перечислена.", "style", "Зп"),
    ("Ваша з/п за март перечислена.", "style", "з/п"),
    ("Вообщем, справка готова.", "style", "Вообщем"),
    ("Заработная плата перечислена.Зарплты не задерживаются.", "spelling", "Зарплты"),
    ("Сдайте командеровочные документы.", "spelling", "командеровочные"),
    ("Справка выдаётся по зaявлению.", "spelling", "зaявлению"),
    ("Укажите код ЖЖХУ в заявке.", "spelling", "ЖЖХУ"),
    ("Please find the reprot attached.", "spelling", "reprot"),
]


@pytest.mark.parametrize(("text", "kind", "fragment"), FIRING)
def test_rule_fires(checker: TextChecker, text: str, kind: str, fragment: str) -> None:
    assert (kind, fragment) in _kinds(checker, text)


SILENT = [
    "Ставка составляет 1,5 % в месяц, т.е. 3.14 руб. в день.",
    "Доплата т.к. перерасчёт, и т.д. и т.п. всё учтено.",
    "Сумма 1 234,56 руб. перечислена на счёт 40102810445370000055.",
    "КБК 81801130000000000244, ОКТМО 66701000, ИНН 6730012345, КПП 673001001.",
    "Пишите на buh@minfin.admin-smolensk.ru или смотрите https://minfin.admin-smolensk.ru/buh/.",
    "Файл otchet.xlsx приложен, скан — в формате .pdf.",
    "Документы: 1) заявление; 2) копия паспорта; а) оригинал; б) копия.",
    "Справку 2-НДФЛ можно получить где-либо ещё, из-за сроков — в МФЦ.",
    "Подотчётные и подотчетные суммы, ЕНП и ЕНС, ЭЛН, ОСФР и СФР.",
    "Отметьте в табеле дни отпуска кодом «ОТ» и болезни кодом «Б».",
    "Что делать дальше... ждать ответа.",
    "Документ «Авансовый отчёт (ф. 0504505)» утверждён.",
    "Программа «1С:Предприятие» обновлена, как и «ДелоПро».",
    "Справка установленного типа выдана. Соблюдение норм закона обязательно.",
    "Срок стал короче на два дня.",
    "Работаем с 9:00 до 17:00, перерыв 13:00–13:48.",
    "Ответ направлен М. П. Ковалевой и Ивановой Марии, а копия — Сергею Николаевичу.",
    "В I квартале 2026 г. в Смоленской области выплаты выросли на 5 %.",
    "Выплата США и РФ не касается.",
    "Это правда?! Да.",
    "Номер ЭЛН: 910123456789.",
    "Файл в формате Excel (xlsx) приложен; сведения СЗВ-ТД и ЕФС-1 направлены в СФР.",
    "> Когда будет зарплата?\n> Спасибо.\n\nЗарплата будет 5-го числа.",
    "- заявление;\n- копия паспорта;\n- справка о доходах.",
    "Тариф — 800 руб./мес., т. е. 9 600 руб. в год; тел. +7 (4812) 29-10-15, каб. 214.",
    "Ответ по запросу № БУХ-2026-000123 от 12.03.2026 подготовлен.",
    "Please find the report attached.",
    "Начисления за I–II кварталы пересчитаны.",
]


@pytest.mark.parametrize("text", SILENT)
def test_correct_text_raises_nothing(checker: TextChecker, text: str) -> None:
    assert _kinds(checker, text) == []


@pytest.mark.parametrize("greeting", [
    "Уважаемая Мария Петровна!",
    "Уважаемый Сергей Николаевич!",
    "Уважаемая Оксана Васильевна!",
    "Уважаемые коллеги!",
])
def test_correct_greeting_is_silent(checker: TextChecker, greeting: str) -> None:
    assert _kinds(checker, f"{greeting}\n\nСообщаем, что справка готова.") == []


@pytest.mark.parametrize(("greeting", "fragment", "suggestion"), [
    ("Уважаемый Мария Петровна!", "Уважаемый", "Уважаемая"),
    ("Уважаемая Сергей Николаевич!", "Уважаемая", "Уважаемый"),
    ("Уважаемая Мария Петровна,", ",", "!"),
    ("Уважаемая Мария Петровна.", ".", "!"),
    ("Уважаемая Мария Петровна", "Петровна", "Петровна!"),
    ("Уважаемая мария Петровна!", "мария", "Мария"),
    ("Уважаемая, Мария Петровна!", ",", ""),
])
def test_wrong_greeting_is_reported(checker: TextChecker, greeting: str, fragment: str,
                                    suggestion: str) -> None:
    findings = [f for f in checker.check(f"{greeting}\n\nСправка готова.") if f.kind == "greeting"]
    assert [(f.text, f.suggestions[:1]) for f in findings] == [(fragment, (suggestion,))]


def test_names_are_accepted_in_every_case_only_after_with_names() -> None:
    base = TextChecker.load(RULES)
    text = "Заявление Жмуркиной и Глущенко передано Жмуркину."
    assert {f.text for f in base.check(text) if f.kind == "spelling"} >= {"Жмуркиной", "Жмуркину"}
    named = base.with_names(["Жмуркина Лариса Фёдоровна", "Глущенко Игорь Валентинович"])
    assert [f for f in named.check(text) if f.kind == "spelling"] == []


def test_spelling_finding_has_offsets_message_and_ranked_suggestions(checker: TextChecker) -> None:
    text = "Расчёт зарплты готов."
    [finding] = checker.check(text)
    assert (finding.start, finding.end, finding.text) == (7, 14, "зарплты")
    assert text[finding.start:finding.end] == finding.text
    assert finding.suggestions[0] == "зарплаты"
    assert finding.message.startswith("Возможна орфографическая ошибка: „зарплты“ → „зарплаты“")
    assert finding.to_dict() == {
        "kind": "spelling", "start": 7, "end": 14, "text": "зарплты",
        "message": finding.message, "suggestions": list(finding.suggestions), "blocking": True,
    }


def test_findings_are_sorted_by_position(checker: TextChecker) -> None:
    findings = checker.check("Щас проверим.Зарплты готовы , спс!!!")
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    assert all(isinstance(f, Finding) for f in findings) and len(findings) >= 5


def _rules_dir(tmp_path: Path, glossary: str, style: str) -> Path:
    (tmp_path / "glossary.txt").write_text(glossary, encoding="utf-8")
    (tmp_path / "style.toml").write_text(style, encoding="utf-8")
    return tmp_path


def test_glossary_line_with_two_terms_names_file_and_line(tmp_path: Path) -> None:
    rules = _rules_dir(tmp_path, "# термины\nНДФЛ\nОКТМО, КБК\n", "")
    with pytest.raises(TextCheckRulesError, match=r"glossary\.txt:3: "):
        TextChecker.load(rules)


def test_style_entry_without_replacement_names_file_and_line(tmp_path: Path) -> None:
    style = '[[colloquialism]]\nwords = ["щас"]\nreplacement = "сейчас"\n\n' \
            '[[colloquialism]]\nwords = ["норм"]\n'
    rules = _rules_dir(tmp_path, "НДФЛ\n", style)
    with pytest.raises(TextCheckRulesError, match=r"style\.toml:5: нужен ключ"):
        TextChecker.load(rules)


def test_style_syntax_error_and_missing_file_are_clear(tmp_path: Path) -> None:
    rules = _rules_dir(tmp_path, "НДФЛ\n", "[[colloquialism]\n")
    with pytest.raises(TextCheckRulesError, match=r"style\.toml:1: ошибка синтаксиса TOML"):
        TextChecker.load(rules)
    with pytest.raises(TextCheckRulesError, match=r"glossary\.txt: файл не найден"):
        TextChecker.load(tmp_path / "absent")


def test_glossary_term_is_accepted_only_when_listed(tmp_path: Path) -> None:
    text = "Код ЦУКС указан, подотчётчик уведомлён."
    bare = TextChecker.load(_rules_dir(tmp_path, "НДФЛ\n", ""))
    assert {f.text for f in bare.check(text)} == {"ЦУКС", "подотчётчик"}
    listed = TextChecker.load(_rules_dir(tmp_path, "ЦУКС\nподотчётчик\n", ""))
    assert listed.check(text) == []
