"""the letters taken in per source as running totals the writers keep (``counters`` rows named
``taken:<source>``, store.tallies): /metrics read them by counting every incoming letter

The totals start from the letters already stored.

Revision ID: 0016_taken_totals
Revises: 0015_spliced_raws
Create Date: 2026-12-05
"""

from alembic import op

revision = "0016_taken_totals"
down_revision = "0015_spliced_raws"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("INSERT INTO counters (name, value) "
               "SELECT 'taken:' || COALESCE(source, ''), count(*) FROM messages "
               "WHERE direction = 'in' GROUP BY COALESCE(source, '')")


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name LIKE 'taken:%'")
