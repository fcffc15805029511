"""Everything administrators keep in ``rules/``, loaded and validated as one immutable book.

The daemon holds one book at a time and swaps it whole on reload, so a half-edited rule file never
affects a decision. Deciding a new request (process, need, assignee, deadline) happens here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from buhdesk.rules.classify import Classification, Letter
from buhdesk.rules.locatedtoml import RuleFileError
from buhdesk.rules.routing import Absence
from buhdesk.rules.ruleset import Problem, RuleSet, RuleSetError, StaffMember, load_ruleset
from buhdesk.rules.tomlerrors import shown_name
from buhdesk.textcheck import TextChecker, TextCheckRulesError
from buhdesk.worktime.calendar import WorkCalendar
from buhdesk.worktime.deadlines import DeadlinePolicy


class RuleBookError(Exception):
    """The rules cannot be used; ``problems`` lists every finding (Russian, with file and line)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(_format_problem(p) for p in self.problems))


def _format_problem(p: Problem) -> str:
    where = f"{p.file}:{p.line}" if p.line else p.file
    return f"{where}: {p.message}"


@dataclass(frozen=True)
class Decision:
    process: str | None
    need: str | None
    assignee: str | None
    due_at: datetime | None
    due_rule: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    reasons: tuple[str, ...] = ()


def with_duty_accountant(decision: Decision, duty: str | None) -> Decision:
    """Nobody found by the rules: the duty accountant takes it, and the trail says so."""
    if decision.assignee or not duty:
        return decision
    rules = [*decision.rules, {"stage": "assign", "rule": "duty-accountant", "login": duty}]
    return Decision(decision.process, decision.need, duty, decision.due_at, decision.due_rule,
                    rules, (*decision.reasons, f"дежурный бухгалтер {duty}"))


@dataclass(frozen=True)
class RuleBook:
    directory: Path
    ruleset: RuleSet
    calendar: WorkCalendar
    deadlines: DeadlinePolicy
    textcheck: TextChecker
    fingerprint: str

    @property
    def staff(self) -> Mapping[str, StaffMember]:
        return self.ruleset.staff

    def staff_by_email(self, address: str | None) -> StaffMember | None:
        if not address:
            return None
        address = address.lower()
        return next((s for s in self.staff.values() if s.email.lower() == address), None)

    def process_label(self, code: str | None) -> str:
        return self.ruleset.process_labels.get(code, "не определён") if code else "не определён"

    def need_label(self, code: str | None) -> str:
        return self.ruleset.need_labels.get(code, "не определена") if code else "не определена"

    def decide(
        self,
        *,
        letter: Letter,
        at: datetime,
        open_counts: Mapping[str, int],
        absences: Sequence[Absence] = (),
        external_deadline: date | datetime | None = None,
        preassigned: str | None = None,
        classified: Classification | None = None,
    ) -> Decision:
        """Classify, assign and set the deadline; every step says which rule decided.
        ``classified``: the letter's classification made earlier by this rule book's
        classifier (the route does it before it takes the number lock)."""
        c = classified or self.ruleset.classifier.classify(letter)
        rules: list[dict[str, Any]] = [{"stage": "classify", **c.to_dict()}]
        login: str | None
        reasons: tuple[str, ...]
        if preassigned and preassigned in self.staff:
            login, reasons = preassigned, (f"исполнитель указан в карточке: {preassigned}",)
            rules.append({"stage": "assign", "rule": "card-executor", "login": login})
        else:
            a = self.ruleset.router.assign(
                process=c.process, sender=letter.sender, department=letter.department,
                at=at, open_counts=open_counts, absences=absences,
            )
            login, reasons = a.login, a.reasons
            rules.append({"stage": "assign", "rule": a.rule, "login": a.login,
                          "reasons": list(a.reasons)})
        due = self.deadlines.due(
            process=c.process, need=c.need, received_at=at, external_deadline=external_deadline
        )
        rules.append({"stage": "deadline", "rule": due.rule, "explanation": due.explanation})
        return Decision(c.process, c.need, login, due.at, due.rule, rules, tuple(reasons))


def fingerprint(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(directory)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def load_rulebook(directory: Path) -> RuleBook:
    """Load and validate every rule file; raise RuleBookError listing all problems."""
    directory = Path(directory)
    problems: list[Problem] = []
    ruleset = calendar = deadlines = textcheck = None
    try:
        ruleset = load_ruleset(directory)
    except RuleSetError as e:
        problems.extend(e.problems)
    try:
        calendar = WorkCalendar.load(directory)
        deadlines = DeadlinePolicy.load(directory, calendar)
    except RuleFileError as e:
        problems.extend(Problem(p.file, p.line, p.message) for p in e.problems)
    try:
        textcheck = TextChecker.load(directory)
    except TextCheckRulesError as e:
        problems.append(Problem(shown_name(e.file), e.line, e.problem))
    if problems or ruleset is None or calendar is None or deadlines is None or textcheck is None:
        raise RuleBookError(problems)
    return RuleBook(directory, ruleset, calendar, deadlines, textcheck, fingerprint(directory))
