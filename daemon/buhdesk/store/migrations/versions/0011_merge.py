"""merging requests: the request a merged one joined

Revision ID: 0011_merge
Revises: 0008_conversation
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_merge"
down_revision = "0008_conversation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_requests_merged_into", "requests", ["merged_into"],
                                    ["id"])
        batch_op.create_index("ix_requests_merged_into", ["merged_into"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_merged_into")
        batch_op.drop_constraint("fk_requests_merged_into", type_="foreignkey")
        batch_op.drop_column("merged_into")
