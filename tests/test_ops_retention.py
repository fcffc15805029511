"""Retention purge: exactly the requests closed long ago lose their personal data; the rest stay."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from buhdesk.store.blobs import BlobStore
from buhdesk.store.models import Attachment, Event, Message, Raw, Request
from buhdesk.intake.quarantine import RequeueError, requeue
from buhdesk.schedule.retention import ACT_COLUMNS, counted, plan_purge, purge
from buhdesk.store.engine import open_store

NOW = datetime(2029, 6, 1, 12, 0, tzinfo=UTC)
KEEP = timedelta(days=1095)


@dataclass
class World:
    engine: Engine
    blobs: BlobStore
    ids: dict[str, int]
    shared: str
    own_old: str
    own_recent: str


def _request(session: Session, number: str, state: str, closed_at: datetime | None,
             blobs: BlobStore, payloads: list[bytes]) -> int:
    req = Request(number=number, state=state, closed_at=closed_at, client_email="ivanov@x.ru",
                  subject=f"Справка {number}", created_at=NOW - timedelta(days=2000))
    session.add(req)
    session.flush()
    for direction, body in (("in", f"Прошу справку, Иванов И. И., {number}"),
                            ("out", f"Ответ по {number}")):
        msg = Message(direction=direction, status="routed" if direction == "in" else "sent",
                      source="minfin", source_key=f"{number}:{direction}", request_id=req.id,
                      from_addr="ivanov@x.ru", subject=req.subject, body_text=body)
        session.add(msg)
        session.flush()
        session.add(Raw.of(msg.id, f"From: ivanov@x.ru\n\n{body}".encode()))
        if direction == "in":
            for data in payloads:
                session.add(Attachment(message_pk=msg.id, filename="скан.pdf", size=len(data),
                                       sha256=blobs.put(data)))
    assert req.id is not None
    return req.id


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    """Four requests on the test's store (SQLite and PostgreSQL); the engine is disposed after."""
    engine = open_store(store_url)
    blobs = BlobStore(tmp_path / "blobs")
    shared, own_old, own_recent = b"shared passport scan", b"old own", b"recent own"
    with Session(engine) as s:
        ids = {
            "old": _request(s, "БУХ-2026-000001", "closed", NOW - KEEP - timedelta(days=1),
                            blobs, [shared, own_old]),
            "recent": _request(s, "БУХ-2026-000002", "closed", NOW - KEEP + timedelta(days=1),
                               blobs, [shared, own_recent]),
            "open": _request(s, "БУХ-2026-000003", "assigned", None, blobs, []),
            # reopened after an old closure: not closed now, so kept
            "reopened": _request(s, "БУХ-2026-000004", "assigned", NOW - KEEP * 2, blobs, []),
        }
        s.commit()
    yield World(engine, blobs, ids, blobs.put(shared), blobs.put(own_old), blobs.put(own_recent))
    engine.dispose()


def _state(engine: Engine, rid: int) -> dict[str, object]:
    with Session(engine) as s:
        msgs = s.exec(select(Message).where(Message.request_id == rid)).all()
        mids = [m.id for m in msgs]
        return {
            "bodies": sorted(m.body_text or "" for m in msgs),
            "raws": len(s.exec(select(Raw).where(Raw.message_pk.in_(mids))).all()),
            "purged": sorted(a.purged for a in
                             s.exec(select(Attachment).where(Attachment.message_pk.in_(mids)))),
            "events": [e.action for e in s.exec(select(Event).where(Event.request_id == rid))],
            "request": s.get(Request, rid).model_dump(),  # type: ignore[union-attr]
            "senders": sorted(m.from_addr or "" for m in msgs),
        }


def test_dry_run_lists_only_old_closed_requests_and_changes_nothing(world: World) -> None:
    before = {k: _state(world.engine, v) for k, v in world.ids.items()}
    plan = plan_purge(world.engine, KEEP, NOW)
    assert [i.number for i in plan] == ["БУХ-2026-000001"]
    item = plan[0]
    assert (item.raws, item.bodies, item.attachments) == (2, 2, 2)
    assert "152-ФЗ" in item.rule and "1095" in item.rule
    assert {k: _state(world.engine, v) for k, v in world.ids.items()} == before
    assert all(world.blobs.path(h).exists() for h in (world.shared, world.own_old))


def test_purge_destroys_exactly_the_old_closed_request(world: World, tmp_path: Path) -> None:
    keep = {k: _state(world.engine, world.ids[k]) for k in ("recent", "open", "reopened")}
    old_before = _state(world.engine, world.ids["old"])
    act = purge(world.engine, world.blobs, KEEP, NOW, tmp_path / "acts")

    assert [i.number for i in act.items] == ["БУХ-2026-000001"]
    old = _state(world.engine, world.ids["old"])
    assert old["bodies"] == ["", ""] and old["raws"] == 0
    assert old["purged"] == [True, True]
    assert old["events"] == ["purged"]
    assert old["request"] == old_before["request"]  # the register keeps its metadata
    assert old["senders"] == old_before["senders"]
    for name, state in keep.items():
        assert _state(world.engine, world.ids[name]) == state, name

    assert not world.blobs.path(world.own_old).exists()
    assert world.blobs.path(world.shared).exists()  # the recent request still uses it
    assert world.blobs.path(world.own_recent).exists()
    assert act.files_deleted == 1

    again = purge(world.engine, world.blobs, KEEP, NOW, tmp_path / "acts2")
    assert again.items == [] and again.csv_path is None  # nothing twice, no empty act


def test_a_shared_file_goes_with_the_last_request_using_it(world: World, tmp_path: Path) -> None:
    assert purge(world.engine, world.blobs, KEEP, NOW, tmp_path / "acts").files_deleted == 1
    assert world.blobs.path(world.shared).exists()
    later = purge(world.engine, world.blobs, KEEP, NOW + timedelta(days=2), tmp_path / "acts2")
    assert [i.number for i in later.items] == ["БУХ-2026-000002"]
    assert later.files_deleted == 2  # the shared file and the recent request's own
    assert not world.blobs.path(world.shared).exists()
    assert not world.blobs.path(world.own_recent).exists()


def test_shared_file_goes_when_its_last_user_is_purged(world: World, tmp_path: Path) -> None:
    purge(world.engine, world.blobs, KEEP, NOW, tmp_path / "acts")
    later = NOW + timedelta(days=2)
    act = purge(world.engine, world.blobs, KEEP, later, tmp_path / "acts")
    assert [i.number for i in act.items] == ["БУХ-2026-000002"]
    assert not world.blobs.path(world.shared).exists()
    assert not world.blobs.path(world.own_recent).exists()


def test_act_files_are_written_in_russian(world: World, tmp_path: Path) -> None:
    act = purge(world.engine, world.blobs, KEEP, NOW, tmp_path / "acts")
    assert act.csv_path is not None and act.xlsx_path is not None
    with open(act.csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert tuple(rows[0]) == ACT_COLUMNS
    assert rows[0][0] == "Номер обращения"
    assert len(rows) == 2
    number, closed, what, when, rule = rows[1]
    assert number == "БУХ-2026-000001"
    assert closed == (NOW - KEEP - timedelta(days=1)).strftime("%d.%m.%Y")
    assert "вложения: 2" in what and "исходные письма: 2" in what
    assert when == NOW.strftime("%d.%m.%Y %H:%M")
    assert "152-ФЗ" in rule
    sheet = load_workbook(act.xlsx_path).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Акт об уничтожении персональных данных"
    header_at = next(i for i, row in enumerate(values) if tuple(row) == ACT_COLUMNS)
    assert values[header_at + 1][:2] == rows[1][:2]


def test_event_detail_records_the_rule(world: World, tmp_path: Path) -> None:
    purge(world.engine, world.blobs, KEEP, NOW, tmp_path / "acts")
    with Session(world.engine) as s:
        event = s.exec(select(Event).where(Event.action == "purged")).one()
    detail = json.loads(event.detail)
    assert detail["attachments"] == 2 and "152-ФЗ" in detail["rule"]


def _unlinked(session: Session, blobs: BlobStore, key: str, direction: str, status: str,
              at: datetime, attachment: bytes | None = None) -> int:
    msg = Message(direction=direction, status=status, source="minfin", source_key=key,
                  from_addr="robot@x.ru", subject=f"Письмо {key}",
                  body_text=f"Петров П. П., тел. 29-00-00 ({key})", created_at=at)
    session.add(msg)
    session.flush()
    session.add(Raw.of(msg.id, f"From: robot@x.ru\n\n{key}".encode()))
    if attachment is not None:
        session.add(Attachment(message_pk=msg.id, filename="отчёт.pdf", size=len(attachment),
                               sha256=blobs.put(attachment)))
    assert msg.id is not None
    return msg.id


def _letter_state(engine: Engine, pk: int) -> tuple[str | None, int, list[bool]]:
    with Session(engine) as s:
        msg = s.get(Message, pk)
        assert msg is not None
        raws = len(s.exec(select(Raw).where(Raw.message_pk == pk)).all())
        purged = [a.purged for a in s.exec(select(Attachment).where(Attachment.message_pk == pk))]
        return msg.body_text, raws, purged


def test_letters_without_a_request_are_purged_by_month_once_old(world: World,
                                                                 tmp_path: Path) -> None:
    cutoff = NOW - KEEP
    with Session(world.engine) as s:
        old = {
            "ignored": _unlinked(s, world.blobs, "auto-1", "in", "ignored",
                                 cutoff - timedelta(days=40), attachment=b"robot report"),
            "held": _unlinked(s, world.blobs, "broken-1", "in", "held", cutoff - timedelta(days=10)),
            "sent": _unlinked(s, world.blobs, "admin-1", "out", "sent", cutoff - timedelta(days=12)),
        }
        kept = {
            "recent": _unlinked(s, world.blobs, "auto-2", "in", "ignored",
                                cutoff + timedelta(days=5)),
            "pending": _unlinked(s, world.blobs, "admin-2", "out", "pending",
                                 cutoff - timedelta(days=40)),
            "received": _unlinked(s, world.blobs, "new-1", "in", "received",
                                  cutoff - timedelta(days=40)),
        }
        s.commit()
    kept_before = {k: _letter_state(world.engine, v) for k, v in kept.items()}

    plan = plan_purge(world.engine, KEEP, NOW)
    months = [i for i in plan if i.request_id is None]
    assert [i.number for i in months] == ["письма без обращения за 04.2026",
                                          "письма без обращения за 05.2026"]
    assert [(i.raws, i.bodies, i.attachments) for i in months] == [(1, 1, 1), (2, 2, 0)]
    assert "не стало обращением" in months[0].rule

    act = purge(world.engine, world.blobs, KEEP, NOW, tmp_path / "acts")

    assert counted(act.items) == "обращений: 1, месяцев писем без обращения: 2"
    for name, pk in old.items():
        assert _letter_state(world.engine, pk)[:2] == (None, 0), name
    assert _letter_state(world.engine, old["ignored"])[2] == [True]
    assert not world.blobs.path(hashlib.sha256(b"robot report").hexdigest()).exists()
    for name, pk in kept.items():
        assert _letter_state(world.engine, pk) == kept_before[name], name
    assert act.csv_path is not None
    with open(act.csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert [r[0] for r in rows[1:]] == ["БУХ-2026-000001", "письма без обращения за 04.2026",
                                        "письма без обращения за 05.2026"]
    with Session(world.engine) as s:
        details = [json.loads(e.detail) for e in s.exec(
            select(Event).where(Event.action == "purged", Event.request_id.is_(None)))]  # type: ignore[union-attr]
    assert sorted(d["letters"] for d in details) == [r[0] for r in rows[2:]]

    assert [i.number for i in plan_purge(world.engine, KEEP, NOW)] == []  # nothing twice
    with pytest.raises(RequeueError, match="уничтожено по сроку хранения"):
        requeue(world.engine, old["held"])  # nothing left to route
