"""Load ``classify.toml``, ``staff.toml``, ``segments.toml`` and ``absences.csv`` as one RuleSet.

Everything is checked before anything is used: every problem in every file is collected and raised
together as :class:`RuleSetError`, each naming the file and line in Russian.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from buhdesk.rules.classify import NEEDS, PROCESSES, Classifier
from buhdesk.rules.classify_model import MODEL_FILE, Model, ModelError, load_model
from buhdesk.rules.classify_rules import parse_classify
from buhdesk.rules.lemmas import Lemmatizer
from buhdesk.rules.problems import (
    Owner,
    Problem,
    Problems,
    RuleSetError,
    TomlDoc,
    check_keys,
    login_hint,
    read_toml,
    unknown_login,
)
from buhdesk.rules.routing import (
    ANY_PROCESS,
    GROUP_PREFIX,
    Absence,
    Router,
    Segment,
    StaffMember,
    read_absences_csv,
)
from buhdesk.rules.tomlerrors import shown_name

__all__ = ["Problem", "RuleSet", "RuleSetError", "StaffMember", "load_ruleset"]

CLASSIFY_FILE = "classify.toml"
STAFF_FILE = "staff.toml"
SEGMENTS_FILE = "segments.toml"
ABSENCES_FILE = "absences.csv"
ROLES = ("accountant", "head", "admin")
_STAFF_KEYS = ("login", "name", "position", "phone", "email", "processes", "deputy", "role",
               "unit")
_STAFF_REQUIRED = ("login", "name", "position", "email")
_SEGMENT_KEYS = ("name", "domains", "departments", "assign", "default")
_LOGIN = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_DOMAIN = re.compile(r"^[\w-]+(?:\.[\w-]+)+$")


@dataclass(frozen=True)
class RuleSet:
    classifier: Classifier
    router: Router
    staff: Mapping[str, StaffMember]
    process_labels: Mapping[str, str]
    need_labels: Mapping[str, str]
    unsorted_queue: str | None
    source_files: tuple[Path, ...]
    absences: tuple[Absence, ...] = ()


def load_ruleset(rules_dir: Path, *, lemmatizer: Lemmatizer | None = None) -> RuleSet:
    """Read and validate all rule files in ``rules_dir``; raise RuleSetError with ALL problems."""
    rules_dir = Path(rules_dir)
    lemmatizer = lemmatizer or Lemmatizer()
    problems = Problems()
    classify_doc, staff_doc, segments_doc = (
        read_toml(rules_dir / n, problems) for n in (CLASSIFY_FILE, STAFF_FILE, SEGMENTS_FILE))
    staff = _staff(staff_doc, problems) if staff_doc is not None else {}
    config = (parse_classify(classify_doc, lemmatizer, problems) if classify_doc is not None
              else None)
    if config and config.unsorted_queue and staff and config.unsorted_queue not in staff:
        problems.add(shown_name(rules_dir / CLASSIFY_FILE), config.unsorted_line,
                     f"unsorted_queue: {unknown_login(config.unsorted_queue, staff)}")
    router_parts = (_segments(segments_doc, staff, problems) if segments_doc is not None
                    else None)
    absences = _absences(rules_dir / ABSENCES_FILE, staff, problems)
    model = _model(rules_dir / MODEL_FILE, problems)
    problems.raise_if_any()
    if config is None or router_parts is None:  # a file that was not parsed is a problem above
        raise RuntimeError(f"{rules_dir}: rule files left unparsed without a recorded problem")
    segments, groups, duty = router_parts
    frozen_staff = MappingProxyType(staff)
    router = Router(segments=segments, groups=groups, staff=frozen_staff,
                    unsorted_queue=config.unsorted_queue, duty=duty)
    files = [rules_dir / n for n in (CLASSIFY_FILE, STAFF_FILE, SEGMENTS_FILE, ABSENCES_FILE,
                                     MODEL_FILE)]
    return RuleSet(
        classifier=Classifier(config.rules, config.settings, lemmatizer, model),
        router=router,
        staff=frozen_staff,
        process_labels=MappingProxyType(config.process_labels),
        need_labels=MappingProxyType(config.need_labels),
        unsorted_queue=config.unsorted_queue,
        source_files=tuple(p for p in files if p.exists()),
        absences=tuple(absences),
    )


def _model(path: Path, problems: Problems) -> Model | None:
    """The trained model beside the rules, if there is one (rules alone decide without it)."""
    if not path.exists():
        return None
    try:
        return load_model(path, PROCESSES, NEEDS)
    except ModelError as e:
        problems.add(MODEL_FILE, None, str(e))
        return None


# --- staff.toml --------------------------------------------------------------------------------

def _staff(doc: TomlDoc, problems: Problems) -> dict[str, StaffMember]:
    check_keys(doc, ("", None), doc.data, ("staff",), problems, "файле")
    raw = doc.data.get("staff", [])
    if not isinstance(raw, list) or not raw:
        problems.add(doc.name, None, "нет ни одного сотрудника [[staff]]")
        return {}
    staff: dict[str, StaffMember] = {}
    for index, entry in enumerate(raw):
        member = _member(doc, ("staff", index), entry, problems)
        if member is None:
            continue
        if member.login in staff:
            problems.add(doc.name, doc.key_line(("staff", index), "login"),
                         f"логин «{member.login}» повторяется")
            continue
        staff[member.login] = member
    _check_deputies(doc, raw, staff, problems)
    _check_units(doc, raw, staff, problems)
    return staff


def _check_units(
    doc: TomlDoc, raw: list[Any], staff: dict[str, StaffMember], problems: Problems
) -> None:
    """Once units are named, each has a head: its digest and summary go to nobody otherwise."""
    units = {m.unit for m in staff.values()}
    if units == {""}:
        return  # the single unit of a file without units (a unit with no head gets no digests)
    headed = {m.unit for m in staff.values() if m.role == "head"}
    for index, entry in enumerate(raw):
        member = staff.get(entry.get("login", "")) if isinstance(entry, dict) else None
        if member is None or member.unit in headed:
            continue
        headed.add(member.unit)  # one finding per unit, at its first member
        where = f"подразделении «{member.unit}»" if member.unit else "записях без unit"
        problems.add(doc.name, doc.table_line(("staff", index)),
                     f"в {where} нет руководителя (role = \"head\"): его сводки некому "
                     "отправлять; укажите руководителя или unit сотрудника")


def _member(doc: TomlDoc, owner: Owner, raw: Any, problems: Problems) -> StaffMember | None:
    if not isinstance(raw, dict):
        problems.add(doc.name, doc.table_line(owner), "сотрудник должен быть таблицей [[staff]]")
        return None
    before = len(problems.items)
    check_keys(doc, owner, raw, _STAFF_KEYS, problems, "описании сотрудника")
    for key in _STAFF_REQUIRED:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            problems.add(doc.name, doc.key_line(owner, key) if key in raw else doc.table_line(
                owner), f"у сотрудника не заполнено поле «{key}»")
    login, email = str(raw.get("login", "")), str(raw.get("email", ""))
    if login and not _LOGIN.match(login):
        problems.add(doc.name, doc.key_line(owner, "login"),
                     f"логин «{login}»: только латинские строчные буквы, цифры, «.», «_», «-»")
    if email and not _EMAIL.match(email):
        problems.add(doc.name, doc.key_line(owner, "email"), f"неверный адрес e-mail «{email}»")
    processes = raw.get("processes", [])
    if not isinstance(processes, list):
        problems.add(doc.name, doc.key_line(owner, "processes"), "processes должен быть списком")
        processes = []
    for code in processes:
        if code not in PROCESSES:
            problems.add(doc.name, doc.value_line(owner, str(code)),
                         f"{login}: неизвестный процесс «{code}»")
    role = raw.get("role", "accountant")
    if role not in ROLES:
        problems.add(doc.name, doc.key_line(owner, "role"),
                     f"{login}: роль должна быть одной из: {', '.join(ROLES)}")
    unit = raw.get("unit", "")
    if "unit" in raw and (not isinstance(unit, str) or not unit.strip()):
        problems.add(doc.name, doc.key_line(owner, "unit"),
                     f"{login}: unit — название подразделения, непустая строка")
    if len(problems.items) > before:
        return None
    return StaffMember(login=login, name=raw["name"], position=raw["position"],
                       phone=str(raw.get("phone", "")), email=email,
                       processes=tuple(processes), deputy=raw.get("deputy") or None, role=role,
                       unit=unit.strip())


def _check_deputies(
    doc: TomlDoc, raw: list[Any], staff: dict[str, StaffMember], problems: Problems
) -> None:
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not entry.get("deputy"):
            continue
        deputy, login = entry["deputy"], entry.get("login")
        line = doc.key_line(("staff", index), "deputy")
        if deputy == login:
            problems.add(doc.name, line, f"{login}: сотрудник не может замещать сам себя")
        elif deputy not in staff:
            problems.add(doc.name, line, f"{login}: заместитель «{deputy}» — неизвестный сотрудник"
                         f"{login_hint(deputy, staff)}")


# --- segments.toml -----------------------------------------------------------------------------

def _segments(
    doc: TomlDoc, staff: Mapping[str, StaffMember], problems: Problems
) -> tuple[list[Segment], dict[str, tuple[str, ...]], str | None]:
    check_keys(doc, ("", None), doc.data, ("settings", "groups", "segment"), problems, "файле")
    duty = _duty(doc, staff, problems)
    groups = _groups(doc, staff, problems)
    raw = doc.data.get("segment", [])
    if not isinstance(raw, list) or not raw:
        problems.add(doc.name, None, "нет ни одного сегмента [[segment]]")
        raw = []
    segments = [s for i, e in enumerate(raw) if (s := _segment(doc, i, e, staff, groups,
                                                                 problems))]
    _check_uniqueness(doc, segments, problems)
    return segments, groups, duty


def _duty(doc: TomlDoc, staff: Mapping[str, StaffMember], problems: Problems) -> str | None:
    owner: Owner = ("settings", None)
    settings = doc.data.get("settings", {})
    if not isinstance(settings, dict):
        problems.add(doc.name, doc.table_line(owner), "[settings] должен быть таблицей")
        return None
    check_keys(doc, owner, settings, ("duty",), problems, "[settings]")
    duty = settings.get("duty") or None
    if duty is not None and staff and duty not in staff:
        problems.add(doc.name, doc.key_line(owner, "duty"),
                     f"дежурный бухгалтер «{duty}» — неизвестный сотрудник"
                     f"{login_hint(duty, staff)}")
    return duty


def _groups(
    doc: TomlDoc, staff: Mapping[str, StaffMember], problems: Problems
) -> dict[str, tuple[str, ...]]:
    owner: Owner = ("groups", None)
    raw = doc.data.get("groups", {})
    groups: dict[str, tuple[str, ...]] = {}
    for name, members in raw.items() if isinstance(raw, dict) else ():
        line = doc.key_line(owner, name)
        if not isinstance(members, list) or not members:
            problems.add(doc.name, line, f"группа «{name}» пуста или не является списком")
            continue
        for login in members:
            if staff and login not in staff:
                problems.add(doc.name, line, f"группа «{name}»: {unknown_login(login, staff)}")
        groups[name] = tuple(members)
    return groups


def _segment(
    doc: TomlDoc, index: int, raw: Any, staff: Mapping[str, StaffMember],
    groups: Mapping[str, tuple[str, ...]], problems: Problems,
) -> Segment | None:
    owner: Owner = ("segment", index)
    if not isinstance(raw, dict):
        problems.add(doc.name, doc.table_line(owner), "сегмент должен быть таблицей [[segment]]")
        return None
    before = len(problems.items)
    check_keys(doc, owner, raw, _SEGMENT_KEYS, problems, "сегменте")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(doc.name, doc.table_line(owner), f"у сегмента № {index + 1} нет имени")
        name = f"№ {index + 1}"
    domains = _str_list(doc, owner, raw, "domains", name, problems)
    for domain in domains:
        if not _DOMAIN.match(domain.lstrip("@")):
            problems.add(doc.name, doc.value_line(owner, domain),
                         f"сегмент «{name}»: «{domain}» — не имя домена")
    departments = _str_list(doc, owner, raw, "departments", name, problems)
    assign = _assign(doc, owner, raw.get("assign"), name, staff, groups, problems)
    default = raw.get("default", False) is True
    if not default and not domains and not departments:
        problems.add(doc.name, doc.table_line(owner),
                     f"сегмент «{name}»: не заданы ни домены, ни подразделения")
    if len(problems.items) > before:
        return None
    return Segment(name, tuple(d.lstrip("@").lower() for d in domains), tuple(departments),
                   MappingProxyType(assign), default)


def _str_list(
    doc: TomlDoc, owner: Owner, raw: dict[str, Any], key: str, name: str, problems: Problems
) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(doc.name, doc.key_line(owner, key),
                     f"сегмент «{name}»: {key} должен быть списком непустых строк")
        return []
    return value


def _assign(
    doc: TomlDoc, owner: Owner, raw: Any, name: str, staff: Mapping[str, StaffMember],
    groups: Mapping[str, tuple[str, ...]], problems: Problems,
) -> dict[str, str]:
    if not isinstance(raw, dict) or not raw:
        problems.add(doc.name, doc.table_line(owner),
                     f"сегмент «{name}»: никто не назначен (нужна таблица [segment.assign])")
        return {}
    for process, target in raw.items():
        line = doc.key_line(owner, process)
        if process != ANY_PROCESS and process not in PROCESSES:
            problems.add(doc.name, line, f"сегмент «{name}»: неизвестный процесс «{process}»")
        if not isinstance(target, str):
            problems.add(doc.name, line, f"сегмент «{name}»: исполнитель должен быть строкой")
        elif target.startswith(GROUP_PREFIX):
            if target[len(GROUP_PREFIX):] not in groups:
                problems.add(doc.name, line, f"сегмент «{name}»: неизвестная группа «{target}»")
        elif staff and target not in staff:
            problems.add(doc.name, line, f"сегмент «{name}»: {unknown_login(target, staff)}")
    return dict(raw)


def _check_uniqueness(doc: TomlDoc, segments: list[Segment], problems: Problems) -> None:
    names: set[str] = set()
    domains: dict[str, str] = {}
    for segment in segments:
        if segment.name in names:
            problems.add(doc.name, _second_line(doc, f'"{segment.name}"'),
                         f"имя сегмента «{segment.name}» повторяется")
        names.add(segment.name)
        for domain in segment.domains:
            if domain in domains:
                problems.add(doc.name, _second_line(doc, f'"{domain}"'),
                             f"домен {domain} указан в сегментах «{domains[domain]}» и "
                             f"«{segment.name}»")
            domains[domain] = segment.name
    defaults = [s.name for s in segments if s.default]
    if len(defaults) != 1:
        problems.add(doc.name, None, "нужен ровно один сегмент по умолчанию (default = true), "
                     f"найдено: {len(defaults)}")


def _second_line(doc: TomlDoc, needle: str) -> int | None:
    """The line of the second occurrence of ``needle`` (the duplicate)."""
    hits = [n for n, line in enumerate(doc.lines, start=1) if needle in line]
    return hits[1] if len(hits) > 1 else None


def _absences(
    path: Path, staff: Mapping[str, StaffMember], problems: Problems
) -> list[Absence]:
    if not path.exists():
        return []
    try:
        return read_absences_csv(path, staff=staff or None)
    except RuleSetError as e:
        problems.items.extend(e.problems)
        return []
