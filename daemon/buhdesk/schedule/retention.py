"""Retention under 152-ФЗ: destroy the personal data of requests closed long ago, keep the register.

For each request closed more than ``older_than`` ago the raw messages are deleted, the message texts
are cleared and the attachments are marked purged (their files deleted once no live attachment
shares them). Letters that never became part of a request (automatic mail that was ignored,
letters held and never requeued, service letters to the administrators) get the same once they
are older than ``older_than``, a month of them at a time. Numbers, dates, states, addresses and
the audit trail stay, so reports still add up. The copies kept outside the store go too, each
counted in the act: the letters in the mailboxes' processed folders and the «ДелоПро» packages in
processed/ (copies.py). Each purged request or month gets an audit event,
and the whole run a destruction act (CSV and XLSX) in Russian. Survey answers are never touched:
they are not linked to requests.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import ColumnElement, FromClause, ScalarSelect, and_, delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.schedule.copies import CopiesUnavailable, CopyKeeper, ItemCopies
from buhdesk.store.blobs import BlobStore
from buhdesk.store.engine import table_of
from buhdesk.store.models import Attachment, Event, Message, Raw, RawCut, Request
from buhdesk.store.moments import as_utc

log = logging.getLogger(__name__)
DEFAULT_DAYS = 1095
ACT_COLUMNS = ("Номер обращения", "Дата закрытия", "Что уничтожено", "Когда уничтожено",
               "По какому правилу")
# Letters without a request that are done with: their data may go once they are old enough.
UNLINKED_DONE = ("ignored", "held", "sent", "cancelled")


class PurgeError(Exception):
    """The purge could not be carried out (e.g. the act could not be written)."""


@dataclass(frozen=True)
class PurgeItem:
    """One request, or one month of letters without a request (``request_id`` None), whose
    personal data is (or would be) destroyed, with what is destroyed. ``closed_at`` is the
    request's closure, or the month's last letter."""

    request_id: int | None
    number: str
    closed_at: datetime
    raws: int
    bodies: int
    attachments: int
    rule: str
    # copies destroyed outside the store: (where, in the act's words; how many)
    copies: tuple[tuple[str, int], ...] = ()
    files: int = 0  # attachment files deleted with this item (a shared file goes with its last)
    # the SQL condition that picks the item's messages
    messages: ColumnElement[bool] | None = field(default=None, compare=False, repr=False)

    def what(self) -> str:
        """What is destroyed, in words for the act."""
        copies = "".join(f"; {label}: {n}" for label, n in self.copies)
        return (f"исходные письма: {self.raws}; тексты сообщений: {self.bodies}; "
                f"вложения: {self.attachments}; файлы вложений: {self.files}{copies}")

    def to_dict(self) -> dict[str, object]:
        return {"request_id": self.request_id, "number": self.number,
                "closed_at": self.closed_at.isoformat(), "raws": self.raws,
                "bodies": self.bodies, "attachments": self.attachments, "rule": self.rule,
                "files": self.files, "copies": {label: n for label, n in self.copies}}


@dataclass
class PurgeAct:
    """The result of a purge: what was destroyed, when, and where the act files are."""

    at: datetime
    items: list[PurgeItem] = field(default_factory=list)
    files_deleted: int = 0
    csv_path: Path | None = None
    xlsx_path: Path | None = None


def counted(items: list[PurgeItem]) -> str:
    """«обращений: N» and, when there are any, «месяцев писем без обращения: M»."""
    requests = sum(1 for i in items if i.request_id is not None)
    months = len(items) - requests
    return f"обращений: {requests}" + (f", месяцев писем без обращения: {months}" if months else "")


def copies_summary(items: Sequence[PurgeItem]) -> str:
    """«; <where>: N» per place that kept copies, summed over ``items``."""
    totals: dict[str, int] = {}
    for item in items:
        for label, n in item.copies:
            totals[label] = totals.get(label, 0) + n
    return "".join(f"; {label}: {n}" for label, n in totals.items())


def rule_text(older_than: timedelta) -> str:
    return (f"152-ФЗ, ч. 7 ст. 5: цель обработки достигнута, обращение закрыто более "
            f"{older_than.days} дн. назад")


def unlinked_rule_text(older_than: timedelta) -> str:
    return (f"152-ФЗ, ч. 7 ст. 5: письмо не стало обращением (автоматическое, задержанное или "
            f"служебное) и получено более {older_than.days} дн. назад")


def plan_purge(engine: Engine, older_than: timedelta, now: datetime) -> list[PurgeItem]:
    """What a purge at ``now`` would destroy; changes nothing (the dry run)."""
    cutoff = now - older_than
    rule = rule_text(older_than)
    with Session(engine) as session:
        # one statement: each request counts its own letters through the indexes on
        # messages.request_id (a query per request took minutes on a store of years)
        requests = session.execute(
            select(col(Request.id), col(Request.number), col(Request.closed_at),
                   *_REQUEST_COUNTS).where(
                col(Request.state).in_(("closed", "merged")),
                col(Request.closed_at).is_not(None), col(Request.closed_at) < cutoff)
            .order_by(col(Request.closed_at), col(Request.id))
        ).all()
        items = [PurgeItem(request_id=rid, number=number, closed_at=as_utc(closed), raws=raws,
                           bodies=bodies, attachments=files, rule=rule,
                           messages=col(Message.request_id) == rid)
                 for rid, number, closed, raws, bodies, files in requests]
        items += _unlinked_items(session, cutoff, unlinked_rule_text(older_than))
    return [i for i in items if i.raws or i.bodies or i.attachments]


def _counts(where: ColumnElement[bool]) -> tuple[ScalarSelect[int], ...]:
    """The raws, message bodies and attachment files of the messages ``where`` picks, as three
    counts for one statement (``where`` may name the outer query's request: they correlate)."""
    messages = table_of(Message)

    def count(rows: FromClause, *more: ColumnElement[bool]) -> ScalarSelect[int]:
        return select(func.count()).select_from(rows).where(where, *more).scalar_subquery()

    return (count(table_of(Raw).join(messages, col(Message.id) == col(Raw.message_pk))),
            count(messages, col(Message.body_text).is_not(None)),
            count(table_of(Attachment).join(messages,
                                            col(Message.id) == col(Attachment.message_pk)),
                  col(Attachment.purged).is_(False)))


# a request's own, as plan_purge counts them per request
_REQUEST_COUNTS = _counts(col(Message.request_id) == col(Request.id))


def _unlinked_items(session: Session, cutoff: datetime, rule: str) -> list[PurgeItem]:
    """One item per month (UTC) of letters without a request, received before ``cutoff``."""
    done = and_(col(Message.request_id).is_(None),
                col(Message.status).in_(UNLINKED_DONE),
                col(Message.created_at) < cutoff)
    last: dict[tuple[int, int], datetime] = {}
    for (stored,) in session.execute(select(col(Message.created_at)).where(done)):
        at = as_utc(stored)
        month = (at.year, at.month)
        last[month] = max(last.get(month, at), at)
    items = []
    for year, mon in sorted(last):
        start = datetime(year, mon, 1, tzinfo=UTC)
        end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)
        where = and_(done, col(Message.created_at) >= start, col(Message.created_at) < end)
        items.append(_item(session, where, request_id=None,
                           number=f"письма без обращения за {mon:02d}.{year}",
                           closed=last[(year, mon)], rule=rule))
    return items


def _item(session: Session, where: ColumnElement[bool], *, request_id: int | None, number: str,
          closed: datetime, rule: str) -> PurgeItem:
    raws, bodies, files = session.execute(select(*_counts(where))).one()
    return PurgeItem(request_id=request_id, number=number, closed_at=closed, raws=raws,
                     bodies=bodies, attachments=files, rule=rule, messages=where)


def purge(engine: Engine, blobs: BlobStore, older_than: timedelta, now: datetime,
          act_dir: Path, *, tz: tzinfo = UTC, actor: str = "retention",
          copies: Sequence[CopyKeeper] = ()) -> PurgeAct:
    """Destroy what ``plan_purge`` lists, one item per transaction, and write the act.

    Each item's copies outside the store (``copies``: mailboxes' processed folders, «ДелоПро»
    packages) go first, then its data in the store: a place that cannot be reached stops the
    purge with that item untouched, so the next run finds it again. The act lists what was done
    before the stop, and PurgeError names the place."""
    act = PurgeAct(at=now)
    failure: CopiesUnavailable | None = None
    with ExitStack() as stack:
        keepers = [stack.enter_context(k) for k in copies]
        for planned in plan_purge(engine, older_than, now):
            try:
                found = _item_copies(engine, planned)
                destroyed = tuple((k.label, k.destroy(found)) for k in keepers)
            except CopiesUnavailable as e:
                failure = e
                break
            hashes = _purge_item(engine, planned, now, actor)
            files = _delete_unreferenced(engine, blobs, hashes)
            item = replace(planned, copies=destroyed, files=files)
            act.files_deleted += files
            act.items.append(item)
            log.info("retention: %s purged (%s) by rule %r", item.number, item.what(), item.rule)
    _compact(engine)
    if act.items:
        act.csv_path, act.xlsx_path = write_act(act, Path(act_dir), tz)
    if failure is not None:
        done = (f"; акт о том, что уже уничтожено: {act.csv_path}" if act.csv_path else "")
        raise PurgeError(f"{failure}. Уничтожение остановлено, остальное не тронуто; устраните "
                         f"причину и повторите «buhdesk purge»{done}")
    return act


def _item_copies(engine: Engine, item: PurgeItem) -> ItemCopies:
    """The request number and the incoming letters' Message-IDs of ``item``, per source."""
    if item.messages is None:
        raise ValueError(f"purge item {item.number!r} has no condition for its messages")
    ids: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    with Session(engine) as session:
        rows = session.execute(select(col(Message.source), col(Message.message_id),
                                      col(Message.source_key)).where(
            item.messages, col(Message.direction) == "in", col(Message.source).is_not(None)))
        for source, message_id, key in rows:
            if message_id:
                ids.setdefault(source, []).append(message_id)
            if key:
                keys.setdefault(source, []).append(key)
    return ItemCopies(item.number if item.request_id is not None else None, ids, keys)


def _purge_item(engine: Engine, item: PurgeItem, now: datetime, actor: str) -> set[str]:
    if item.messages is None:
        raise ValueError(f"purge item {item.number!r} has no condition for its messages")
    ids = select(col(Message.id)).where(item.messages)
    with Session(engine) as session:
        if engine.dialect.name == "sqlite":  # overwrite freed pages: destroyed means gone
            session.connection().exec_driver_sql("PRAGMA secure_delete=ON")
        hashes = set(session.execute(
            select(col(Attachment.sha256)).where(col(Attachment.message_pk).in_(ids),
                                                 col(Attachment.purged).is_(False))
        ).scalars())
        session.execute(delete(RawCut).where(col(RawCut.message_pk).in_(ids)))
        session.execute(delete(Raw).where(col(Raw.message_pk).in_(ids)))
        session.execute(update(Message).where(item.messages).values(body_text=None))
        session.execute(update(Attachment).where(col(Attachment.message_pk).in_(ids))
                        .values(purged=True))
        session.add(Event(at=now, request_id=item.request_id, stage="schedule", action="purged",
                          actor=actor, detail=json.dumps(
                              {"rule": item.rule, "raws": item.raws, "bodies": item.bodies,
                               "attachments": item.attachments,
                               **({} if item.request_id else {"letters": item.number})},
                              ensure_ascii=False)))
        session.commit()
    return hashes


def _delete_unreferenced(engine: Engine, blobs: BlobStore, hashes: set[str]) -> int:
    """Delete the files no live attachment and no stored letter kept without its attachments
    (``raw_cuts``) refers to; a shared file stays while it is used."""
    if not hashes:
        return 0
    with blobs.deletion(), Session(engine) as session:  # no letter stages a file meanwhile
        live = set(session.execute(
            select(col(Attachment.sha256)).where(col(Attachment.sha256).in_(hashes),
                                                 col(Attachment.purged).is_(False))
        ).scalars())
        live.update(session.execute(
            select(col(RawCut.sha256)).where(col(RawCut.sha256).in_(hashes))).scalars())
        return sum(blobs.delete(sha) for sha in sorted(hashes - live))


def _compact(engine: Engine) -> None:
    """Move the WAL into the database file so the destroyed pages leave the journal too."""
    if engine.dialect.name != "sqlite":
        return
    conn = engine.raw_connection()  # outside any transaction: a checkpoint needs that
    try:
        busy, _log, _done = conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("retention: WAL checkpoint incomplete (readers active); it completes later")
    finally:
        conn.close()


def _act_rows(act: PurgeAct, tz: tzinfo) -> list[tuple[str, str, str, str, str]]:
    when = act.at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    return [(i.number, i.closed_at.astimezone(tz).strftime("%d.%m.%Y"), i.what(), when, i.rule)
            for i in act.items]


def write_act(act: PurgeAct, act_dir: Path, tz: tzinfo) -> tuple[Path, Path]:
    """The destruction act as CSV (semicolons, UTF-8 with BOM for Excel) and as XLSX."""
    stem = f"akt-unichtozheniya-{act.at.astimezone(tz):%Y%m%d-%H%M%S}"
    rows = _act_rows(act, tz)
    try:
        act_dir.mkdir(parents=True, exist_ok=True)
        csv_path = act_dir / f"{stem}.csv"
        with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, delimiter=";")
            writer.writerow(ACT_COLUMNS)
            writer.writerows(rows)
        xlsx_path = act_dir / f"{stem}.xlsx"
        _write_xlsx(xlsx_path, act, rows, tz)
    except OSError as e:
        raise PurgeError(f"не удалось записать акт в {act_dir}: {e}") from e
    return csv_path, xlsx_path


def _write_xlsx(path: Path, act: PurgeAct, rows: Sequence[tuple[str, ...]], tz: tzinfo) -> None:
    wb = Workbook()
    wb.remove(wb.worksheets[0])  # the default sheet; the act gets its own, named one
    ws: Worksheet = wb.create_sheet("Акт")
    ws.append(["Акт об уничтожении персональных данных"])
    ws["A1"].font = Font(bold=True, size=13)
    summary = (f"Составлен {act.at.astimezone(tz):%d.%m.%Y %H:%M}; {counted(act.items)}; "
               f"удалено файлов вложений: {act.files_deleted}{copies_summary(act.items)}")
    ws.append([summary])
    ws.append([])
    ws.append(list(ACT_COLUMNS))
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(list(row))
    for letter, width in zip("ABCDE", (20, 14, 60, 18, 60), strict=True):
        ws.column_dimensions[letter].width = width
    for row_cells in ws.iter_rows(min_row=5):
        for cell in row_cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(path)
