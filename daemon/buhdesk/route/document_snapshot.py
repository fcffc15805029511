"""What an EDMS document said when it was stored: a snapshot kept in the audit trail, the digest
that tells a re-export from an amendment, and the list of changes between two snapshots.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.interfaces import Document, DocumentFile
from buhdesk.store.models import Event

SNAPSHOT_STAGE, SNAPSHOT_ACTION = "intake", "document"

# The snapshot fields a person cares about when a card is exported again, with Russian labels.
FIELD_LABELS = {
    "summary": "краткое содержание",
    "text": "текст",
    "deadline": "срок исполнения",
    "author": "автор",
    "correspondent": "корреспондент",
    "executors": "исполнители",
    "resolution_id": "резолюция",
    "files": "файлы",
}


def file_sha256(f: DocumentFile) -> str:
    if f.data is not None or f.path is None:
        return hashlib.sha256(f.read()).hexdigest()
    with open(f.path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_digests(doc: Document) -> list[str]:
    return [file_sha256(f) for f in doc.files]


def content_digest(doc: Document, digests: list[str]) -> str:
    """One hash of the card and every file: equal for an unchanged re-export."""
    h = hashlib.sha256(doc.original)
    for f, sha in zip(doc.files, digests, strict=True):
        h.update(f"\0{f.name}\0{sha}".encode())
    return h.hexdigest()


def source_key(doc: Document, digest: str) -> str:
    return f"{doc.key}:{digest[:32]}"


def snapshot_of(doc: Document, digests: list[str]) -> dict[str, Any]:
    return {
        "package": doc.package,
        "format": doc.format,
        "doc_uid": doc.key,
        "reg_number": doc.reg_number,
        "reg_date": doc.reg_date.isoformat() if doc.reg_date else None,
        "author": asdict(doc.author) if doc.author else None,
        "correspondent": doc.correspondent,
        "summary": doc.summary,
        "text": doc.text,
        "deadline": doc.deadline.isoformat() if doc.deadline else None,
        "executors": [p.name for p in doc.executors],
        "resolution_id": doc.resolution_id,
        "files": [{"name": f.name, "sha256": sha} for f, sha in zip(doc.files, digests,
                                                                    strict=True)],
    }


def latest_snapshot(session: Session, request_id: int) -> dict[str, Any] | None:
    """The snapshot of the newest card stored for the request, if it came from an EDMS."""
    detail = session.execute(
        select(col(Event.detail)).where(col(Event.request_id) == request_id,
                                   col(Event.stage) == SNAPSHOT_STAGE,
                                   col(Event.action) == SNAPSHOT_ACTION)
        .order_by(col(Event.id).desc()).limit(1)
    ).scalars().first()
    return json.loads(detail) if detail else None


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Changed fields as ``{field: {"было": …, "стало": …}}`` (long texts are not repeated)."""
    found: dict[str, dict[str, Any]] = {}
    for key in FIELD_LABELS:
        before, after = (old or {}).get(key), new.get(key)
        if before == after:
            continue
        if key == "text":
            found[key] = {"было": f"{len(before or '')} симв.",
                          "стало": f"{len(after or '')} симв."}
        else:
            found[key] = {"было": before, "стало": after}
    return found


def describe_changes(found: dict[str, dict[str, Any]]) -> str:
    """«срок исполнения: 2025-03-19 → 2025-03-17; файлы изменены» for a notice."""
    parts = []
    for key, change in found.items():
        label = FIELD_LABELS[key]
        if key in ("files", "executors", "author", "text"):
            parts.append(f"{label} изменены" if key in ("files", "executors") else
                         f"{label} изменён")
        else:
            parts.append(f"{label}: {change['было'] or '—'} → {change['стало'] or '—'}")
    return "; ".join(parts) or "изменений в полях карточки нет (изменено оформление)"
