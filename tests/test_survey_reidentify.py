"""The survey re-identification attack, run against the store the daemon and the survey page
fill: real letters become requests, are closed, invited in the daily batch and answered through
the form. Then an attacker holding the whole store tries every join of every column of every table
that holds answers with every column of every other table (equality, and times within the answer
period), and the answers' row order and key order against the order of the invitations. Every
answer must still map to at least ``min_group`` candidate requests, and no order may point to
the right request for more than half of the answers of a table holding at least twice
``min_group`` (chance places about one per shuffled batch; the shuffle is seeded so the figure is
the same on every run). Answers still
waiting for their group are covered by the join attack: their group label is sealed.
"""

from __future__ import annotations

import json
import random
import re
import warnings
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
from sqlalchemy import inspect, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from buhdesk.feedback import tokens as survey_tokens
from buhdesk.reply.closure import close_by_number
from buhdesk.feedback.invitations import batch_moment, send_invitations
from buhdesk.store.models import Request
from buhdesk.service.runner import Daemon
from buhdesk.store.engine import is_postgres
from buhdesk.feedback.settings import survey_settings
from buhdesk.web.app import create_app
from buhdesk.web.guards import RateLimiter

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient

LINK = re.compile(r"/survey/([A-Za-z0-9_\-]{32})")
PEOPLE = ["orlova", "petrova", "sidorov", "kuznetsova", "smirnov", "volkova", "lebedev",
          "morozova", "novikov", "fedorova", "pavlov", "sokolova", "egorov", "zaitseva"]
PERIOD = timedelta(days=184)  # the longest answer period the attacker must assume (half-year)


def letter(sender: str, subject: str, body: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = sender, "buh@minfin.example", subject
    msg.set_content(body)
    return msg.as_bytes()


def invited_and_answered(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Fourteen people write, their requests are closed, they are invited and answer; the last
    request is in a process of its own. Returns, for each answer's payload, the request whose
    invitation it came from."""
    rt = daemon.rt
    for i, name in enumerate(PEOPLE):
        daemon.sources[0].put(letter(f"{name}@minfin.example", f"Справка 2-НДФЛ № {i}",  # type: ignore[attr-defined]
                                     "Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год."))
    daemon.drain()
    with Session(rt.engine, expire_on_commit=False) as s:
        requests = list(s.execute(select(Request).order_by(Request.id)).scalars())
        assert len(requests) == len(PEOPLE)
        s.execute(update(Request).where(Request.id == requests[-1].id)  # type: ignore[arg-type]
                  .values(process="travel"))  # reclassified: a group of one
        s.commit()
    for r in requests:
        close_by_number(rt, r.number, actor="ivanova")
    day = daemon.clock[0].astimezone(rt.config.service.tz).date() + timedelta(days=1)  # type: ignore[attr-defined]
    daemon.clock[0] = batch_moment(rt, day, survey_settings(rt.config)) + timedelta(minutes=1)  # type: ignore[attr-defined]
    assert send_invitations(rt) == len(PEOPLE)
    daemon.drain()
    # a fixed shuffle makes the order attack's figure the same on every run
    monkeypatch.setattr(survey_tokens, "_RANDOM", random.Random(20261204), raising=False)
    client = TestClient(create_app(rt, limiter=RateLimiter(capacity=100)))
    truth = {}
    for i, r in enumerate(requests):  # answered in the order of the requests
        [mail] = [m for m in daemon.transport.to(r.client_email)  # type: ignore[attr-defined]
                  if "/survey/" in m.get_content()]
        token = LINK.search(mail.get_content())[1]  # type: ignore[index]
        form = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"',
                               client.get(f"/survey/{token}").text))
        scores = {"q_overall": str(1 + i % 5), "q_clarity": str(1 + i // 5)}
        done = client.post("/survey", data={**form, "q_deadline": "yes", "q_politeness": "5",
                                             "q_ease": "4", **scores}, follow_redirects=False)
        assert done.status_code == 303
        truth[payload_key({"overall": 1 + i % 5, "clarity": 1 + i // 5})] = r.id  # type: ignore[assignment]
    return truth


def payload_key(answers: dict[str, Any]) -> str:
    return f"{answers.get('overall')}/{answers.get('clarity')}"


def tables(engine: Engine) -> dict[str, list[str]]:
    insp = inspect(engine)
    return {t: [c["name"] for c in insp.get_columns(t)] for t in insp.get_table_names()
            if t != "alembic_version"}


def answer_tables(schema: dict[str, list[str]]) -> list[str]:
    """Every table that holds answers, waiting or released."""
    return [t for t, cols in schema.items() if "answers" in cols and t.startswith("survey")]


def rows(engine: Engine, table: str, order: str | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT * FROM {table}" + (f" ORDER BY {order}" if order else "")
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql))]


def request_links(table: str, row: dict[str, Any]) -> set[int]:
    """The requests a row of another table points to."""
    if table == "requests":
        return {row["id"]}
    return {v for k, v in row.items() if k in ("request_id", "parent_id") and isinstance(v, int)}


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def join_candidates(engine: Engine, schema: dict[str, list[str]], answer: dict[str, Any],
                    own: Iterable[str], universe: set[int]) -> set[int]:
    """The requests left after every equality and time join of the answer's columns."""
    left = set(universe)
    for table, cols in schema.items():
        if table in own:
            continue
        other = rows(engine, table)
        for col_a, value in answer.items():
            if value in (None, "", "{}"):
                continue
            when = _as_time(value)
            for col_b in cols:
                linked: set[int] = set()
                for row in other:
                    b = row[col_b]
                    hit = (str(b) == str(value)) if when is None else (
                        _as_time(b) is not None and abs(_as_time(b) - when) <= PERIOD)  # type: ignore[operator]
                    if hit:
                        linked |= request_links(table, row)
                if linked & universe:
                    left &= linked
    return left


def order_hits(engine: Engine, table: str, truth: dict[str, int], invited: list[int]) -> int:
    """The most answers an attacker places right by lining up an order of the answer table (row
    order, key order) with the order of the invitations."""
    physical = "ctid" if is_postgres(engine) else "rowid"
    best = 0
    for order in (physical, "id"):
        ordered = rows(engine, table, order)
        for lineup in (invited, invited[-len(ordered):], invited[::-1]):
            hits = sum(truth.get(payload_key(json.loads(r["answers"]))) == lineup[i]
                       for i, r in enumerate(ordered) if i < len(lineup))
            best = max(best, hits)
    return best


def test_no_answer_can_be_tied_to_fewer_than_the_minimum_of_requests(
        daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    SQLModel.metadata.create_all(daemon.rt.engine)
    engine = daemon.rt.engine
    k = survey_settings(daemon.rt.config).min_group
    truth = invited_and_answered(daemon, monkeypatch)
    schema = tables(engine)
    own = answer_tables(schema)
    invited = sorted(truth.values())
    universe = set(invited)
    assert len(universe) >= k and own
    answers = [(t, a) for t in own for a in rows(engine, t)]
    assert len(answers) == len(PEOPLE), "every answer is stored somewhere"
    for table, answer in answers:
        found = join_candidates(engine, schema, answer, own, universe)
        assert len(found) >= k, (f"an answer in {table} joins to only {len(found)} request(s) "
                                 f"through {sorted(k for k in answer if k not in ('answers',))}")
    for table in own:  # chance alone places a few rows right in a small table
        n = len(rows(engine, table))
        if n >= 2 * k:
            hits = order_hits(engine, table, truth, invited)
            assert hits <= n // 2, f"the order of {table} places {hits} of {n} answers"
