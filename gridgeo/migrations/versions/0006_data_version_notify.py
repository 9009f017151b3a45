"""data versions: a NOTIFY on the change counter's channel when a bump commits

Revision ID: 0006
Revises: 0005

On PostgreSQL a deferred constraint trigger on ``data_versions`` calls ``pg_notify`` at
commit with the new total (the sum of the per-layer counters), so every client that
bumps the counter (gridgeo, or psql) tells the listening services, and only when its
transaction commits. Several layers bumped in one transaction make one notification:
PostgreSQL folds identical payloads of one transaction. SQLite has no notifications.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: The channel the services ``LISTEN`` on (:data:`gridgeo.store.notify.CHANNEL`).
CHANNEL = "gridgeo_data_version"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION gridgeo_notify_data_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(
                '{CHANNEL}',
                (SELECT coalesce(sum(version), 0)::bigint FROM data_versions)::text
            );
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER gridgeo_data_version_notify "
        "AFTER INSERT OR UPDATE ON data_versions "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION gridgeo_notify_data_version()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS gridgeo_data_version_notify ON data_versions")
    op.execute("DROP FUNCTION IF EXISTS gridgeo_notify_data_version()")
