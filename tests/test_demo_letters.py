"""The demo's sample replies: a long Cyrillic subject survives folding and parsing, and the
accountants' three answers are different texts whose hours agree with the work schedule."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlmodel import Session

from buhdesk.cli.demo import ANSWERS, run_demo, sample_letter
from buhdesk.store.models import Message, Request
from buhdesk.route.mime import parse_message

SUBJECTS = [
    "Re: [БУХ-2026-000003] Новое обращение: Авансовый отчёт по командировке в Москву",
    "Re: [БУХ-2026-000012] Ваше обращение зарегистрировано: О возмещении расходов по служебной "
    "командировке в г. Москву (10–12.03.2025) и о выдаче справки 2-НДФЛ за 2025 год",
]


def _variants() -> list[str]:
    """Each subject with 0–40 leading letters, so that a fold falls at every word boundary."""
    return [("Ж" * n + " " if n else "") + s for s in SUBJECTS for n in range(0, 41)]


@pytest.mark.parametrize("subject", _variants())
def test_a_long_cyrillic_subject_survives_folding_and_parsing(subject: str) -> None:
    data = sample_letter(sender="nikolaev@minfin.example", to="buh@minfin.example",
                         subject=subject, message_id="<a@minfin.example>",
                         in_reply_to="n.1@minfin.example", body="Текст ответа.\n")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))  # folded, not one long line
    assert b"Subject:" in head and b"\r\n " in head[head.index(b"Subject:"):]
    assert parse_message(data).subject == subject


def test_three_answers_are_different_and_keep_the_friday_hours() -> None:
    texts = list(ANSWERS.values())
    assert len(texts) >= 3 and len(set(texts)) == len(texts)
    for text in texts:
        for hour, minute in re.findall(r"\b(\d{1,2}):(\d{2})\b", text):
            # the office closes at 18:00 Monday to Thursday and at 16:45 on Friday
            assert (int(hour), int(minute)) <= (18, 0)
        if "пятниц" in text:
            assert "16:45" in text and not re.search(r"пятниц[^.;]*18:00", text)


def test_the_demo_answers_arrive_with_their_subjects_and_three_different_texts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUHDESK_SECRET", "x")  # restored after the test: the demo sets its own
    monkeypatch.delenv("BUHDESK_SECRET")
    root = tmp_path / "demo"
    run_demo(root, out=io.StringIO())
    engine = create_engine(f"sqlite:///{root / 'buhdesk.db'}")
    with Session(engine) as s:
        rows = s.execute(select(Message, Request).join(Request, Message.request_id == Request.id)
                         .where(Message.kind == "answer", Message.direction == "in")).all()
        assert len(rows) == 3
        for m, r in rows:
            assert m.subject.endswith(r.subject), (m.subject, r.subject)  # no space lost
        assert len({m.body_text.split("#закрыть")[0] for m, _ in rows}) == 3
    engine.dispose()
