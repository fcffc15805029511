"""the conversation: participants the client copied; addresses our letters bounced from

Revision ID: 0008_conversation
Revises: 0007_events_stage_action
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_conversation"
down_revision = "0007_events_stage_action"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("participants", sa.String(), nullable=False,
                                      server_default=""))
    op.create_table(
        "undeliverable",
        sa.Column("address", sa.String(), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("requests.id"), nullable=True),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("bounces", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("undeliverable")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_column("participants")
