"""The mail path through the core with in-memory fakes of Source and Transport:
intake → route → reply → deliver, threading, automated mail, quarantine and retries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.interfaces import PermanentDeliveryError, TransientDeliveryError
from buhdesk.store.models import Event, Message, Request
from buhdesk.intake.quarantine import held_items, requeue
from buhdesk.service.runner import Daemon
from harness.memory import MemorySource, MemoryTransport

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # conftest's PIPELINE_NOW


def letter(sender: str, subject: str, body: str, *, name: str = "", mid: str | None = None,
           **headers: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{mid or abs(hash((sender, subject, body)))}@client.example>"
    msg["Date"] = "Tue, 24 Nov 2026 12:00:00 +0300"
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def source(d: Daemon) -> MemorySource:
    return d.sources[0]  # type: ignore[return-value]


def transport(d: Daemon) -> MemoryTransport:
    return d.transport  # type: ignore[return-value]


def requests(d: Daemon) -> list[Request]:
    with Session(d.rt.engine) as s:
        return list(s.exec(select(Request).order_by(Request.id)).scalars())  # type: ignore[call-overload]


def incoming(d: Daemon) -> list[Message]:
    with Session(d.rt.engine) as s:
        return list(s.exec(select(Message).where(Message.direction == "in")  # type: ignore[call-overload]
                           .order_by(Message.id)).scalars())


PAYROLL = ("Справка 2-НДФЛ",
           "Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год для банка.\nКовалева М.П.")


def test_a_one_shot_run_routes_a_mailbox_of_more_batches_than_its_round_limit(
        daemon: Daemon) -> None:
    # ``run --once`` drains without a round limit: with one (1000 rounds of 100 letters) a
    # mailbox of more than 100,000 letters was taken in and none of it routed.
    daemon.batch = 1
    for n in range(4):
        source(daemon).put(letter(f"client{n}@culture.example", *PAYROLL, mid=f"many-{n}"))
    daemon.drain(max_rounds=3)
    assert requests(daemon) == []  # three rounds: three letters taken in, none routed yet
    daemon.drain(max_rounds=None)
    assert len(requests(daemon)) == 4
    assert len(source(daemon).acked) == 4


def test_new_letter_is_registered_acknowledged_and_noticed(daemon: Daemon) -> None:
    source(daemon).put(letter("kovaleva@culture.example", *PAYROLL, name="Ковалева Мария",
                              mid="first"))
    daemon.drain()
    [req] = requests(daemon)
    assert req.number.startswith("БУХ-2026-") and req.state == "assigned"
    assert req.assignee and req.due_at and req.due_at > NOW
    assert source(daemon).acked == ["1:1"]
    [ack] = transport(daemon).to("kovaleva@culture.example")
    assert req.number in ack["Subject"]
    assert ack["In-Reply-To"] == "<first@client.example>"
    assert ack["Auto-Submitted"] == "auto-replied"
    body = ack.get_content()
    staff = daemon.rt.rules.staff[req.assignee]
    assert req.number in body and staff.name in body and "Срок ответа" in body
    [notice] = [m for m in transport(daemon).to(staff.email) if "Новое обращение" in m["Subject"]]
    assert req.number in notice["Subject"] and "Прошу выдать справку" in notice.get_content()


def test_reply_to_the_acknowledgment_joins_the_request(daemon: Daemon) -> None:
    source(daemon).put(letter("kovaleva@culture.example", *PAYROLL, mid="first"))
    daemon.drain()
    [ack] = transport(daemon).to("kovaleva@culture.example")
    source(daemon).put(letter("kovaleva@culture.example", "Re: " + ack["Subject"],
                              "Нужна в двух экземплярах.", mid="second",
                              In_Reply_To=ack["Message-ID"], References=ack["Message-ID"]))
    daemon.drain()
    assert len(requests(daemon)) == 1
    assert [m.kind for m in incoming(daemon)] == ["request", "followup"]
    assert len(transport(daemon).to("kovaleva@culture.example")) == 1  # no second auto-reply


def test_subject_tag_joins_only_from_a_participant(daemon: Daemon) -> None:
    source(daemon).put(letter("kovaleva@culture.example", *PAYROLL))
    daemon.drain()
    number = requests(daemon)[0].number
    source(daemon).put(letter("kovaleva@culture.example", f"Re: [{number}] справка", "Дополнение"))
    source(daemon).put(letter("stranger@other.example", f"[{number}] чужое", "Хочу узнать статус"))
    daemon.drain()
    assert len(requests(daemon)) == 2
    kinds = {m.from_addr: m.kind for m in incoming(daemon)[1:]}
    assert kinds == {"kovaleva@culture.example": "followup", "stranger@other.example": "request"}


def test_forged_token_from_staff_is_not_an_answer(daemon: Daemon) -> None:
    staff = next(iter(daemon.rt.rules.staff.values()))
    source(daemon).put(letter(staff.email, "Re: ответ", "Готово.",
                              In_Reply_To="<bd.n.1.000000000000.00000000000000000000@minfin.example>"))
    daemon.drain()
    [msg] = incoming(daemon)
    assert msg.kind == "request"


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied", "Subject_": ""},
    {"Precedence": "bulk"},
    {"X_Buhdesk_Loop": "minfin.example"},
])
def test_automated_mail_gets_no_answer(daemon: Daemon, headers: dict[str, str]) -> None:
    headers = {k: v for k, v in headers.items() if not k.endswith("_")}
    source(daemon).put(letter("robot@culture.example", "Уведомление", "Текст", **headers))
    daemon.drain()
    [msg] = incoming(daemon)
    assert msg.status == "ignored" and msg.automated
    assert requests(daemon) == [] and transport(daemon).to("robot@culture.example") == []


def test_duplicate_delivery_registers_once(daemon: Daemon) -> None:
    data = letter("kovaleva@culture.example", *PAYROLL)
    source(daemon).put(data, key="7:1")
    source(daemon).fail_ack = True
    with pytest.raises(ConnectionError):
        daemon.drain()
    assert len(incoming(daemon)) == 1  # committed although the source was not acknowledged
    source(daemon).fail_ack = False
    source(daemon).put(data, key="8:1")  # same bytes again after a UIDVALIDITY change
    daemon.drain()
    assert len(incoming(daemon)) == 1 and len(requests(daemon)) == 1
    assert sorted(source(daemon).acked) == ["7:1", "8:1"]


def test_garbage_is_held_and_does_not_stop_the_others(daemon: Daemon) -> None:
    source(daemon).put(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    source(daemon).put(letter("kovaleva@culture.example", *PAYROLL))
    daemon.drain()
    held = held_items(daemon.rt.engine)
    assert len(held) == 1 and "не удалось разобрать письмо" in held[0].reason
    assert "заголов" in held[0].reason and "header" not in held[0].reason  # read by the head
    assert len(requests(daemon)) == 1
    requeue(daemon.rt.engine, held[0].id)
    daemon.drain()
    assert len(held_items(daemon.rt.engine)) == 1  # still garbage: held again, with the reason


def test_automatic_letters_per_address_are_capped(daemon: Daemon) -> None:
    for n in range(5):
        source(daemon).put(letter("busy@culture.example", f"Вопрос {n}", f"Вопрос по зарплате {n}"))
    daemon.drain()
    assert len(requests(daemon)) == 5
    assert len(transport(daemon).to("busy@culture.example")) == 3
    with Session(daemon.rt.engine) as s:
        capped = s.exec(select(Event).where(Event.action == "ack-capped")).scalars().all()  # type: ignore[call-overload]
    assert len(capped) == 2


def test_the_daily_cap_counts_acknowledgments_stored_by_earlier_batches(daemon: Daemon) -> None:
    cap = daemon.rt.config.service.auto_reply_daily_cap
    for n in range(cap):
        source(daemon).put(letter("busy@culture.example", f"Вопрос {n}", f"Вопрос по зарплате {n}"))
    daemon.drain()
    assert len(transport(daemon).to("busy@culture.example")) == cap
    # a later batch: the busy address's stored acknowledgments are read with the others'
    source(daemon).put(letter("busy@culture.example", "Ещё вопрос", "Вопрос по зарплате снова"))
    source(daemon).put(letter("calm@culture.example", "Вопрос", "Вопрос по зарплате"))
    source(daemon).put(letter("Busy@Culture.example", "И ещё", "Вопрос по отпускным"))
    daemon.drain()
    assert len(requests(daemon)) == cap + 3
    assert len(transport(daemon).to("busy@culture.example")) == cap
    assert len(transport(daemon).to("calm@culture.example")) == 1


def test_transient_failures_retry_with_backoff_and_permanent_ones_are_held(daemon: Daemon) -> None:
    t = transport(daemon)
    t.errors["kovaleva@culture.example"] = [TransientDeliveryError("451 try later")]
    t.errors["gone@culture.example"] = [PermanentDeliveryError("550 5.1.1 no such user")]
    source(daemon).put(letter("kovaleva@culture.example", *PAYROLL))
    source(daemon).put(letter("gone@culture.example", "Табель", "Когда сдавать табель?"))
    daemon.drain()
    assert t.to("kovaleva@culture.example") == []  # not yet: waiting for the back-off
    daemon.clock[0] = NOW + timedelta(minutes=1)  # type: ignore[attr-defined]
    daemon.drain()
    assert len(t.to("kovaleva@culture.example")) == 1
    [held] = [h for h in held_items(daemon.rt.engine) if h.direction == "out"]
    assert "550" in held.reason and held.recipients == "gone@culture.example"
    requeue(daemon.rt.engine, held.id)
    daemon.drain()
    assert len(t.to("gone@culture.example")) == 1


def test_transient_failures_are_held_after_max_attempts(daemon: Daemon) -> None:
    t = transport(daemon)
    t.errors["kovaleva@culture.example"] = [TransientDeliveryError("451")] * 3
    source(daemon).put(letter("kovaleva@culture.example", *PAYROLL))
    for minutes in (0, 1, 3, 10):
        daemon.clock[0] = NOW + timedelta(minutes=minutes)  # type: ignore[attr-defined]
        daemon.drain()
    [held] = [h for h in held_items(daemon.rt.engine) if h.direction == "out"]
    assert "451" in held.reason


def test_one_batch_mixing_new_letters_and_a_late_follow_up(
        daemon: Daemon, caplog: pytest.LogCaptureFixture) -> None:
    """New requests, and a follow-up to a long-closed request that opens a linked one, routed
    in one batch (in one go, not one by one after a failure): every letter registered once,
    numbers in order, each client acknowledged."""
    source(daemon).put(letter("old@culture.example", *PAYROLL))
    daemon.drain()
    [old] = requests(daemon)
    with Session(daemon.rt.engine) as s:
        closed = s.get(Request, old.id)
        closed.state, closed.closed_at = "closed", NOW - timedelta(days=60)  # type: ignore[union-attr]
        s.commit()
    source(daemon).put(letter("a@culture.example", *PAYROLL))
    source(daemon).put(letter("old@culture.example", f"Re: [{old.number}] Справка",
                              "Справку так и не получила, прошу выдать справку 2-НДФЛ."))
    source(daemon).put(letter("b@culture.example", "Табель",
                              "Подскажите, до какого числа сдавать табель учёта рабочего времени?"))
    daemon.drain()
    rows = sorted(requests(daemon), key=lambda r: r.number)
    assert [r.client_email for r in rows] == ["old@culture.example", "a@culture.example",
                                              "old@culture.example", "b@culture.example"]
    assert [r.number[-6:] for r in rows] == ["000001", "000002", "000003", "000004"]
    assert rows[2].parent_id == old.id
    assert held_items(daemon.rt.engine) == []
    assert all(m.request_id for m in incoming(daemon))
    assert len(transport(daemon).to("a@culture.example")) == 1
    assert len(transport(daemon).to("b@culture.example")) == 1
    assert len(transport(daemon).to("old@culture.example")) == 2
    assert "one message at a time" not in caplog.text


def test_a_failure_mid_routing_is_rolled_back_alone(daemon: Daemon,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import buhdesk.reply.outbox

    real = buhdesk.reply.outbox.acknowledge

    def failing(session, rt, acks, request, msg, parsed, decision):  # type: ignore[no-untyped-def]
        if "СБОЙ" in parsed.subject:
            raise RuntimeError("template server on fire")
        return real(session, rt, acks, request, msg, parsed, decision)

    monkeypatch.setattr(buhdesk.reply.outbox, "acknowledge", failing)
    # One batch: the letters queued before and after the failure are all kept.
    source(daemon).put(letter("c@culture.example", *PAYROLL))
    source(daemon).put(letter("a@culture.example", "СБОЙ", "Вопрос по зарплате"))
    source(daemon).put(letter("b@culture.example", *PAYROLL))
    daemon.drain()
    [held] = held_items(daemon.rt.engine)
    assert held.sender == "a@culture.example" and "template server on fire" in held.reason
    assert [r.client_email for r in requests(daemon)] == [  # no half request
        "c@culture.example", "b@culture.example"]
    assert len(transport(daemon).to("b@culture.example")) == 1
    assert len(transport(daemon).to("c@culture.example")) == 1
    assert transport(daemon).to("a@culture.example") == []
