"""Assign a classified request to the accountant responsible for the client's segment (§2.5).

A segment is found by the client's department (from the «ДелоПро» card or signature) or by the
sender's domain, else the default segment applies. It names a login or a group per process; a
group gives the request to the member with the fewest open requests. An absent accountant's
request goes to the deputy (following the chain), then to another group member, then to the duty
accountant. Every step is written down in Russian in ``Assignment.reasons``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from buhdesk.rules.lemmas import normalize
from buhdesk.rules.problems import Problems, unknown_login
from buhdesk.rules.tomlerrors import shown_name

GROUP_PREFIX = "group:"
ANY_PROCESS = "*"


@dataclass(frozen=True)
class StaffMember:
    login: str
    name: str
    position: str
    phone: str
    email: str
    processes: tuple[str, ...]
    deputy: str | None
    role: str = "accountant"  # "accountant" | "head" | "admin"
    unit: str = ""  # the unit (отдел) the member works in; "" — the service's single unit


@dataclass(frozen=True)
class Absence:
    login: str
    start: date
    end: date
    reason: str

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    def describe(self) -> str:
        return f"{self.reason} {self.start:%d.%m}–{self.end:%d.%m.%Y}"


@dataclass(frozen=True)
class Segment:
    """A client segment and who answers it, per process code (``*`` for any other process)."""

    name: str
    domains: tuple[str, ...]
    departments: tuple[str, ...]
    assign: Mapping[str, str]
    default: bool = False


@dataclass(frozen=True)
class Assignment:
    login: str | None
    rule: str
    reasons: tuple[str, ...]


class Router:
    """Finds the segment, the responsible login and substitutes for absences."""

    def __init__(
        self,
        *,
        segments: Sequence[Segment],
        groups: Mapping[str, tuple[str, ...]],
        staff: Mapping[str, StaffMember],
        unsorted_queue: str | None,
        duty: str | None,
    ) -> None:
        self.segments = tuple(segments)
        self.groups = dict(groups)
        self.staff = staff
        self.unsorted_queue = unsorted_queue
        self.duty = duty

    def assign(
        self,
        *,
        process: str | None,
        sender: str,
        department: str | None,
        at: datetime,
        open_counts: Mapping[str, int],
        absences: Sequence[Absence] = (),
    ) -> Assignment:
        if process is None:
            who = self.unsorted_queue
            reason = f"процесс не определён: очередь неразобранных ({who or 'без исполнителя'})"
            return Assignment(who, "unsorted", (reason,))
        segment, why = self.find_segment(sender, department)
        target = segment.assign.get(process) or segment.assign.get(ANY_PROCESS)
        reasons = [why]
        rule = f"segment:{segment.name}/{process}"
        if target is None:
            segment, target = self._default_target(process)
            reasons.append(f"в сегменте нет ответственного за процесс {process}; "
                           f"применён сегмент «{segment.name}»")
        off = _absent_map(absences, at.date())
        login = self._resolve(target, open_counts, off, reasons)
        return Assignment(login, rule, tuple(reasons))

    def find_segment(self, sender: str, department: str | None) -> tuple[Segment, str]:
        """The segment of a client, and the reason in Russian."""
        if department:
            wanted = _norm(department)
            for segment in self.segments:
                if any(_norm(d) in wanted for d in segment.departments):
                    return segment, f"сегмент «{segment.name}» по подразделению «{department}»"
        domain = normalize(sender).strip().strip("<>").rpartition("@")[2]
        for segment in self.segments:
            if any(domain == d or domain.endswith("." + d) for d in segment.domains):
                return segment, f"сегмент «{segment.name}» по домену {domain}"
        default = self._default_segment()
        return default, f"сегмент «{default.name}» (по умолчанию)"

    def _default_segment(self) -> Segment:
        return next(s for s in self.segments if s.default)

    def _default_target(self, process: str) -> tuple[Segment, str | None]:
        segment = self._default_segment()
        return segment, segment.assign.get(process) or segment.assign.get(ANY_PROCESS)

    def _resolve(
        self,
        target: str | None,
        open_counts: Mapping[str, int],
        off: Mapping[str, Absence],
        reasons: list[str],
    ) -> str | None:
        members = self._members(target)
        present = [m for m in members if m not in off]
        if target and target.startswith(GROUP_PREFIX):
            if present:
                chosen = min(present, key=lambda m: (open_counts.get(m, 0), m))
                reasons.append(_balance_reason(chosen, present, open_counts))
                return chosen
        elif present:
            reasons.append(f"ответственный {present[0]}")
            return present[0]
        for member in members:
            deputy = self._deputy_chain(member, off, reasons)
            if deputy:
                return deputy
        return self._fallback(members, off, reasons)

    def _members(self, target: str | None) -> tuple[str, ...]:
        if target is None:
            return ()
        if target.startswith(GROUP_PREFIX):
            return self.groups.get(target[len(GROUP_PREFIX) :], ())
        return (target,)

    def _deputy_chain(
        self, login: str, off: Mapping[str, Absence], reasons: list[str]
    ) -> str | None:
        seen = {login}
        current = login
        while current in off:
            deputy = self.staff[current].deputy if current in self.staff else None
            if deputy is None or deputy in seen:
                end = ("заместитель не назначен" if deputy is None
                       else "цепочка замещения замкнулась")
                reasons.append(f"{current} отсутствует ({off[current].describe()}), {end}")
                return None
            reasons.append(
                f"{current} отсутствует ({off[current].describe()}), назначен заместитель {deputy}"
            )
            seen.add(deputy)
            current = deputy
        return current

    def _fallback(
        self, members: tuple[str, ...], off: Mapping[str, Absence], reasons: list[str]
    ) -> str | None:
        if self.duty and self.duty not in off:
            reasons.append(f"все ответственные и заместители отсутствуют; назначен дежурный "
                           f"бухгалтер {self.duty}")
            return self.duty
        reasons.append("все ответственные, заместители и дежурный отсутствуют; "
                       "обращение оставлено без исполнителя")
        return None


def _absent_map(absences: Sequence[Absence], day: date) -> dict[str, Absence]:
    return {a.login: a for a in absences if a.covers(day)}


def _balance_reason(
    chosen: str, present: list[str], open_counts: Mapping[str, int]
) -> str:
    """The reason as letters show it: the group's members, not its internal name (a notice's
    text may reach a client quoted in an answer)."""
    loads = ", ".join(f"{m}: {open_counts.get(m, 0)}" for m in sorted(present))
    return f"назначен {chosen} — меньше всего открытых обращений среди сотрудников ({loads})"


def _norm(text: str) -> str:
    return " ".join(normalize(text).split())


# --- the HR time-sheet export --------------------------------------------------------------------

_LOGIN_COLUMNS = ("логин", "login", "учетная запись", "пользователь")
_NAME_COLUMNS = ("фио", "сотрудник", "работник", "ф.и.о.")
_START_COLUMNS = ("дата начала", "начало", "с", "дата с", "start")
_END_COLUMNS = ("дата окончания", "окончание", "по", "дата по", "end")
_REASON_COLUMNS = ("вид отсутствия", "причина", "вид неявки", "reason")
_CODE_COLUMNS = ("код", "код неявки", "буквенный код", "code")
ABSENCE_CODES = {
    "ОТ": "отпуск", "ОД": "дополнительный отпуск", "Б": "больничный", "К": "командировка",
    "У": "учебный отпуск", "УД": "учебный отпуск", "ДО": "отпуск без сохранения оплаты",
    "ОЗ": "отпуск без сохранения оплаты", "Р": "отпуск по беременности и родам",
    "ОЖ": "отпуск по уходу за ребёнком", "ПК": "повышение квалификации", "Г": "гособязанности",
}


def read_absences_csv(
    path: Path, *, staff: Mapping[str, StaffMember] | None = None
) -> list[Absence]:
    """Absences from the HR time-sheet CSV (``;`` or ``,``, UTF-8 with BOM or cp1251).

    Rows name the person by login, or by full name when ``staff`` is given to look it up.
    Problems are collected for every row and raised together as ``RuleSetError``.
    """
    problems = Problems()
    text = _read_text(path, problems)
    rows = list(csv.reader(io.StringIO(text), delimiter=_delimiter(text))) if text else []
    columns = _columns(rows[0], path, problems) if rows else None
    found = []
    for number, row in enumerate(rows[1:], start=2):
        if columns is not None and any(cell.strip() for cell in row):
            absence = _absence(row, columns, staff, shown_name(path), number, problems)
            if absence:
                found.append(absence)
    problems.raise_if_any()
    return found


def _read_text(path: Path, problems: Problems) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        problems.add(shown_name(path), None, f"файл не читается: {e}")
        return ""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace")


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") >= first.count(",") else ","


def _columns(header: list[str], path: Path, problems: Problems) -> dict[str, int] | None:
    names = [_norm(h).replace("ё", "е") for h in header]
    found = {}
    for key, aliases in (("login", _LOGIN_COLUMNS), ("name", _NAME_COLUMNS),
                         ("start", _START_COLUMNS), ("end", _END_COLUMNS),
                         ("reason", _REASON_COLUMNS), ("code", _CODE_COLUMNS)):
        index = next((i for i, n in enumerate(names) if n in aliases), None)
        if index is not None:
            found[key] = index
    missing = [label for key, label in (("start", "«Дата начала»"), ("end", "«Дата окончания»"))
               if key not in found]
    if "login" not in found and "name" not in found:
        missing.insert(0, "«Логин» или «ФИО»")
    if missing:
        problems.add(shown_name(path), 1, "в заголовке нет столбцов: " + ", ".join(missing))
        return None
    return found


def _absence(
    row: list[str], columns: dict[str, int], staff: Mapping[str, StaffMember] | None,
    file: str, line: int, problems: Problems,
) -> Absence | None:
    def cell(key: str) -> str:
        index = columns.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    login = cell("login") or _login_by_name(cell("name"), staff)
    start, end = _parse_date(cell("start")), _parse_date(cell("end"))
    errors = []
    if not login:
        errors.append(f"сотрудник «{cell('name')}» не найден среди сотрудников"
                      if cell("name") else "не указан сотрудник")
    elif staff is not None and login not in staff:
        errors.append(unknown_login(login, staff))
    if start is None or end is None:
        errors.append("даты должны быть в виде ДД.ММ.ГГГГ")
    elif end < start:
        errors.append("дата окончания раньше даты начала")
    for message in errors:
        problems.add(file, line, message)
    if errors or not login or start is None or end is None:
        return None
    code = cell("code").upper()
    reason = cell("reason") or ABSENCE_CODES.get(code, code.lower() or "отсутствие")
    return Absence(login=login, start=start, end=end, reason=reason)


def _login_by_name(name: str, staff: Mapping[str, StaffMember] | None) -> str | None:
    if not name or staff is None:
        return None
    wanted = _norm(name)
    return next((m.login for m in staff.values() if _norm(m.name) == wanted), None)


def _parse_date(value: str) -> date | None:
    for fmt in ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None
