"""each attachment stored once: the base64 runs cut out of stored letters (``raw_cuts``; a raw
whose codec has flag 2 is kept without them, store.splice)

Rows written before have no cuts and read as they did; nothing is rewritten.

Revision ID: 0015_spliced_raws
Revises: 0014_lean_indexes
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_spliced_raws"
down_revision = "0014_lean_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "raw_cuts",
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("crlf", sa.Boolean(), nullable=False),
        sa.Column("final_eol", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["message_pk"], ["messages.id"]),
        sa.PrimaryKeyConstraint("message_pk", "seq"),
    )
    op.create_index("ix_raw_cuts_sha256", "raw_cuts", ["sha256"])


def downgrade() -> None:
    # a letter kept without its attachments needs their files to be whole again, which the
    # migration does not see: it refuses rather than leave letters that cannot be rebuilt
    spliced = op.get_bind().execute(sa.text("SELECT count(*) FROM raws WHERE codec >= 2")).scalar()
    if spliced:
        raise RuntimeError(
            f"0015_spliced_raws: {spliced} stored letters are kept without their attachments "
            f"(raws.codec 2 or 3); restore a backup taken before this revision instead")
    op.drop_index("ix_raw_cuts_sha256", table_name="raw_cuts")
    op.drop_table("raw_cuts")
