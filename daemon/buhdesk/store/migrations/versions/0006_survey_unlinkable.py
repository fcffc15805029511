"""survey answers unlinkable by construction: pending pool, period labels, no channel

Tokens lose the channel and the used flag (a used token's row is deleted, its bare hash kept in
``survey_spent``); answers lose the channel and carry a period (half-year by default) instead of
the quarter, and are rewritten in random order under fresh random keys; ``survey_invited`` loses
the quarter; ``survey_pending`` holds answers until their group is big enough.

Revision ID: 0006_survey_unlinkable
Revises: 0005_trust_rate_counts
Create Date: 2026-12-04
"""

import random
import secrets
from datetime import date, timedelta

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0006_survey_unlinkable"
down_revision = "0005_trust_rate_counts"
branch_labels = None
depends_on = None

VALID_DAYS = 45  # the default [survey] valid_days at the time of this migration


def _half_year(quarter: str) -> str:
    return f"{quarter[:4]}-H{1 if quarter[-1] in '12' else 2}"


def _quarter_end(quarter: str) -> date:
    year, q = int(quarter[:4]), int(quarter[-1])
    first_of_next = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first_of_next - timedelta(days=1)


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "survey_spent",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "survey_pending",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sealed", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_survey_pending_sealed", "survey_pending", ["sealed"])
    _tokens(conn)
    _answers(conn)
    with op.batch_alter_table("survey_invited") as batch:
        batch.drop_column("quarter")


def _tokens(conn: sa.Connection) -> None:
    rows = conn.execute(sa.text("SELECT token_hash, process, quarter, used FROM survey_tokens"))
    old = list(rows)
    op.drop_index("ix_survey_tokens_quarter", table_name="survey_tokens")
    op.drop_table("survey_tokens")
    table = op.create_table(
        "survey_tokens",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("process", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    random.SystemRandom().shuffle(old)
    spent = [{"token_hash": r.token_hash} for r in old if r.used]
    if spent:
        op.bulk_insert(sa.table("survey_spent", sa.column("token_hash")), spent)
    live = [{"token_hash": r.token_hash, "process": r.process, "period": _half_year(r.quarter),
             "valid_until": _quarter_end(r.quarter) + timedelta(days=VALID_DAYS)}
            for r in old if not r.used]
    if live:
        op.bulk_insert(table, live)


def _answers(conn: sa.Connection) -> None:
    old = list(conn.execute(sa.text(
        "SELECT process, quarter, answers, comment FROM survey_answers")))
    op.drop_index("ix_survey_answers_quarter", table_name="survey_answers")
    op.drop_index("ix_survey_answers_process", table_name="survey_answers")
    op.drop_table("survey_answers")
    table = op.create_table(
        "survey_answers",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("process", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_survey_answers_process", "survey_answers", ["process"])
    op.create_index("ix_survey_answers_period", "survey_answers", ["period"])
    random.SystemRandom().shuffle(old)  # the old row order kept the answer order
    if old:
        op.bulk_insert(table, [
            {"id": secrets.token_hex(16), "process": r.process, "period": _half_year(r.quarter),
             "answers": r.answers, "comment": r.comment} for r in old])


def downgrade() -> None:
    # The labels removed (channel, quarter, used) cannot be restored: the tables are recreated
    # in the 0004 shape; answers keep their period label in the quarter column.
    op.drop_index("ix_survey_pending_sealed", table_name="survey_pending")
    op.drop_table("survey_pending")
    op.drop_table("survey_spent")
    with op.batch_alter_table("survey_invited") as batch:
        batch.add_column(sa.Column("quarter", sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                   server_default=""))
    op.drop_table("survey_tokens")
    op.create_table(
        "survey_tokens",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("process", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("quarter", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_survey_tokens_quarter", "survey_tokens", ["quarter"])
    with op.batch_alter_table("survey_answers") as batch:
        batch.drop_index("ix_survey_answers_period")
        batch.alter_column("period", new_column_name="quarter")
        batch.add_column(sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                   server_default=""))
        batch.create_index("ix_survey_answers_quarter", ["quarter"])
