"""Survey link tokens and answers: a random token goes out in the link, the store keeps its hash
with the process, channel and quarter only; an answer uses the token up and is stored with the same
three labels, so nothing joins it to the request, the person or the moment.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from buhdesk.survey_models import SurveyAnswer, SurveyToken

TOKEN_BYTES = 24  # 192 bits


@dataclass(frozen=True)
class TokenLabels:
    process: str
    channel: str
    quarter: str


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_end(quarter: str) -> date:
    """The last day of ``"2026-Q4"``."""
    year, q = int(quarter[:4]), int(quarter[-1])
    first_of_next = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first_of_next - timedelta(days=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def issue_token(session: Session, labels: TokenLabels) -> str:
    """A new token; only its hash and the labels are stored."""
    token = new_token()
    session.add(SurveyToken(token_hash=hash_token(token), process=labels.process,
                            channel=labels.channel, quarter=labels.quarter))
    return token


@dataclass(frozen=True)
class TokenState:
    status: str  # "valid" | "used" | "expired" | "unknown"
    token_hash: str = ""
    labels: TokenLabels | None = None


def token_state(session: Session, token: str, today: date, valid_days: int) -> TokenState:
    if not token or len(token) > 100:
        return TokenState("unknown")
    digest = hash_token(token)
    row = session.get(SurveyToken, digest)
    if row is None:
        return TokenState("unknown")
    labels = TokenLabels(row.process, row.channel, row.quarter)
    if row.used:
        return TokenState("used", digest, labels)
    if today > quarter_end(row.quarter) + timedelta(days=valid_days):
        return TokenState("expired", digest, labels)
    return TokenState("valid", digest, labels)


def record_answer(session: Session, token_hash: str, answers: dict[str, Any],
                  comment: str) -> bool:
    """Use the token up and store the answer; False if the token was already used (a double
    submission). The caller commits."""
    row = session.get(SurveyToken, token_hash)
    if row is None:
        return False
    used = session.execute(
        update(SurveyToken).where(SurveyToken.token_hash == token_hash,  # type: ignore[arg-type]
                                  SurveyToken.used.is_(False))  # type: ignore[attr-defined]
        .values(used=True)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.add(SurveyAnswer(id=secrets.token_hex(16), process=row.process, channel=row.channel,
                             quarter=row.quarter, comment=comment,
                             answers=json.dumps(answers, ensure_ascii=False, sort_keys=True)))
    return True


def today_local(now: datetime, tz: Any) -> date:
    return now.astimezone(tz).date()
