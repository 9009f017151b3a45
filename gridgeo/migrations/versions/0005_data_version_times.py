"""data versions: when each layer last changed

Revision ID: 0005
Revises: 0004

Rows counted before this revision get the time of the upgrade: the data is as it
was then, so "as of" that time is true of it.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

import gridgeo.schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    column = sa.Column("changed_at", gridgeo.schema.UTCDateTime(timezone=True), nullable=True)
    op.add_column("data_versions", column)
    table = sa.table("data_versions", sa.column("changed_at", gridgeo.schema.UTCDateTime()))
    op.execute(table.update().values(changed_at=dt.datetime.now(dt.UTC)))
    with op.batch_alter_table("data_versions") as batch:
        batch.alter_column(
            "changed_at", existing_type=gridgeo.schema.UTCDateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("data_versions") as batch:
        batch.drop_column("changed_at")
