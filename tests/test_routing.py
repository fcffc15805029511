"""Who gets a request: segments, groups, deputies, absences, the HR time-sheet CSV."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from buhdesk.rules.routing import Absence, Router, Segment, StaffMember, read_absences_csv
from buhdesk.rules.ruleset import RuleSetError, load_ruleset

ROOT = Path(__file__).resolve().parents[1]
AT = datetime(2025, 12, 3, 10, 0)


def member(login: str, deputy: str | None = None, name: str = "") -> StaffMember:
    return StaffMember(login, name or login.title(), "специалист", "", f"{login}@minfin.example",
                       ("payroll",), deputy)


STAFF = {
    "ivanova": member("ivanova", "petrova", "Иванова Ольга Петровна"),
    "petrova": member("petrova", "sidorova"),
    "sidorova": member("sidorova", "ivanova"),
    "kozlov": member("kozlov", "ivanova"),
    "duty": member("duty"),
}
SEGMENTS = [
    Segment("Минкультуры", ("culture.admin-smolensk.ru",), ("министерство культуры",),
            {"payroll": "ivanova", "travel": "group:team"}),
    Segment("Прочие", (), (), {"*": "kozlov"}, default=True),
]


def router(duty: str | None = "duty") -> Router:
    return Router(segments=SEGMENTS, groups={"team": ("petrova", "sidorova")}, staff=STAFF,
                  unsorted_queue="duty", duty=duty)


def off(login: str, start: date = date(2025, 12, 1), end: date = date(2025, 12, 14)) -> Absence:
    return Absence(login, start, end, "отпуск")


def assign(process: str | None, sender: str = "a@culture.admin-smolensk.ru",
           department: str | None = None, absences: tuple[Absence, ...] = (),
           counts: dict[str, int] | None = None, duty: str | None = "duty"):
    return router(duty).assign(process=process, sender=sender, department=department, at=AT,
                               open_counts=counts or {}, absences=absences)


def test_sender_domain_selects_the_segment_and_its_accountant() -> None:
    a = assign("payroll")
    assert a.login == "ivanova"
    assert a.rule == "segment:Минкультуры/payroll"
    assert any("culture.admin-smolensk.ru" in r for r in a.reasons)


def test_subdomain_belongs_to_the_segment() -> None:
    assert assign("payroll", sender="x@museum.culture.admin-smolensk.ru").login == "ivanova"


def test_department_wins_over_an_unknown_domain() -> None:
    a = assign("payroll", sender="x@gmail.com", department="Министерство культуры Смоленской обл.")
    assert a.login == "ivanova"
    assert "подразделению" in a.reasons[0]


def test_unknown_sender_goes_to_the_default_segment() -> None:
    a = assign("payroll", sender="someone@example.org")
    assert a.login == "kozlov"
    assert "по умолчанию" in a.reasons[0]


def test_process_missing_in_segment_falls_back_to_default_segment() -> None:
    a = assign("facts")
    assert a.login == "kozlov"
    assert any("нет ответственного" in r for r in a.reasons)


def test_group_balances_by_open_requests_and_ties_by_login() -> None:
    assert assign("travel", counts={"petrova": 5, "sidorova": 2}).login == "sidorova"
    assert assign("travel", counts={"petrova": 1, "sidorova": 1}).login == "petrova"


def test_absent_accountant_is_replaced_by_the_deputy_with_reason() -> None:
    a = assign("payroll", absences=(off("ivanova"),))
    assert a.login == "petrova"
    assert any("ivanova отсутствует (отпуск 01.12–14.12.2025)" in r and "petrova" in r
               for r in a.reasons)


def test_absence_outside_the_date_does_not_matter() -> None:
    assert assign("payroll", absences=(off("ivanova", end=date(2025, 12, 2)),)).login == "ivanova"


def test_deputy_chain_is_followed() -> None:
    a = assign("payroll", absences=(off("ivanova"), off("petrova")))
    assert a.login == "sidorova"


def test_cycle_of_absent_deputies_ends_at_the_duty_accountant() -> None:
    everyone = (off("ivanova"), off("petrova"), off("sidorova"))
    a = assign("payroll", absences=everyone)
    assert a.login == "duty"
    assert any("дежурный" in r for r in a.reasons)


def test_nobody_present_leaves_the_request_unassigned_with_reason() -> None:
    everyone = (off("ivanova"), off("petrova"), off("sidorova"), off("duty"))
    a = assign("payroll", absences=everyone)
    assert a.login is None
    assert any("без исполнителя" in r for r in a.reasons)


def test_absent_group_member_is_skipped() -> None:
    a = assign("travel", absences=(off("sidorova"),), counts={"petrova": 9, "sidorova": 0})
    assert a.login == "petrova"


def test_unsorted_request_goes_to_the_unsorted_queue() -> None:
    a = assign(None)
    assert (a.login, a.rule) == ("duty", "unsorted")


def test_shipped_rules_route_a_culture_payroll_letter() -> None:
    rs = load_ruleset(ROOT / "rules")
    a = rs.router.assign(process="payroll", sender="x@culture.admin-smolensk.ru", department=None,
                         at=AT, open_counts={}, absences=rs.absences)
    assert a.login in rs.staff


# --- absences CSV --------------------------------------------------------------------------------

HEADER = "Табельный номер;ФИО;Логин;Вид отсутствия;Код;Дата начала;Дата окончания\n"


def test_csv_in_utf8_with_bom_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(("\ufeff" + HEADER + "1;Иванова О.П.;ivanova;Отпуск;ОТ;01.12.2025;14.12.2025\n")
                     .encode("utf-8"))
    [a] = read_absences_csv(path)
    assert a == Absence("ivanova", date(2025, 12, 1), date(2025, 12, 14), "Отпуск")


def test_csv_in_cp1251_with_commas_and_code_only(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    text = "ФИО,Код,Дата начала,Дата окончания\nИванова Ольга Петровна,Б,03.11.2025,07.11.2025\n"
    path.write_bytes(text.encode("cp1251"))
    [a] = read_absences_csv(path, staff=STAFF)
    assert (a.login, a.reason) == ("ivanova", "больничный")


def test_csv_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "tabel.csv"
    path.write_text(HEADER + "1;X;ivanova;Отпуск;ОТ;01.12.2025;14.12.2025\n"
                    "2;Y;petrova;Отпуск;ОТ;2025/12/01;14.12.2025\n"
                    "3;Z;ivanova;Отпуск;ОТ;14.12.2025;01.12.2025\n"
                    "4;W;nobody;Отпуск;ОТ;01.12.2025;02.12.2025\n", encoding="utf-8")
    with pytest.raises(RuleSetError) as caught:
        read_absences_csv(path, staff=STAFF)
    lines = {(p.file, p.line) for p in caught.value.problems}
    shown = f"{tmp_path.name}/tabel.csv"  # named as every rule-file message names a file
    assert lines == {(shown, 3), (shown, 4), (shown, 5)}
    text = str(caught.value)
    assert "ДД.ММ.ГГГГ" in text and "раньше даты начала" in text and "nobody" in text


def test_csv_without_date_columns_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("Логин;Причина\nivanova;отпуск\n", encoding="utf-8")
    with pytest.raises(RuleSetError, match="Дата начала"):
        read_absences_csv(path)
