"""storage near the size of the mail: how a raw letter's bytes are kept (compressed or not)

Rows written before say "none": their bytes are the letter as it is.

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
        batch_op.add_column(sa.Column("codec", sa.String(), nullable=False,
                                      server_default="none"))


def downgrade() -> None:
    # the compressed letters are written back as they are before the column goes
    from buhdesk.store import compress

    conn = op.get_bind()
    raws = sa.table("raws", sa.column("message_pk", sa.Integer()),
                    sa.column("data", sa.LargeBinary()), sa.column("codec", sa.String()))
    packed = conn.execute(sa.select(raws.c.message_pk).where(raws.c.codec != "none")).scalars()
    for pk in list(packed):
        codec, data = conn.execute(sa.select(raws.c.codec, raws.c.data)
                                   .where(raws.c.message_pk == pk)).one()
        conn.execute(sa.update(raws).where(raws.c.message_pk == pk).values(
            data=bytes(compress.decode(codec, data)), codec="none"))
    with op.batch_alter_table("raws", schema=None) as batch_op:
        batch_op.drop_column("codec")
