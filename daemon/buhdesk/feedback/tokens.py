"""Survey link tokens and answers: a random token goes out in the link, the store keeps its hash
with the process and the answer period only. An answer deletes the token's row (keeping the bare
hash in ``survey_spent``), waits in ``survey_pending`` under a sealed group label, and is released
into ``survey_answers`` with its whole group, shuffled, once the group has the minimum of answers.
So no column, row order, key or time of an answer points to the request or the moment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session, col

from buhdesk.feedback.models import SurveyAnswer, SurveyPending, SurveySpent, SurveyToken
from buhdesk.store.engine import affected_rows

TOKEN_BYTES = 24  # 192 bits
PERIOD_KINDS = ("quarter", "half-year", "year")
_RANDOM: random.Random = random.SystemRandom()


@dataclass(frozen=True)
class TokenLabels:
    process: str
    period: str


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_end(quarter: str) -> date:
    """The last day of ``"2026-Q4"``."""
    return period_bounds(quarter)[1]


def period_of(day: date, kind: str) -> str:
    """The answer period of ``day``: ``"2026-Q4"``, ``"2026-H2"`` or ``"2026"``."""
    if kind == "quarter":
        return quarter_of(day)
    if kind == "half-year":
        return f"{day.year}-H{1 if day.month <= 6 else 2}"
    return str(day.year)


def period_bounds(label: str) -> tuple[date, date]:
    """The first and the last day of a period label."""
    year = int(label[:4])
    months = {"Q": 3, "H": 6}.get(label[5:6], 12)
    index = int(label[6:]) if len(label) > 5 else 1
    first = date(year, months * (index - 1) + 1, 1)
    after = date(year + 1, 1, 1) if months * index == 12 else date(year, months * index + 1, 1)
    return first, after - timedelta(days=1)


def period_title(label: str) -> str:
    """``"4 квартал 2026 г."``, ``"2 полугодие 2026 г."``, ``"2026 г."``."""
    kind = {"Q": "квартал", "H": "полугодие"}.get(label[5:6])
    return f"{label[6:]} {kind} {label[:4]} г." if kind else f"{label[:4]} г."


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_row(token: str, labels: TokenLabels, valid_until: date) -> SurveyToken:
    """The stored form of a token: its hash and the labels only."""
    return SurveyToken(token_hash=hash_token(token), process=labels.process,
                       period=labels.period, valid_until=valid_until)


def issue_token(session: Session, labels: TokenLabels, valid_until: date) -> str:
    """A new token; only its hash, the labels and the last valid day are stored."""
    token = new_token()
    session.add(token_row(token, labels, valid_until))
    return token


@dataclass(frozen=True)
class TokenState:
    status: str  # "valid" | "used" | "expired" | "unknown"
    token_hash: str = ""
    labels: TokenLabels | None = None


def token_state(session: Session, token: str, today: date) -> TokenState:
    if not token or len(token) > 100:
        return TokenState("unknown")
    digest = hash_token(token)
    row = session.get(SurveyToken, digest)
    if row is None:
        used = session.get(SurveySpent, digest) is not None
        return TokenState("used" if used else "unknown")
    labels = TokenLabels(row.process, row.period)
    if today > row.valid_until:
        return TokenState("expired", digest, labels)
    return TokenState("valid", digest, labels)


def seal(key: bytes, labels: TokenLabels) -> str:
    """The group label as a waiting answer carries it: opaque without the survey-group key."""
    return hmac.new(key, f"{labels.process}\x1f{labels.period}".encode(),
                    hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Submission:
    answers: dict[str, Any]
    comment: str


def record_answer(session: Session, token_hash: str, submission: Submission, *,
                  group_keys: Sequence[bytes], min_group: int) -> bool:
    """Use the token up and put the answer in the pending pool, releasing its group if it now
    has ``min_group`` answers; False if the token was already used (a double submission). The
    caller commits. ``group_keys`` are the survey-group keys, the signing one first."""
    row = session.get(SurveyToken, token_hash)
    if row is None:
        return False
    labels = TokenLabels(row.process, row.period)
    gone = session.execute(delete(SurveyToken).where(
        col(SurveyToken.token_hash) == token_hash))
    if affected_rows(gone) != 1:
        return False
    session.add(SurveySpent(token_hash=token_hash))
    session.add(SurveyPending(id=secrets.token_hex(16), sealed=seal(group_keys[0], labels),
                              comment=submission.comment,
                              answers=json.dumps(submission.answers, ensure_ascii=False,
                                                 sort_keys=True)))
    session.flush()
    if not release_group(session, labels, group_keys=group_keys, min_group=min_group):
        _reshuffle_pool(session)
    return True


def _reshuffle_pool(session: Session) -> None:
    """Rewrite the waiting answers in random order under fresh keys, so the pool's row order
    does not keep the order of submissions either."""
    waiting = list(session.execute(select(SurveyPending)).scalars())
    _RANDOM.shuffle(waiting)
    for item in waiting:
        if not _take(session, item):
            continue
        session.add(SurveyPending(id=secrets.token_hex(16), sealed=item.sealed,
                                  answers=item.answers, comment=item.comment))
        session.flush()


def release_group(session: Session, labels: TokenLabels, *, group_keys: Sequence[bytes],
                  min_group: int) -> int:
    """Move a group's waiting answers into ``survey_answers`` once there are ``min_group`` of
    them: all at once, in random order, under fresh random keys. Returns how many moved."""
    seals = [seal(key, labels) for key in group_keys]
    waiting = list(session.execute(select(SurveyPending).where(
        col(SurveyPending.sealed).in_(seals))).scalars())
    if len(waiting) < min_group:
        return 0
    _RANDOM.shuffle(waiting)
    moved = 0
    for item in waiting:
        if not _take(session, item):
            continue
        session.add(SurveyAnswer(id=secrets.token_hex(16), process=labels.process,
                                 period=labels.period, answers=item.answers,
                                 comment=item.comment))
        session.flush()  # one row at a time: the insertion order is the shuffled one
        moved += 1
    return moved


def _take(session: Session, item: SurveyPending) -> bool:
    """Delete a waiting answer's row; False if a concurrent submission moved it first."""
    gone = session.execute(delete(SurveyPending).where(
        col(SurveyPending.id) == item.id))
    return affected_rows(gone) == 1


def today_local(now: datetime, tz: tzinfo) -> date:
    return now.astimezone(tz).date()
