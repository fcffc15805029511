"""storage near the size of the mail: how a raw letter's bytes are kept (0 as they are, 1
Zstandard; store.compress)

Rows written before say 0: their bytes are the letter as it is. An integer, kept by SQLite in
the record's header alone, so that the bytes stay the last column with data.

Revision ID: 0009_storage
Revises: 0013_store_of_years
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_storage"
down_revision = "0013_store_of_years"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("raws", schema=None) as batch_op:
        batch_op.add_column(sa.Column("codec", sa.Integer(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    # the compressed letters are written back as they are before the column goes
    from buhdesk.store import compress

    conn = op.get_bind()
    raws = sa.table("raws", sa.column("message_pk", sa.Integer()),
                    sa.column("data", sa.LargeBinary()), sa.column("codec", sa.Integer()))
    packed = conn.execute(sa.select(raws.c.message_pk).where(raws.c.codec != 0)).scalars()
    for pk in list(packed):
        codec, data = conn.execute(sa.select(raws.c.codec, raws.c.data)
                                   .where(raws.c.message_pk == pk)).one()
        conn.execute(sa.update(raws).where(raws.c.message_pk == pk).values(
            data=bytes(compress.decode(codec, data)), codec=0))
    with op.batch_alter_table("raws", schema=None) as batch_op:
        batch_op.drop_column("codec")
