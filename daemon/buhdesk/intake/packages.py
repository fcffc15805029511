"""Stage 1 for EDMS packages: register each claimed package in one transaction, commit, and only
then finish it at the source (processed/) — or fail it (failed/) with the reason, after the
administrators' letter about it is committed. One bad package never stops the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from buhdesk.interfaces import Document, PackageProblem, PackageSource, SourceError
from buhdesk.reply import outbox
from buhdesk.reply.answer_packages import record_receipts
from buhdesk.route.documents import DocumentConflict, register_document
from buhdesk.rules.documents import DocumentSettings
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Event

log = logging.getLogger(__name__)


class StoreUnavailable(SourceError):
    """The store refused the write (locked, gone): the package stays claimed and is retried."""


def commit_document(rt: Runtime, doc: Document, settings: DocumentSettings) -> str:
    """Register ``doc`` and commit; return the request number.

    Two instances registering the same new UID at once: the loser's insert fails on the unique
    UID, and its second attempt finds the winner's request.
    """
    for attempt in (1, 2):
        try:
            with Session(rt.engine) as session:
                number = register_document(session, rt, doc, settings=settings).number
                session.commit()
                return number
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("intake: %s registered concurrently elsewhere, looking again", doc.key)
    raise AssertionError("unreachable")


def take_package(rt: Runtime, source: PackageSource, handle: Any,
                 item: Document | PackageProblem, settings: DocumentSettings, *,
                 after_commit: Callable[[], None] = lambda: None) -> str | None:
    """Register one package and finish it; return the request number, or None if it failed."""
    if isinstance(item, PackageProblem):
        fail_package(rt, source, handle, item)
        return None
    try:
        number = commit_document(rt, item, settings)
    except DocumentConflict as e:
        fail_package(rt, source, handle, PackageProblem(item.package, "conflict", e.message,
                                                        item.original_name), e.first_seen)
        return None
    except OperationalError as e:
        raise StoreUnavailable(f"store unavailable while registering {item.package}: {e}") from e
    except Exception as e:  # a bug or a value we cannot store: a human looks at the package
        log.exception("intake: package %s (%s) could not be registered", item.package, item.key)
        fail_package(rt, source, handle, PackageProblem(
            item.package, "internal", f"Пакет не удалось зарегистрировать из-за внутренней "
                                      f"ошибки ({type(e).__name__}: {e}). Сообщите "
                                      "администратору buhdesk.", None))
        return None
    after_commit()
    source.ack(handle, number)
    return number


def fail_package(rt: Runtime, source: PackageSource, handle: Any, problem: PackageProblem,
                 first_seen: datetime | None = None) -> None:
    """Commit the administrators' letter and the audit record, then move the package aside."""
    with Session(rt.engine) as session:
        session.add(Event(stage="intake", action="package-failed", detail=json.dumps({
            "source": source.name, "package": problem.package, "code": problem.code,
            "message": problem.message, "file": problem.file,
        }, ensure_ascii=False)))
        outbox.notify_admins(session, rt, "package-failed", package=problem.package,
                             message=problem.message, file=problem.file)
        session.commit()
    log.warning("intake: package %s from %s failed (%s): %s", problem.package, source.name,
                problem.code, problem.message)
    source.fail(handle, problem.code, problem.message, problem.file, first_seen)


def take_receipts(rt: Runtime, source: PackageSource) -> int:
    """Record the EDMS receipts for our answer packages on their requests."""
    receipts = source.receipts()
    if not receipts:
        return 0
    with Session(rt.engine) as session:
        record_receipts(session, source.name, receipts)
        session.commit()
    return len(receipts)
