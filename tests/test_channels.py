"""Requests taken by phone or in the office get a number, a deadline and letters like mail does."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.route.channels import RegistrationError, register_offline
from buhdesk.store.models import Event, Message
from buhdesk.service.runner import Daemon


def test_phone_request_is_numbered_acknowledged_and_assigned(daemon: Daemon) -> None:
    rt = daemon.rt
    with Session(rt.engine) as s:
        r = register_offline(s, rt, "phone", "Petrova@Minfin.Example", "Петрова Анна Ивановна",
                             "Справка 2-НДФЛ", "Просит справку 2-НДФЛ за 2025 год", "ivanova")
        s.commit()
        assert r.number.startswith("БУХ-2026-") and r.channel == "phone"
        assert r.due_at is not None and r.assignee and r.state == "assigned"
        assert r.client_email == "petrova@minfin.example"
        kinds = sorted(m.kind for m in s.execute(
            select(Message).where(Message.request_id == r.id)).scalars())
        assert kinds == ["ack", "notice", "request"]
        ev = s.execute(select(Event).where(Event.request_id == r.id,
                                           Event.action == "registered")).scalars().one()
        assert ev.actor == "ivanova"
    daemon.drain()
    [ack] = daemon.transport.to("petrova@minfin.example")  # type: ignore[attr-defined]
    assert r.number in ack["Subject"]


def test_office_request_without_address_gets_no_ack(daemon: Daemon) -> None:
    rt = daemon.rt
    with Session(rt.engine) as s:
        r = register_offline(s, rt, "office", None, "Орлов П. С.", "Командировка",
                             "Возмещение расходов по командировке", "ivanova")
        s.commit()
        kinds = [m.kind for m in s.execute(
            select(Message).where(Message.request_id == r.id)).scalars()]
    assert "ack" not in kinds and "request" in kinds


@pytest.mark.parametrize(("channel", "email", "login", "subject", "message"), [
    ("fax", None, "ivanova", "Тема", "phone"),
    ("phone", None, "nobody", "Тема", "не найден"),
    ("phone", "not-an-address", "ivanova", "Тема", "не похоже"),
    ("phone", None, "ivanova", " ", "тему"),
])
def test_bad_registrations_are_refused_in_russian(daemon: Daemon, channel: str, email: str | None,
                                                  login: str, subject: str, message: str) -> None:
    with Session(daemon.rt.engine) as s, pytest.raises(RegistrationError, match=message):
        register_offline(s, daemon.rt, channel, email, "", subject, "", login)


def test_cli_register_and_close(daemon: Daemon, capsys) -> None:  # type: ignore[no-untyped-def]
    import argparse

    from buhdesk.cli import survey as cli_survey

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cli_survey.register(sub, lambda args: daemon.rt.config)
    args = parser.parse_args(["register", "--channel", "phone", "--from", "orlova@minfin.example",
                              "--subject", "Справка о доходах", "--as", "ivanova"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    number = out.split()[2].rstrip(".")
    assert number.startswith("БУХ-")
    args = parser.parse_args(["close", number, "--as", "ivanova"])
    assert args.func(args) == 0 and "закрыто" in capsys.readouterr().out
