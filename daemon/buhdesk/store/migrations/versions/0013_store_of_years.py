"""indexes whose cost does not grow with the store: a request's letters by direction and kind
(covering: the reports' first answers, the purge plan), the day's letters by kind (the daily
cap on acknowledgments), open requests per assignee (covering: the balancing counts), requests
by when they came (the reports' periods), closed requests by when they closed (the survey's
invitations, the purge plan)

Revision ID: 0013_store_of_years
Revises: 0011_merge
Create Date: 2026-12-04
"""

from alembic import op

revision = "0013_store_of_years"
down_revision = "0011_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_state_assignee", ["state", "assignee"], unique=False)
        batch_op.create_index("ix_requests_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_requests_state_closed_at", ["state", "closed_at"],
                              unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_request_direction_kind",
                              ["request_id", "direction", "kind", "created_at"], unique=False)
        batch_op.create_index("ix_messages_direction_kind_created",
                              ["direction", "kind", "created_at", "to_addrs"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_direction_kind_created")
        batch_op.drop_index("ix_messages_request_direction_kind")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_state_closed_at")
        batch_op.drop_index("ix_requests_created_at")
        batch_op.drop_index("ix_requests_state_assignee")
