"""index on events(stage, action): the text check's learned words are read on every answer

Revision ID: 0007_events_stage_action
Revises: 0006_survey_unlinkable
Create Date: 2026-12-04
"""

from alembic import op

revision = "0007_events_stage_action"
down_revision = "0006_survey_unlinkable"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_stage_action", ["stage", "action"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_stage_action")
