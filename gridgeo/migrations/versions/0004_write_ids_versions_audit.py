"""client write ids, problem versions and the audit log

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import gridgeo.schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_WITH_UUID = ("visits", "meetings", "problems")


def upgrade() -> None:
    for table in _WITH_UUID:
        op.add_column(table, sa.Column("uuid", sa.String(length=36), nullable=True))
        op.create_index(op.f(f"ix_{table}_uuid"), table, ["uuid"], unique=True)
    op.add_column(
        "problems", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", gridgeo.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("member", sa.String(length=100), nullable=True),
        sa.Column("layer", sa.String(length=50), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("community", sa.String(length=100), nullable=True),
        sa.Column("grid", sa.String(length=100), nullable=True),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_member"), "audit_log", ["member"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_member"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("version")
    for table in reversed(_WITH_UUID):
        op.drop_index(op.f(f"ix_{table}_uuid"), table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("uuid")
