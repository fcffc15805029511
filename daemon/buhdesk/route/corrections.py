"""Corrections of a request's process or need by a person, kept in the audit trail.

Each correction records what was decided, what it became, who changed it and which
classification hits decided originally, so that the routing report can show administrators
which terms misled the rules.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.rules.book import RuleBook
from buhdesk.store.models import Event, Request, flushed_id, utcnow


class CorrectionError(Exception):
    """A correction cannot be applied; the message is Russian."""


@dataclass(frozen=True)
class Correction:
    number: str
    old_process: str | None
    new_process: str | None
    old_need: str | None
    new_need: str | None
    actor: str
    note: str
    hits: tuple[dict[str, Any], ...]

    @property
    def process_changed(self) -> bool:
        return self.old_process != self.new_process

    @property
    def need_changed(self) -> bool:
        return self.old_need != self.new_need

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hits"] = list(self.hits)
        return data


def find_request(session: Session, number: str) -> Request:
    request: Request | None = session.execute(
        select(Request).where(col(Request.number) == number)
    ).scalars().first()
    if request is None:
        raise CorrectionError(f"обращение {number} не найдено")
    return request


def original_hits(session: Session, request_id: int) -> list[dict[str, Any]]:
    """The classification hits of the route stage's "decided" event (empty if none recorded)."""
    events = session.execute(
        select(Event).where(col(Event.request_id) == request_id, col(Event.stage) == "route",
                            col(Event.action) == "decided").order_by(col(Event.id))
    ).scalars().all()
    for ev in events:
        for rule in json.loads(ev.detail or "{}").get("rules", []):
            if isinstance(rule, dict) and rule.get("stage") == "classify":
                return [h for h in rule.get("hits", []) if isinstance(h, dict)]
    return []


def annotate_hits(rules: RuleBook, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each hit's rule kind (process/need) and code, as the rules say now."""
    by_name = {r.name: r for r in rules.ruleset.classifier.rules}
    out = []
    for hit in hits:
        rule = by_name.get(str(hit.get("rule")))
        out.append({**hit, "kind": hit.get("kind") or (rule.kind if rule else None),
                    "code": hit.get("code") or (rule.code if rule else None)})
    return out


def _check_code(value: str | None, labels: dict[str, str], what: str) -> None:
    if value is not None and value not in labels:
        known = ", ".join(f"{code} ({label})" for code, label in labels.items())
        raise CorrectionError(f"неизвестный код {what} «{value}»; допустимые: {known}")


def correct_request(session: Session, rules: RuleBook, number: str, *,
                    process: str | None = None, need: str | None = None,
                    actor: str = "admin", note: str = "") -> Correction:
    """Change the process and/or need of request ``number``; record a "corrected" event.

    The caller commits. Raises CorrectionError (Russian) for unknown codes or requests, when
    nothing is given, or when nothing would change.
    """
    if process is None and need is None:
        raise CorrectionError("укажите новый процесс (--process) или потребность (--need)")
    _check_code(process, dict(rules.ruleset.process_labels), "процесса")
    _check_code(need, dict(rules.ruleset.need_labels), "потребности")
    request = find_request(session, number)
    new_process = process if process is not None else request.process
    new_need = need if need is not None else request.need
    if (new_process, new_need) == (request.process, request.need):
        labels = f"«{rules.process_label(new_process)}» и «{rules.need_label(new_need)}»"
        raise CorrectionError(f"у обращения {number} уже процесс и потребность {labels}: "
                              "исправлять нечего")
    correction = Correction(
        number=number, old_process=request.process, new_process=new_process,
        old_need=request.need, new_need=new_need, actor=actor, note=note,
        hits=tuple(annotate_hits(rules, original_hits(session, flushed_id(request)))),
    )
    request.process, request.need, request.updated_at = new_process, new_need, utcnow()
    detail = {"old_process": correction.old_process, "new_process": new_process,
              "old_need": correction.old_need, "new_need": new_need, "who": actor,
              "note": note, "hits": list(correction.hits)}
    session.add(Event(request_id=request.id, stage="route", action="corrected", actor=actor,
                      detail=json.dumps(detail, ensure_ascii=False)))
    return correction
