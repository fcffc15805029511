"""leaner indexes for the rows every letter adds: the audit trail's moment and (stage, action)
become one index (stage, action, at) — every query on them names a stage and an action, and the
reports a period — and the letters' request_id index goes: the index (request_id, direction,
kind, created_at) of 0013 serves every lookup by request

Revision ID: 0014_lean_indexes
Revises: 0009_storage
Create Date: 2026-12-04
"""

from alembic import op

revision = "0014_lean_indexes"
down_revision = "0009_storage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_stage_action_at", ["stage", "action", "at"],
                              unique=False)
        batch_op.drop_index("ix_events_stage_action")
        batch_op.drop_index("ix_events_at")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_request_id")


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_request_id", ["request_id"], unique=False)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_at", ["at"], unique=False)
        batch_op.create_index("ix_events_stage_action", ["stage", "action"], unique=False)
        batch_op.drop_index("ix_events_stage_action_at")
