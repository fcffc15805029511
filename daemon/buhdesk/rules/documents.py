"""How an EDMS document is decided: ``rules/delopro.toml`` (does the card's responsible executor
win over our own routing?), matching a card's executor to a staff member, and the decision itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from buhdesk.interfaces import Document, DocumentPerson
from buhdesk.rules.book import Decision, RuleBook
from buhdesk.rules.classify import Letter
from buhdesk.rules.locatedtoml import RuleFileError, read_located_toml
from buhdesk.rules.routing import Absence
from buhdesk.rules.ruleset import StaffMember

SETTINGS_FILE = "delopro.toml"
_KNOWN = ("executor_wins",)


class DocumentSettingsError(Exception):
    """``rules/delopro.toml`` cannot be used; the Russian message names the file and the key."""


@dataclass(frozen=True)
class DocumentSettings:
    executor_wins: bool = True


def load_document_settings(rules_dir: Path) -> DocumentSettings:
    """Read ``delopro.toml`` from the rules folder; defaults when the file is absent."""
    path = Path(rules_dir) / SETTINGS_FILE
    if not path.exists():
        return DocumentSettings()
    try:
        rf = read_located_toml(path)
    except RuleFileError as e:
        raise DocumentSettingsError(str(e)) from e
    unknown = sorted(set(rf.data) - set(_KNOWN))
    if unknown:
        raise DocumentSettingsError(str(rf.error(unknown[0], "неизвестный ключ; допустимые "
                                                             f"ключи: {', '.join(_KNOWN)}")))
    wins = rf.data.get("executor_wins", True)
    if not isinstance(wins, bool):
        raise DocumentSettingsError(str(rf.error("executor_wins",
                                                 "должно быть true или false")))
    return DocumentSettings(executor_wins=wins)


def _norm(text: str) -> str:
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").casefold().split())


def _short(full_name: str) -> str | None:
    """«Смирнов Денис Игоревич» → «смирнов д.и.»; None when the name is not three words."""
    parts = _norm(full_name).split()
    if len(parts) != 3:
        return None
    return f"{parts[0]} {parts[1][0]}.{parts[2][0]}."


def _as_short(name: str) -> str:
    """«Смирнов Д. И.», «Смирнов Д.И.» → «смирнов д.и.»."""
    norm = _norm(name)
    m = re.fullmatch(r"(\S+)\s+(\w)\.?\s*(\w)\.?", norm)
    return f"{m[1]} {m[2]}.{m[3]}." if m else norm


def staff_for(rules: RuleBook, person: DocumentPerson) -> StaffMember | None:
    """The staff member a card names: by e-mail, by full name, or by surname and initials."""
    by_mail = rules.staff_by_email(person.email)
    if by_mail is not None:
        return by_mail
    wanted = _norm(person.name)
    full = [s for s in rules.staff.values() if _norm(s.name) == wanted]
    if len(full) == 1:
        return full[0]
    short = _as_short(person.name)
    matches = [s for s in rules.staff.values() if _short(s.name) == short]
    return matches[0] if len(matches) == 1 else None


def preassigned_login(rules: RuleBook, doc: Document, settings: DocumentSettings) -> str | None:
    """The responsible executor's login when the settings let resolutions win and we know them."""
    if not settings.executor_wins or not doc.executors:
        return None
    member = staff_for(rules, doc.executors[0])
    return member.login if member else None


def letter_of_document(doc: Document) -> Letter:
    author = doc.author
    return Letter(subject=doc.summary, body=doc.text,
                  sender=(author.email or "").lower() if author else "",
                  sender_name=author.name if author else "",
                  department=author.department or None if author else None)


def decide_document(rules: RuleBook, doc: Document, *, at: datetime, settings: DocumentSettings,
                    open_counts: Mapping[str, int], absences: Sequence[Absence] = ()) -> Decision:
    """Classify, assign and set the deadline; the card's deadline wins when earlier."""
    return rules.decide(letter=letter_of_document(doc), at=at, open_counts=open_counts,
                        absences=absences, external_deadline=doc.deadline,
                        preassigned=preassigned_login(rules, doc, settings))
